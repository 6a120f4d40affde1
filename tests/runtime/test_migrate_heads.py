"""storage/migrate.py reads the heads from the migration files without alembic, and starts
alembic only when a migration is due."""

from __future__ import annotations

import shutil
import sys

import pytest
from alembic.script import ScriptDirectory

from storage import migrate
from storage.database import Database


def test_script_heads_match_alembic():
    alembic_heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert migrate.script_heads() == frozenset(alembic_heads)


def test_a_new_migration_file_becomes_the_head(tmp_path):
    versions = tmp_path / "versions"
    shutil.copytree(migrate.VERSIONS_DIR, versions)
    (old,) = migrate.script_heads(versions)
    (versions / "0099_added_later.py").write_text(
        f'"""later"""\nrevision: str = "0099_added_later"\ndown_revision = {old!r}\n'
        "branch_labels = None\n", encoding="utf-8")
    (versions / "0098_branch.py").write_text(
        f'revision = "0098_branch"\ndown_revision = ({old!r},)\n', encoding="utf-8")
    assert migrate.script_heads(versions) == {"0099_added_later", "0098_branch"}
    (versions / "0100_merge.py").write_text(
        'revision = "0100_merge"\ndown_revision = ("0099_added_later", "0098_branch")\n',
        encoding="utf-8")
    assert migrate.script_heads(versions) == {"0100_merge"}


async def test_upgrade_runs_alembic_only_when_due(tmp_path, monkeypatch):
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/db.sqlite")
    try:
        assert not await migrate.up_to_date(database)
        assert await migrate.current(database) is None
        await migrate.upgrade(database)
        assert await migrate.up_to_date(database)
        assert await migrate.current(database) == migrate.heads()

        def refuse(*args, **kwargs):
            raise AssertionError("alembic ran although the database is up to date")

        monkeypatch.setattr(sys.modules["alembic.command"], "upgrade", refuse)
        await migrate.upgrade(database)
        monkeypatch.setattr(migrate, "script_heads", lambda: frozenset({"0999_newer"}))
        with pytest.raises(AssertionError, match="alembic ran"):
            await migrate.upgrade(database)
    finally:
        await database.dispose()
