"""mention and reply versions: each change raises them, so a change made on a stale screen can be refused

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 04:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a default: existing rows start at version 1, in place on SQLite.
    op.add_column('mentions', sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.add_column('replies', sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    # In place as well (SQLite 3.35+): a batch copy of these tables would trip the foreign keys that point at them.
    op.execute("ALTER TABLE replies DROP COLUMN version")
    op.execute("ALTER TABLE mentions DROP COLUMN version")
