"""text search and every-status views: a trigram index of the mentions' text, mentions in the queue's order

At a million mentions a search for a word scanned every text (over half a second
for a word that matches nothing), and the inbox over every status sorted every
mention of the period. This adds:

- SQLite: ``mentions_fts`` and ``authors_fts``, FTS5 external-content tables with
  the trigram tokenizer over the mentions' ``text`` and ``title`` and the authors'
  ``handle``, filled from the existing rows and kept in step by triggers on
  insert, update and delete;
- PostgreSQL: the pg_trgm extension (where the role may install it) and trigram GIN indexes on ``lower(text)``,
  ``lower(coalesce(title, ''))`` and the authors' ``lower(coalesce(handle, ''))``
  (they serve ``LIKE '%words%'`` as the inbox writes it);
- ``ix_mentions_order``: every mention in the queue's order (as ``ix_mentions_open``
  is for the open ones), then the columns the inbox filters on, so a view over
  all statuses is the first rows of an index walk.

Building them reads the mentions once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:00:00
"""
import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied, not imported: a migration must keep creating what it created when it was written.
MENTION_ORDER = ("(priority IS NULL)", "priority DESC", "(sla_due_at IS NULL)", "sla_due_at", "created_at", "id")

SQLITE_UP = (
    "CREATE VIRTUAL TABLE mentions_fts USING fts5(text, title, content='mentions', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO mentions_fts(mentions_fts) VALUES ('rebuild')",
    "CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions BEGIN "
    "INSERT INTO mentions_fts(rowid, text, title) VALUES (new.id, new.text, new.title); END",
    "CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions BEGIN "
    "INSERT INTO mentions_fts(mentions_fts, rowid, text, title) VALUES ('delete', old.id, old.text, old.title); END",
    # Only a change of the indexed columns (or the id) touches the index: status changes are most updates.
    "CREATE TRIGGER mentions_fts_update AFTER UPDATE OF id, text, title ON mentions BEGIN "
    "INSERT INTO mentions_fts(mentions_fts, rowid, text, title) VALUES ('delete', old.id, old.text, old.title); "
    "INSERT INTO mentions_fts(rowid, text, title) VALUES (new.id, new.text, new.title); END",
)
SQLITE_UP += (
    "CREATE VIRTUAL TABLE authors_fts USING fts5(handle, content='authors', content_rowid='id', tokenize='trigram')",
    "INSERT INTO authors_fts(authors_fts) VALUES ('rebuild')",
    "CREATE TRIGGER authors_fts_insert AFTER INSERT ON authors BEGIN "
    "INSERT INTO authors_fts(rowid, handle) VALUES (new.id, new.handle); END",
    "CREATE TRIGGER authors_fts_delete AFTER DELETE ON authors BEGIN "
    "INSERT INTO authors_fts(authors_fts, rowid, handle) VALUES ('delete', old.id, old.handle); END",
    "CREATE TRIGGER authors_fts_update AFTER UPDATE OF id, handle ON authors BEGIN "
    "INSERT INTO authors_fts(authors_fts, rowid, handle) VALUES ('delete', old.id, old.handle); "
    "INSERT INTO authors_fts(rowid, handle) VALUES (new.id, new.handle); END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS authors_fts_update",
    "DROP TRIGGER IF EXISTS authors_fts_delete",
    "DROP TRIGGER IF EXISTS authors_fts_insert",
    "DROP TABLE IF EXISTS authors_fts",
    "DROP TRIGGER IF EXISTS mentions_fts_update",
    "DROP TRIGGER IF EXISTS mentions_fts_delete",
    "DROP TRIGGER IF EXISTS mentions_fts_insert",
    "DROP TABLE IF EXISTS mentions_fts",
)
POSTGRES_UP = (
    "CREATE INDEX ix_mentions_text_trgm ON mentions USING gin (lower(text) gin_trgm_ops)",
    "CREATE INDEX ix_mentions_title_trgm ON mentions USING gin (lower(coalesce(title, '')) gin_trgm_ops)",
    "CREATE INDEX ix_authors_handle_trgm ON authors USING gin (lower(coalesce(handle, '')) gin_trgm_ops)",
)
POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS ix_authors_handle_trgm",
    "DROP INDEX IF EXISTS ix_mentions_title_trgm",
    "DROP INDEX IF EXISTS ix_mentions_text_trgm",
)


def _trigrams_available() -> bool:
    """Whether pg_trgm is (or can be) installed: creating an extension needs a privilege that a database's
    owner may lack. Without it the search still works, by scanning (as before this migration), and says so."""
    bind = op.get_bind()
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True
    except sa.exc.DBAPIError as error:
        warnings.warn(f"pg_trgm could not be installed ({error.orig}): text search scans the mentions; "
                      "run CREATE EXTENSION pg_trgm as a superuser and migrate again (downgrade to 0011 first)",
                      stacklevel=1)
        return False


def upgrade() -> None:
    op.create_index(
        'ix_mentions_order', 'mentions',
        [*(sa.text(column) for column in MENTION_ORDER),
         'status', 'platform', 'sentiment_label', 'priority_level', 'assignee_id'],
        unique=False,
    )
    dialect = op.get_bind().dialect.name
    if dialect == 'sqlite':
        statements: tuple[str, ...] = SQLITE_UP
    elif dialect == 'postgresql' and _trigrams_available():
        statements = POSTGRES_UP
    else:
        statements = ()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DOWN if dialect == 'sqlite' else POSTGRES_DOWN if dialect == 'postgresql' else ():
        op.execute(statement)
    op.drop_index('ix_mentions_order', table_name='mentions')
