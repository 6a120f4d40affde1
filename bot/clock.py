"""The current instant. Everything that needs "now" takes a clock, so tests control time."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
