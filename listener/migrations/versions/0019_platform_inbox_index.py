"""platform inbox index: one platform's open mentions in the queue's order

- ``ix_mentions_open_platform``: as ``ix_mentions_open`` (migration 0008), led by the
  platform. The inbox narrowed to one platform walks the open mentions level by level
  until its page is full; when the other filters leave the page short (a common word
  and a rarer sentiment, say), it used to pass over every platform's open mentions to
  find one platform's.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration must keep creating what it created when it was written.
OPEN_MENTION_CONDITION = "status IN ('new', 'needs_reply', 'assigned', 'waiting')"
OPEN_MENTION_ORDER = ("(priority IS NULL)", "priority DESC", "(sla_due_at IS NULL)", "sla_due_at", "created_at", "id")


def upgrade() -> None:
    op.create_index(
        'ix_mentions_open_platform', 'mentions',
        ['platform', *(sa.text(column) for column in OPEN_MENTION_ORDER),
         'status', 'sentiment_label', 'priority_level', 'assignee_id'],
        unique=False,
        sqlite_where=sa.text(OPEN_MENTION_CONDITION), postgresql_where=sa.text(OPEN_MENTION_CONDITION),
    )


def downgrade() -> None:
    op.drop_index('ix_mentions_open_platform', table_name='mentions')
