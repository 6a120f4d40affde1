"""monthly security status report settings per group

Revision ID: 0009_monthly_report
Revises: 0008_drop_report_counter
Create Date: 2026-12-02 19:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_monthly_report'
down_revision = '0008_drop_report_counter'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monthly_report_settings',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id')
    )


def downgrade() -> None:
    op.drop_table('monthly_report_settings')
