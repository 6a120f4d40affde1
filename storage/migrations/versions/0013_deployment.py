"""deployment: the random token in calendar event UIDs, made once per database

Revision ID: 0013_deployment
Revises: 0012_group_numbers
Create Date: 2026-12-03 04:50:00
"""
import secrets
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013_deployment'
down_revision = '0012_group_numbers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    deployment = op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid_token', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('legacy_meeting_max', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # Meetings that exist now were exported with the old UIDs: they keep them.
    newest = op.get_bind().execute(sa.text('SELECT COALESCE(MAX(id), 0) FROM meeting')).scalar()
    op.bulk_insert(deployment, [{
        'id': 1, 'uid_token': secrets.token_hex(8), 'legacy_meeting_max': int(newest or 0),
        'created_at': datetime.now(UTC),
    }])


def downgrade() -> None:
    op.drop_table('deployment')
