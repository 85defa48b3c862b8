"""staff time zone: each staff member's own time zone for the times the web app shows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (not a batch copy of the table): SQLite adds a nullable column in place.
    op.add_column('staff_users', sa.Column('timezone', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('timezone')
