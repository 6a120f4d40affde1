"""anonymous concern reports: cases, history, counters, settings per group

Revision ID: 0003_reports
Revises: 0002_outbox
Create Date: 2026-11-21 23:50:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003_reports'
down_revision = '0002_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('ack_due_on', sa.Date(), nullable=False),
    sa.Column('acknowledged_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('receipt_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('notify_to', sa.LargeBinary(), nullable=True),
    sa.Column('reply_pending', sa.Boolean(), nullable=False),
    sa.Column('reporter_update', sa.Boolean(), nullable=False),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.Column('retention_warned', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt_hash')
    )
    with op.batch_alter_table('report_case', schema=None) as batch_op:
        batch_op.create_index('ix_report_case_group_status', ['group_id', 'status'], unique=False)

    op.create_table('report_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('on_day', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['report_case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_event_case_id'), ['case_id'], unique=False)

    op.create_table('report_counter',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'bucket', 'subject')
    )

    op.create_table('report_group_settings',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('emergency_contacts', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('ack_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['working_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id')
    )


def downgrade() -> None:
    op.drop_table('report_group_settings')
    op.drop_table('report_counter')
    with op.batch_alter_table('report_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_event_case_id'))
    op.drop_table('report_event')
    with op.batch_alter_table('report_case', schema=None) as batch_op:
        batch_op.drop_index('ix_report_case_group_status')
    op.drop_table('report_case')
