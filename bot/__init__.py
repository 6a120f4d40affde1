"""wgbot: a Telegram bot for multi-stakeholder working groups on security and human rights."""

__version__ = "0.1.0"

from bot import aiogram_lazy as _aiogram_lazy

_aiogram_lazy.install()  # before anything imports aiogram: its types are built when first used
