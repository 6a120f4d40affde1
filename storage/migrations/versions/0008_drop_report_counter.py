"""drop report_counter: anti-abuse counters live in memory or in the FSM Redis, never on disk

Revision ID: 0008_drop_report_counter
Revises: 0007_handled_update
Create Date: 2026-12-02 19:55:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008_drop_report_counter'
down_revision = '0007_handled_update'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table('report_counter')


def downgrade() -> None:
    op.create_table('report_counter',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'bucket', 'subject')
    )
