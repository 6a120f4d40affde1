"""Domain services: plain functions and classes over the storage layer. Nothing here knows
Telegram (no aiogram import: tests/test_architecture.py and the import contract enforce it)."""
