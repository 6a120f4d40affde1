"""a concern on the agenda and its outcome: concern_link, agenda_item.from_concern, the agenda
item of decisions and action items, the case's encrypted outcome and when it was shown

Revision ID: 0010_concern_outcome
Revises: 0009_monthly_report
Create Date: 2026-12-03 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_concern_outcome'
down_revision = '0009_monthly_report'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('concern_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('linked_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['report_case.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'item_id', name='uq_concern_link')
    )
    with op.batch_alter_table('concern_link', schema=None) as batch_op:
        batch_op.create_index('ix_concern_link_item_id', ['item_id'], unique=False)
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_concern', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    for table in ('decision', 'action_item'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('item_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(f'fk_{table}_item_id', 'agenda_item', ['item_id'],
                                        ['id'], ondelete='SET NULL')
            batch_op.create_index(f'ix_{table}_item_id', ['item_id'], unique=False)
    with op.batch_alter_table('report_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('outcome_shown_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_case', schema=None) as batch_op:
        batch_op.drop_column('outcome_shown_on')
        batch_op.drop_column('outcome')
    for table in ('action_item', 'decision'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_item_id')
            batch_op.drop_constraint(f'fk_{table}_item_id', type_='foreignkey')
            batch_op.drop_column('item_id')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_column('from_concern')
    op.drop_table('concern_link')
