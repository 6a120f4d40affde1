"""meeting numbers per group: a group's meetings are numbered 1, 2, 3 in that group; whether
a person has a private chat with the bot, and whether they were told it is needed

Revision ID: 0012_group_numbers
Revises: 0010_concern_outcome
Create Date: 2026-12-03 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_group_numbers'
down_revision = '0010_concern_outcome'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('person', sa.Column('private_chat_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column('person', sa.Column('private_hint_at', sa.DateTime(timezone=True),
                                      nullable=True))
    op.add_column('meeting', sa.Column('number', sa.Integer(), nullable=True))
    # Existing meetings keep their order of creation within their group.
    op.execute(
        "UPDATE meeting SET number = (SELECT COUNT(*) FROM meeting AS earlier "
        "WHERE earlier.group_id = meeting.group_id AND earlier.id <= meeting.id)"
    )
    with op.batch_alter_table('meeting') as batch:
        batch.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint('uq_meeting_group_number', ['group_id', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('meeting') as batch:
        batch.drop_constraint('uq_meeting_group_number', type_='unique')
        batch.drop_column('number')
    with op.batch_alter_table('person') as batch:
        batch.drop_column('private_hint_at')
        batch.drop_column('private_chat_at')
