"""staff time zone: each staff member's own time zone for the times the web app shows

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 03:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy of the table): SQLite adds a nullable column in place.
    op.add_column('staff_users', sa.Column('timezone', sa.String(), nullable=True))


def downgrade() -> None:
    # In place as well (SQLite 3.35+): a batch copy of staff_users would trip the foreign keys that point at it.
    op.execute("ALTER TABLE staff_users DROP COLUMN timezone")
