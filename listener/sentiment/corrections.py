"""Staff corrections of sentiment labels: stored with who, when, old and new label.

Corrections feed back into measurement: ``harken sentiment eval --corrections``
scores the configured model on every corrected mention (the latest correction of
each counts as the truth).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention, SentimentCorrection
from listener.sentiment.errors import CorrectionError
from listener.sentiment.labels import LABELS


def correct_label(session: Session, mention_id: int, new_label: str, corrected_by: str) -> SentimentCorrection:
    """Set a mention's label as a person says, keeping the model's label in the record."""
    label = new_label.strip().lower()
    if label not in LABELS:
        raise CorrectionError(f"label {new_label!r} is not one of {', '.join(LABELS)}")
    mention = session.get(Mention, mention_id)
    if mention is None:
        raise CorrectionError(f"no mention with id {mention_id}")
    correction = SentimentCorrection(
        mention_id=mention_id, old_label=mention.sentiment_label, new_label=label, corrected_by=corrected_by
    )
    mention.sentiment_label = label
    mention.sentiment_confidence = 1.0
    mention.sentiment_scored_at = utcnow()
    session.add(correction)
    session.add(mention)
    return correction


def corrected_examples(session: Session, language: str | None = None) -> tuple[list[str], list[int]]:
    """(texts, gold label ids) of every corrected mention, by its latest correction; only ``language``'s if given."""
    latest = (
        select(SentimentCorrection.mention_id, func.max(SentimentCorrection.id).label("last_id"))
        .group_by(SentimentCorrection.mention_id)
        .subquery()
    )
    query = (
        select(Mention.text, SentimentCorrection.new_label)
        .join(latest, latest.c.last_id == SentimentCorrection.id)
        .join(Mention, Mention.id == SentimentCorrection.mention_id)
        .order_by(SentimentCorrection.mention_id)
    )
    if language is not None:
        query = query.where(Mention.language == language.strip().lower())
    rows = session.execute(query).all()
    return [text for text, _ in rows], [LABELS.index(label) for _, label in rows]
