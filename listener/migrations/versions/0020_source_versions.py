"""source versions: each admin change raises it, so an edit made on a stale admin page can be refused

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 14:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a default (in place on SQLite): every existing source starts at version 1.
    op.add_column('sources', sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    # In place as well (SQLite 3.35+): a batch copy of sources would trip the foreign keys that point at it.
    op.execute("ALTER TABLE sources DROP COLUMN version")
