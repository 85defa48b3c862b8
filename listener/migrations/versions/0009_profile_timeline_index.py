"""profile timeline index: a profile's mentions by date, with their sentiment

A profile page shows the profile's latest mentions and its sentiment trend; for
a busy profile (ten thousand mentions) both read and sorted every one of its
rows. ``ix_mentions_profile_timeline`` (profile, posted, sentiment) gives the
latest mentions in order and the trend from the index alone. It replaces
``ix_mentions_profile_id``, which it begins with.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 17:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_mentions_profile_timeline', 'mentions', ['profile_id', 'created_at', 'sentiment_label'],
                    unique=False)
    op.drop_index('ix_mentions_profile_id', table_name='mentions')


def downgrade() -> None:
    op.create_index('ix_mentions_profile_id', 'mentions', ['profile_id'], unique=False)
    op.drop_index('ix_mentions_profile_timeline', table_name='mentions')
