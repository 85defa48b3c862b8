"""Free-text search over mentions, served by an index on each back-end.

The inbox finds mentions whose text, title or author's handle contains the typed
words (a case-insensitive substring, as ``LIKE '%words%'``). Scanning a million
texts for a word takes most of a second, so migration 0012 adds an index that
answers "which mentions contain this substring" directly:

- SQLite: ``mentions_fts`` and ``authors_fts``, FTS5 tables with the trigram
  tokenizer over the mentions' text and title and the authors' handles. They are
  external-content tables (they store only the index, the text stays in its
  table), kept in step by triggers on insert, update and delete.
- PostgreSQL: trigram GIN indexes (pg_trgm) on ``lower(text)``,
  ``lower(coalesce(title, ''))`` and ``lower(coalesce(handle, ''))``, which serve
  ``LIKE '%words%'`` as written.

A trigram index can only narrow a search of three characters or more; shorter
words are searched as before. On SQLite the index gives candidates and the
exact LIKE is still checked on them, so the results are those of the LIKE search
(the index folds case beyond ASCII, SQLite's LIKE does not).
"""

from __future__ import annotations

from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import TextClause

FTS_TABLE = "mentions_fts"
AUTHORS_FTS_TABLE = "authors_fts"
FTS_TABLES = (FTS_TABLE, AUTHORS_FTS_TABLE)
POSTGRES_INDEXES = ("ix_mentions_text_trgm", "ix_mentions_title_trgm", "ix_authors_handle_trgm")
MIN_INDEXED_LENGTH = 3
"""A trigram index narrows only a search of at least this many characters."""


def is_search_object(name: str | None) -> bool:
    """Whether ``name`` is one of the search index's own tables or indexes (not in the models: see migration 0012)."""
    if not name:
        return False
    return name in POSTGRES_INDEXES or any(name == table or name.startswith(table + "_") for table in FTS_TABLES)


def fts_phrase(words: str) -> str:
    """An FTS5 query for ``words`` as one literal phrase: with the trigram tokenizer, a substring."""
    return '"' + words.replace('"', '""') + '"'


def fts_rowids(table: str) -> TextClause:
    """The ids of rows of ``table`` (an FTS table) that may contain the phrase ``:phrase``."""
    assert table in FTS_TABLES, table
    return sql_text(f"SELECT rowid FROM {table} WHERE {table} MATCH :phrase")


def indexable(words: str) -> bool:
    return len(words) >= MIN_INDEXED_LENGTH


def include_in_autogenerate(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name``: compare the models' tables and indexes, not the search index of migration 0012.

    The FTS5 table (and its shadow tables) and the trigram indexes have no model (an
    FTS5 virtual table and a GIN index with an operator class are not ordinary
    metadata); the migration owns them.
    """
    return not (type_ in ("table", "index") and is_search_object(name))
