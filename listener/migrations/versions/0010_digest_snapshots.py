"""digest snapshots: the dashboard's stored digests

The digest of 30 days at a million mentions takes one to two seconds to compute;
the dashboard serves a stored one (``digest_snapshots``) younger than
``[digest] snapshot_max_age_seconds`` instead, keyed by period, time zone and a
fingerprint of the digest's settings.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_kind', 'period_start', 'period_end', 'timezone', 'fingerprint',
                        name='uq_digest_snapshots_key'),
    )
    with op.batch_alter_table('digest_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_snapshots_computed_at'), ['computed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digest_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_snapshots_computed_at'))
    op.drop_table('digest_snapshots')
