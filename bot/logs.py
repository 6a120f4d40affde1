"""Logging set-up. Libraries that would log SQL parameters or message payloads are held at
WARNING whatever the level asked for: logs must never contain what users wrote."""

from __future__ import annotations

import logging
import sys

QUIET = {
    "aiosqlite": logging.WARNING,  # logs every statement with its parameters at DEBUG
    "sqlalchemy.engine": logging.WARNING,  # would log parameters when echo is on
    "asyncpg": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "alembic": logging.WARNING,
    "apscheduler": logging.WARNING,  # one line per tick otherwise
}


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name, floor in QUIET.items():
        logging.getLogger(name).setLevel(floor)
