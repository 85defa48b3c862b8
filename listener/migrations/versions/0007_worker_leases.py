"""worker leases: claims on mentions, one suggestion per rank

Processing workers claim batches of mentions for a lease (who, until when, how
many claims so far), so that several of them can share the queue and a batch
left by a dead worker is claimed again. A unique index on (mention_id, rank)
makes duplicate suggestions impossible in the database itself; any duplicates
that an earlier bug left are removed first (the lowest id of each pair stays,
unless a reply names it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 15:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('claim_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('processing_attempts', sa.Integer(), server_default='0', nullable=False))

    op.execute(
        "DELETE FROM suggestions WHERE id NOT IN (SELECT suggestion_id FROM replies WHERE suggestion_id IS NOT NULL) "
        "AND EXISTS (SELECT 1 FROM suggestions AS kept WHERE kept.mention_id = suggestions.mention_id "
        "AND kept.rank = suggestions.rank AND kept.id < suggestions.id)"
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index('ux_suggestions_mention_rank', ['mention_id', 'rank'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index('ux_suggestions_mention_rank')

    # Without leases a claimed mention would never be picked again: back to the queue.
    op.execute("UPDATE mentions SET processing_state = 'new' WHERE processing_state = 'claimed'")
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_column('processing_attempts')
        batch_op.drop_column('claim_expires_at')
        batch_op.drop_column('claimed_by')
