"""Scores for a sentiment classifier: macro-averaged recall is the benchmark's metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from listener.sentiment.labels import LABELS


@dataclass
class SentimentScores:
    macro_recall: float
    accuracy: float
    per_class_recall: dict[str, float]
    n: int


def score(gold: Sequence[int], predicted: Sequence[int]) -> SentimentScores:
    """Macro recall is the mean of the per-class recalls over classes present in ``gold``."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no labelled texts to score")
    per_class: dict[str, float] = {}
    for class_id, name in enumerate(LABELS):
        total = sum(1 for g in gold if g == class_id)
        if total:
            hits = sum(1 for g, p in zip(gold, predicted, strict=True) if g == class_id and p == class_id)
            per_class[name] = hits / total
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return SentimentScores(
        macro_recall=sum(per_class.values()) / len(per_class),
        accuracy=correct / len(gold),
        per_class_recall=per_class,
        n=len(gold),
    )
