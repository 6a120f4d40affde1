"""Apply Alembic migrations programmatically (at start and by `wgbot migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x77676274_6D696772  # "wgbtmigr": an advisory lock key of its own


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(database: Database, revision: str = "heads") -> None:
    config = alembic_config()

    def _run(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as conn:
        if not database.is_sqlite:  # replicas starting together migrate one after the other
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        await conn.run_sync(_run)


def heads() -> str:
    """The head revision(s) of the migration scripts, as `current` reports them."""
    from alembic.script import ScriptDirectory

    return ", ".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


async def current(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _current(connection) -> str | None:
        heads = MigrationContext.configure(connection).get_current_heads()
        return ", ".join(sorted(heads)) or None

    async with database.engine.connect() as conn:
        return await conn.run_sync(_current)


def autogenerate(database_url: str, message: str) -> None:
    """Developer helper: write a new revision from the models' difference to `database_url`."""
    import asyncio

    from storage.database import Database as _Db

    async def _go() -> None:
        db = _Db(database_url)
        config = alembic_config()

        def _rev(connection) -> None:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True)

        async with db.engine.begin() as conn:
            await conn.run_sync(_rev)
        await db.dispose()

    asyncio.run(_go())
