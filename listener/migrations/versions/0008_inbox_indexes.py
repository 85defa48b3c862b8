"""inbox indexes: open mentions in the queue's order, replies by last update

The inbox and the approval queue sorted every open mention (or every reply ever
sent) for each page; at a million mentions that is most of a second. Two
indexes make a page an index walk of its first rows:

- ``ix_mentions_open``: the open mentions only (a partial index), ordered as the
  queue sorts (priority descending, unscored last; SLA due time, unset last;
  posted; id), followed by the columns the inbox filters on;
- ``ix_replies_updated``: replies by last update, for the replies on their way.

Building them reads the mentions and replies tables once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration must keep creating what it created when it was written.
OPEN_MENTION_CONDITION = "status IN ('new', 'needs_reply', 'assigned', 'waiting')"
OPEN_MENTION_ORDER = ("(priority IS NULL)", "priority DESC", "(sla_due_at IS NULL)", "sla_due_at", "created_at", "id")


def upgrade() -> None:
    op.create_index(
        'ix_mentions_open', 'mentions',
        [*(sa.text(column) for column in OPEN_MENTION_ORDER),
         'status', 'platform', 'sentiment_label', 'priority_level', 'assignee_id'],
        unique=False,
        sqlite_where=sa.text(OPEN_MENTION_CONDITION), postgresql_where=sa.text(OPEN_MENTION_CONDITION),
    )
    op.create_index('ix_replies_updated', 'replies', ['updated_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_replies_updated', table_name='replies')
    op.drop_index('ix_mentions_open', table_name='mentions')
