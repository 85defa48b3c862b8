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


SHARED_SETS: dict[str, tuple[str, str]] = {
    "tweeteval-val": ("tweeteval-sentiment/val_text.txt", "tweeteval-sentiment/val_labels.txt"),
    "sanders": ("sanders-brand-tweets/text.txt", "sanders-brand-tweets/labels.txt"),
}
"""The held-out sets every modelling choice is judged on, as paths under the shared data directory.
TweetEval's test split is deliberately absent: it is kept for independent evaluation."""


def parse_set_spec(spec: str) -> tuple[str, Path, Path]:
    """``NAME=TEXTS:LABELS`` as its three parts; :class:`LabelledDataError` names what is wrong."""
    name, equals, paths = spec.partition("=")
    texts, colon, labels = paths.rpartition(":")
    if not equals or not colon or not name.strip() or not texts or not labels:
        raise LabelledDataError(f"--set {spec!r}: expected NAME=TEXTS:LABELS, e.g. brand=tweets.txt:labels.txt")
    return name.strip(), Path(texts), Path(labels)


def shared_set_specs(data_dir: Path) -> list[tuple[str, Path, Path]]:
    """TweetEval val and the Sanders brand tweets under ``data_dir`` (the shared ``data`` directory)."""
    return [(name, data_dir / texts, data_dir / labels) for name, (texts, labels) in SHARED_SETS.items()]


def evaluate_sets(
    classifier: _Classifier, sets: Sequence[tuple[str, Sequence[str], Sequence[int]]]
) -> list[dict[str, Any]]:
    """:func:`evaluate` on each named set, in order; each result also carries its ``set`` name."""
    return [{"set": name, **evaluate(classifier, texts, gold)} for name, texts, gold in sets]


def format_table(results: Sequence[dict[str, Any]]) -> str:
    """One line per set: n, macro-recall, accuracy and recall per class, in percent."""
    width = max([len("set"), *(len(r["set"]) for r in results)])
    header = f"{'set':<{width}}  {'n':>6}  {'macro-R':>7}  {'acc':>6}  {'R neg':>6}  {'R neu':>6}  {'R pos':>6}"
    lines = [header, "-" * len(header)]
    for r in results:
        recalls = [r["per_class_recall"].get(label) for label in LABELS]
        cells = "  ".join(f"{recall * 100:6.2f}" if recall is not None else f"{'-':>6}" for recall in recalls)
        lines.append(
            f"{r['set']:<{width}}  {r['n']:>6}  {r['macro_recall'] * 100:7.2f}  {r['accuracy'] * 100:6.2f}  {cells}"
        )
    return "\n".join(lines)
