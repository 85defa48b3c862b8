"""suggestion model and draft requests: drafts written by the team's own model

A suggestion written by a model records which model (``suggestions.model``), and
each mention waiting for a draft has a ``draft_requests`` row that the background
drafts job answers, so processing never waits on the model (issue 19).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_table('draft_requests',
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ),
    sa.PrimaryKeyConstraint('mention_id'),
    )
    op.create_index('ix_draft_requests_state', 'draft_requests', ['state', 'mention_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_draft_requests_state', table_name='draft_requests')
    op.drop_table('draft_requests')
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_column('model')
