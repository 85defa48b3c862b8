"""Whether a scored mention's sentiment is confident enough to act on.

A mention whose classifier confidence is below ``[sentiment] min_confidence`` is
*uncertain*: the web app shows it as such, digests count it apart, and it never
drives an alert, a negative-driver list or a rule that requires a sentiment.

It is decided at read time from the stored ``sentiment_confidence`` and the
setting, never stored, so changing the setting applies at once without a
migration. Every place that needs it calls this module, so they all agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_

UNCERTAIN = "uncertain"
SCORED_LABELS = frozenset({"negative", "neutral", "positive"})
# A label below 50% confidence lost to the other two labels together: the model is
# guessing. Above that it is a majority call; sites that want fewer false alarms
# raise it (0.6-0.7), and 0 turns the feature off.
DEFAULT_MIN_CONFIDENCE = 0.5


def is_uncertain(label: str | None, confidence: float | None, min_confidence: float) -> bool:
    """A scored label (negative/neutral/positive) whose confidence is below ``min_confidence``.

    Unscored mentions are not uncertain (they have no label to doubt), and a label
    without a stored confidence (e.g. an imported one) is taken as given.
    """
    return label in SCORED_LABELS and confidence is not None and confidence < min_confidence


def shown_sentiment(label: str | None, confidence: float | None, min_confidence: float) -> str:
    """The label to act on: ``uncertain`` below the threshold, else the label (``unscored`` when none)."""
    if is_uncertain(label, confidence, min_confidence):
        return UNCERTAIN
    return label or "unscored"


def confident_sql(confidence_column: Any, min_confidence: float) -> Any:
    """SQL twin of ``not is_uncertain``: the row's label may be acted on (for use in WHERE/CASE)."""
    return or_(confidence_column.is_(None), confidence_column >= min_confidence)


def confidently_sql(label: str, label_column: Any, confidence_column: Any, min_confidence: float) -> Any:
    """SQL: the row is ``label`` and confident, e.g. a confident negative."""
    return and_(label_column == label, confident_sql(confidence_column, min_confidence))


def uncertain_sql(label_column: Any, confidence_column: Any, min_confidence: float) -> Any:
    """SQL twin of ``is_uncertain``."""
    return and_(label_column.in_(sorted(SCORED_LABELS)), confidence_column.is_not(None),
                confidence_column < min_confidence)
