"""Staff corrections of sentiment labels: stored with who, when, old and new label.

Corrections close the loop. Each corrected mention falls for good on one side of
a fixed line, by a hash of its id: about a fifth are *held back* (only ever
scored, by ``harken sentiment eval --corrections``) and the rest are for
*training* (``harken sentiment train --corrections`` adds them to the training
tweets). The side depends on nothing but the mention id, so it never changes as
corrections are added or re-made: a mention trained on today is never scored as
"unseen" tomorrow. A mention corrected twice is one example; its latest
correction is its truth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention, SentimentCorrection
from listener.sentiment.errors import CorrectionError
from listener.sentiment.labels import LABELS

HELD_BACK_PERCENT = 20
"""The share of corrected mentions kept out of training to measure the model on (in percent)."""

# Part of the hashed text, so that changing it (never done lightly) would reshuffle every mention's side.
_SPLIT_SALT = "harken-corrections-split-v1"


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


@dataclass(frozen=True)
class CorrectedExample:
    """One corrected mention as labelled data: its text and its latest corrected label (a class id)."""

    mention_id: int
    text: str
    label: int


@dataclass(frozen=True)
class CorrectionSplit:
    """The corrected mentions, on their two sides: for training, and held back to score on."""

    training: list[CorrectedExample]
    held_back: list[CorrectedExample]

    @property
    def total(self) -> int:
        return len(self.training) + len(self.held_back)


def is_held_back(mention_id: int) -> bool:
    """Whether a corrected mention is held back from training; fixed for ever by its id alone.

    A hash rather than ``id % 5``: ids come in runs (one collection page, one
    platform, one busy day), and every fifth of a run would not be a fair sample.
    """
    digest = hashlib.sha256(f"{_SPLIT_SALT}:{mention_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < HELD_BACK_PERCENT


def latest_corrections(session: Session, language: str | None = None) -> list[CorrectedExample]:
    """Every corrected mention once (only those detected in ``language`` if given), labelled by its latest
    correction, in mention id order."""
    latest = (
        select(SentimentCorrection.mention_id, func.max(SentimentCorrection.id).label("last_id"))
        .group_by(SentimentCorrection.mention_id)
        .subquery()
    )
    query = (
        select(SentimentCorrection.mention_id, Mention.text, SentimentCorrection.new_label)
        .join(latest, latest.c.last_id == SentimentCorrection.id)
        .join(Mention, Mention.id == SentimentCorrection.mention_id)
        .order_by(SentimentCorrection.mention_id)
    )
    if language is not None:
        query = query.where(Mention.language == language.strip().lower())
    rows = session.execute(query).all()
    return [CorrectedExample(mention_id, text, LABELS.index(label)) for mention_id, text, label in rows]


def split_corrections(examples: list[CorrectedExample]) -> CorrectionSplit:
    """``examples`` divided by :func:`is_held_back`, order kept."""
    return CorrectionSplit(
        training=[e for e in examples if not is_held_back(e.mention_id)],
        held_back=[e for e in examples if is_held_back(e.mention_id)],
    )


def correction_split(session: Session, language: str | None = None) -> CorrectionSplit:
    """The stored corrections (only ``language``'s if given), each mention by its latest correction, split
    into training and held back."""
    return split_corrections(latest_corrections(session, language))

