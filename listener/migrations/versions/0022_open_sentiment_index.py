"""open sentiment index: the open mentions of one sentiment (and platform, status)

- ``ix_mentions_open_sentiment`` on ``(sentiment_label, platform, status)``, partial on
  the open statuses. A common word narrowed to a rarer sentiment (say 'refund' in
  unscored Reddit mentions) used to find its few matches by passing over every open
  mention of the platform: PostgreSQL joined 49,000 of them with the word's 31,000
  trigram matches (25 ms); SQLite walked them level by level and read 2,400 texts
  (18 ms). Through this index PostgreSQL joins the sentiment's 2,100 with the word's
  matches (5 ms); SQLite reads those 2,100 texts and sorts what matches (7 ms).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration must keep creating what it created when it was written.
OPEN_MENTION_CONDITION = "status IN ('new', 'needs_reply', 'assigned', 'waiting')"


def upgrade() -> None:
    op.create_index(
        'ix_mentions_open_sentiment', 'mentions', ['sentiment_label', 'platform', 'status'], unique=False,
        sqlite_where=sa.text(OPEN_MENTION_CONDITION), postgresql_where=sa.text(OPEN_MENTION_CONDITION),
    )


def downgrade() -> None:
    op.drop_index('ix_mentions_open_sentiment', table_name='mentions')
