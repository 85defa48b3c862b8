"""saved views: each staff member's named sets of inbox filters; the open mentions by SLA due time

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 06:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in listener.models at this revision (a migration does not follow later changes of the models).
OPEN_MENTION_CONDITION = "status IN ('new', 'needs_reply', 'assigned', 'waiting')"
OPEN_DUE_COLUMNS = ['sla_due_at', 'priority', 'created_at', 'status', 'platform', 'sentiment_label', 'priority_level',
                    'assignee_id']


def upgrade() -> None:
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(), nullable=False),
        sa.Column('query', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['staff_users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'name'),
    )
    # The inbox puts overdue mentions first within a priority level; when few are overdue (or few are not), it
    # reads them through this index instead of walking the whole level in the queue's order.
    op.create_index('ix_mentions_open_due', 'mentions', OPEN_DUE_COLUMNS,
                    sqlite_where=sa.text(OPEN_MENTION_CONDITION), postgresql_where=sa.text(OPEN_MENTION_CONDITION))


def downgrade() -> None:
    op.drop_index('ix_mentions_open_due', table_name='mentions')
    op.drop_table('saved_views')
