"""Score a classifier on labelled texts: the benchmark's macro-averaged recall, and its speed.

``harken sentiment eval --texts FILE --labels FILE`` reads two parallel files,
one text and one label a line, as TweetEval ships them. Labels may be the
dataset's 0/1/2 or the names, so hand-labelled files need no lookup table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from listener.sentiment.errors import LabelledDataError
from listener.sentiment.labels import LABELS
from listener.sentiment.metrics import score


class _Classifier(Protocol):
    def classify(self, texts: Sequence[str]) -> Sequence[Any]: ...


def _lines(path: Path) -> list[str]:
    """The file's lines; one blank line at the end (a trailing newline left by an editor) is dropped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise LabelledDataError(f"{path} does not exist") from None
    if lines and lines[-1].strip() == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def parse_label(value: str) -> int:
    """``0``/``1``/``2`` or ``negative``/``neutral``/``positive`` (any case) as a class id."""
    cleaned = value.strip().lower()
    if cleaned in {"0", "1", "2"}:
        return int(cleaned)
    if cleaned in LABELS:
        return LABELS.index(cleaned)
    raise ValueError(f"label {value.strip()!r} is not 0, 1, 2, negative, neutral or positive")


def read_labelled(texts_path: Path, labels_path: Path) -> tuple[list[str], list[int]]:
    """Texts and their gold class ids (0 negative, 1 neutral, 2 positive), line by line."""
    texts = _lines(texts_path)
    raw_labels = _lines(labels_path)
    if len(texts) != len(raw_labels):
        raise LabelledDataError(
            f"{Path(texts_path).name} has {len(texts)} lines but {Path(labels_path).name} has {len(raw_labels)}"
        )
    gold: list[int] = []
    for line_no, raw in enumerate(raw_labels, start=1):
        try:
            gold.append(parse_label(raw))
        except ValueError as exc:
            raise LabelledDataError(f"{Path(labels_path).name} line {line_no}: {exc}") from None
    if not texts:
        raise LabelledDataError(f"{Path(texts_path).name} holds no texts")
    return texts, gold


def evaluate(classifier: _Classifier, texts: Sequence[str], gold: Sequence[int]) -> dict[str, Any]:
    """Macro recall, accuracy, per-class recall, count, and texts per second of ``classify`` alone.

    Reading files and scoring are left out of the timing, so the figure is the
    classifier's own throughput on this machine.
    """
    started = time.perf_counter()
    predictions = classifier.classify(list(texts))
    elapsed = time.perf_counter() - started
    predicted = [LABELS.index(p.label) for p in predictions]
    result: dict[str, Any] = asdict(score(gold, predicted))
    result["texts_per_second"] = len(texts) / elapsed if elapsed > 0 else float("inf")
    return result
