"""Exporting mentions: one record per mention, as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Author, Mention
from listener.safe_text import spreadsheet_cell

EXPORT_FIELDS = (
    "platform",
    "external_id",
    "url",
    "author_handle",
    "text",
    "created_at",
    "language",
    "sentiment_label",
    "sentiment_confidence",
    "profile_id",
)


def iter_mention_records(engine: Engine, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Mentions oldest first, streamed in batches so a large table never sits in memory."""
    last_id = 0
    with Session(engine) as session:
        while True:
            rows = session.execute(
                select(Mention, Author.handle)
                .outerjoin(Author, Author.id == Mention.author_id)
                .where(Mention.id > last_id)
                .order_by(Mention.id)
                .limit(batch)
            ).all()
            if not rows:
                return
            for mention, handle in rows:
                yield {
                    "platform": mention.platform,
                    "external_id": mention.external_id,
                    "url": mention.url,
                    "author_handle": handle,
                    "text": mention.text,
                    "created_at": mention.created_at.isoformat().replace("+00:00", "Z"),
                    "language": mention.language,
                    "sentiment_label": mention.sentiment_label,
                    "sentiment_confidence": mention.sentiment_confidence,
                    "profile_id": mention.profile_id,
                }
            last_id = rows[-1][0].id


def export_mentions(engine: Engine, out: TextIO, fmt: str) -> int:
    """Write every mention to ``out`` as ``jsonl`` or ``csv``; returns the count."""
    count = 0
    if fmt == "jsonl":
        for record in iter_mention_records(engine):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for record in iter_mention_records(engine):
            # Mention text and handles are strangers' words: no cell may start a spreadsheet formula.
            writer.writerow({name: spreadsheet_cell(value) for name, value in record.items()})
            count += 1
    else:
        raise ValueError(f"unknown export format {fmt!r}: use jsonl or csv")
    return count
