"""covering created index: a period's mentions in the inbox's order, read from the index alone (PostgreSQL)

- ``ix_mentions_created`` on PostgreSQL also carries the columns the inbox reads and
  orders a page by (``INCLUDE (priority, sla_due_at, status, id)``). The inbox over
  every status for a short period (a day, as the digest's and alerts' links open it)
  walks one priority level at a time through this index; each walk read every row of
  the period from the table (33,000 rows a day at 1,000,000 mentions a month, 17 ms)
  and now reads only the index (6 ms). SQLite's index is unchanged: its inbox reads
  such a period through the index of the queue's order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 18:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration must keep creating what it created when it was written.
INCLUDED = ['priority', 'sla_due_at', 'status', 'id']


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_mentions_created', table_name='mentions')
    op.create_index('ix_mentions_created', 'mentions', ['created_at'], unique=False, postgresql_include=INCLUDED)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_mentions_created', table_name='mentions')
    op.create_index('ix_mentions_created', 'mentions', ['created_at'], unique=False)
