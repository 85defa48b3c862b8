"""presence: who is replying to or editing which mention right now (a heartbeat with expiry)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 06:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'presence',
        sa.Column('staff_user_id', sa.Integer(), sa.ForeignKey('staff_users.id'), primary_key=True),
        sa.Column('mention_id', sa.Integer(), sa.ForeignKey('mentions.id'), primary_key=True),
        sa.Column('activity', sa.String(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_presence_mention_id', 'presence', ['mention_id'])


def downgrade() -> None:
    op.drop_index('ix_presence_mention_id', table_name='presence')
    op.drop_table('presence')
