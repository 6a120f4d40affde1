"""Apply Alembic migrations programmatically (at start and by `wgbot migrate`).

Alembic (with what it imports) costs about half a second at start, so it is imported only when a
migration is due: the heads are read from the migration files themselves (their `revision` and
`down_revision` assignments, parsed, not imported) and compared with the database's
`alembic_version` rows."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
MIGRATION_LOCK = 0x77676274_6D696772  # "wgbtmigr": an advisory lock key of its own
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _revisions(tree: ast.Module) -> tuple[str | None, tuple[str, ...]]:
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = ast.literal_eval(value)
    revision, down = found.get("revision"), found.get("down_revision")
    if isinstance(down, str):
        down = (down,)
    return (revision if isinstance(revision, str) else None), tuple(down or ())


def script_heads(versions_dir: Path = VERSIONS_DIR) -> frozenset[str]:
    """The head revisions of the migration files, read without importing alembic or them:
    every revision no other file names as its `down_revision`."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions_dir.glob("*.py"):
        revision, down = _revisions(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if revision is not None:
            revisions.add(revision)
            parents.update(down)
    return frozenset(revisions - parents)


def _database_heads(connection) -> frozenset[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return frozenset()
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return frozenset(row[0] for row in rows)


async def up_to_date(database: Database) -> bool:
    """Whether the database is at the heads of the migration files."""
    async with database.engine.connect() as conn:
        return await conn.run_sync(_database_heads) == script_heads()


async def upgrade(database: Database, revision: str = "heads") -> None:
    if revision == "heads" and await up_to_date(database):
        return  # the usual start: nothing to do, alembic not even imported
    from alembic import command

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
    return ", ".join(sorted(script_heads()))


async def current(database: Database) -> str | None:
    async with database.engine.connect() as conn:
        return ", ".join(sorted(await conn.run_sync(_database_heads))) or None


def autogenerate(database_url: str, message: str) -> None:
    """Developer helper: write a new revision from the models' difference to `database_url`."""
    import asyncio

    from alembic import command

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
