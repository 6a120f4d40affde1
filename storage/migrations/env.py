"""Alembic environment: always driven from code with a live connection (see storage/migrate.py)."""

from alembic import context
from sqlmodel import SQLModel

import storage.agenda_tables  # noqa: F401
import storage.calendar_tables  # noqa: F401
import storage.deployment_tables  # noqa: F401
import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import storage.monthly_tables  # noqa: F401
import storage.report_tables  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `wgbot migrate`, which supplies the connection")
run_migrations(connection)
