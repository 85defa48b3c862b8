"""source controls: sources added, edited, paused and run now from the web app, beside those the settings seed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 06:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ('run_requested_at', 'paused_at', 'changed_in_app_at', 'origin')


def upgrade() -> None:
    # Plain ADD COLUMNs (in place on SQLite). Every source that exists already came from the settings file.
    op.add_column('sources', sa.Column('origin', sa.String(), server_default='settings', nullable=False))
    op.add_column('sources', sa.Column('changed_in_app_at', sa.DateTime(), nullable=True))
    op.add_column('sources', sa.Column('paused_at', sa.DateTime(), nullable=True))
    op.add_column('sources', sa.Column('run_requested_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    # In place as well (SQLite 3.35+): a batch copy of sources would trip the foreign keys that point at it.
    for column in COLUMNS:
        op.execute(f"ALTER TABLE sources DROP COLUMN {column}")
