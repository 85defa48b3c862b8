"""Reading labelled files and scoring a real (tiny) classifier on them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sentiment_models import TEXTS

from listener.sentiment.classifier import load_classifier
from listener.sentiment.evaluation import LabelledDataError, evaluate, read_labelled
from listener.sentiment.labels import LABELS


def write(path: Path, lines: list[str], trailing_newline: bool = True) -> Path:
    path.write_text("\n".join(lines) + ("\n" if trailing_newline else ""), encoding="utf-8")
    return path


def test_labels_as_names_or_numbers(tmp_path: Path) -> None:
    texts = write(tmp_path / "t.txt", ["bad", "fine", "good", "awful"])
    labels = write(tmp_path / "l.txt", ["Negative", "1", "POSITIVE", " 0 "], trailing_newline=False)
    assert read_labelled(texts, labels) == (["bad", "fine", "good", "awful"], [0, 1, 2, 0])


def test_bad_label_names_its_line(tmp_path: Path) -> None:
    texts = write(tmp_path / "t.txt", ["a", "b", "c"])
    labels = write(tmp_path / "l.txt", ["0", "2", "happy"])
    with pytest.raises(LabelledDataError, match=r"l\.txt line 3: label 'happy'"):
        read_labelled(texts, labels)


def test_blank_label_in_the_middle_is_an_error(tmp_path: Path) -> None:
    texts = write(tmp_path / "t.txt", ["a", "b", "c"])
    labels = write(tmp_path / "l.txt", ["0", "", "2"])
    with pytest.raises(LabelledDataError, match="line 2"):
        read_labelled(texts, labels)


def test_mismatched_counts(tmp_path: Path) -> None:
    texts = write(tmp_path / "t.txt", ["a", "b", "c"])
    labels = write(tmp_path / "l.txt", ["0", "1"])
    with pytest.raises(LabelledDataError, match=r"3 lines but l\.txt has 2"):
        read_labelled(texts, labels)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LabelledDataError, match="does not exist"):
        read_labelled(tmp_path / "none.txt", tmp_path / "none.txt")


def test_evaluate_gives_exact_figures(tiny_model: Path, tmp_path: Path) -> None:
    classifier = load_classifier(str(tiny_model), device="cpu", batch_size=4)
    predicted = [LABELS.index(p.label) for p in classifier.classify(TEXTS)]
    # gold agrees with the model on all texts but the first three, where it is one class further on
    gold = [(p + 1) % 3 if i < 3 else p for i, p in enumerate(predicted)]
    write(tmp_path / "t.txt", TEXTS)
    write(tmp_path / "l.txt", [LABELS[g] for g in gold])
    texts, read_gold = read_labelled(tmp_path / "t.txt", tmp_path / "l.txt")
    assert read_gold == gold

    result = evaluate(classifier, texts, read_gold)

    expected_recall = {}
    for class_id, name in enumerate(LABELS):
        members = [i for i, g in enumerate(gold) if g == class_id]
        if members:
            expected_recall[name] = sum(1 for i in members if i >= 3) / len(members)
    assert result["n"] == len(TEXTS)
    assert result["accuracy"] == pytest.approx((len(TEXTS) - 3) / len(TEXTS))
    assert result["per_class_recall"] == pytest.approx(expected_recall)
    assert result["macro_recall"] == pytest.approx(sum(expected_recall.values()) / len(expected_recall))
    assert result["texts_per_second"] > 0
