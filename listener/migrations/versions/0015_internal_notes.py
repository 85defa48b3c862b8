"""internal notes: staff notes on a mention, and the colleagues each one @-mentions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_users.id'], ),
    sa.ForeignKeyConstraint(['mention_id'], ['mentions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notes_mention_id', 'notes', ['mention_id'], unique=False)
    op.create_index('ix_notes_author_id', 'notes', ['author_id'], unique=False)
    op.create_table('note_mentions',
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('note_id', 'user_id'),
    )
    op.create_index('ix_note_mentions_user_read', 'note_mentions', ['user_id', 'read_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_note_mentions_user_read', table_name='note_mentions')
    op.drop_table('note_mentions')
    op.drop_index('ix_notes_author_id', table_name='notes')
    op.drop_index('ix_notes_mention_id', table_name='notes')
    op.drop_table('notes')
