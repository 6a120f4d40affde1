"""one history again after the calendar and reports features

Revision ID: 0004_merge
Revises: 0003_calendar, 0003_reports
Create Date: 2026-11-22 00:17:18.860137
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_merge'
down_revision = ('0003_calendar', '0003_reports')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
