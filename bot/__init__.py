"""wgbot: a Telegram bot for multi-stakeholder working groups on security and human rights."""

__version__ = "0.1.0"
