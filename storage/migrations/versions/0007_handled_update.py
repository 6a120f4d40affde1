"""handled update ids, so a redelivered webhook update is not handled twice

Revision ID: 0007_handled_update
Revises: 0006_occurrence_index
Create Date: 2026-12-02 19:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_handled_update'
down_revision = '0006_occurrence_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handled_update',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('update_id')
    )


def downgrade() -> None:
    op.drop_table('handled_update')
