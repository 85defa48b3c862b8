"""Refitting the classification head on frozen features: out-of-fold figures, and a model that loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentiment_models import TEXTS, data_subset

from listener.sentiment.classifier import load_classifier
from listener.sentiment.head import (
    HeadFitError,
    HeadOptions,
    LabelledFeatures,
    cross_validate,
    figures,
    fit_head,
    fold_ids,
    logits,
    refit,
)
from listener.sentiment.labels import LABELS


def test_extra_set_figures_are_out_of_fold() -> None:
    """Labels that are pure noise can be memorised by a head fitted on them, but not predicted out-of-fold."""
    rng = np.random.default_rng(0)
    dims = 64
    train = LabelledFeatures("train", rng.normal(size=(300, dims)).astype(np.float32), rng.integers(0, 3, 300))
    noise = LabelledFeatures("noise", rng.normal(size=(60, dims)).astype(np.float32) * 3, rng.integers(0, 3, 60))
    options = HeadOptions(extra_weight=50.0, l2=0.0, folds=5, seed=0)
    initial = (np.zeros((3, dims), np.float32), np.zeros(3, np.float32))

    memorised = fit_head(train, [noise], options, initial)
    in_sample = figures(noise.labels, logits(memorised, noise.features))["accuracy"]
    results = cross_validate(train, [noise], [], options, initial)

    assert in_sample > 0.9
    assert results["noise"]["out_of_fold"] is True and results["noise"]["folds"] == 5
    assert results["noise"]["accuracy"] < 0.6


def test_folds_are_fixed_by_seed_and_balanced() -> None:
    first, again, other = fold_ids(23, 5, seed=3), fold_ids(23, 5, seed=3), fold_ids(23, 5, seed=4)
    assert (first == again).all() and not (first == other).all()
    assert sorted(np.bincount(first).tolist()) == [4, 4, 5, 5, 5]
    with pytest.raises(HeadFitError, match="3 texts cannot make 5 folds"):
        fold_ids(3, 5, seed=0)


def test_refit_saves_a_loadable_model_whose_labels_follow_the_new_head(tiny_model: Path, tmp_path: Path) -> None:
    data = data_subset(tmp_path / "data", 60)
    brand_texts = TEXTS + [f"{text} #brand" for text in TEXTS]
    brand_gold = [1] * len(brand_texts)  # all neutral: the refitted head should lean that way on them
    metrics = refit(data, tmp_path / "out", HeadOptions(extra_weight=20.0, folds=4),
                    extras=[("brand", brand_texts, brand_gold)], model_dir=tiny_model,
                    cache_dir=tmp_path / "cache")

    assert metrics["after"]["brand"]["out_of_fold"] is True
    assert set(metrics["before"]) == set(metrics["after"]) == {"val", "brand"}
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["head"]["extras"] == ["brand"]
    refitted = load_classifier(str(tmp_path / "out" / "model"), device="cpu")
    original = load_classifier(str(tiny_model), device="cpu")
    neutral_share = [sum(p.label == "neutral" for p in c.classify(brand_texts)) for c in (original, refitted)]
    assert neutral_share[1] > neutral_share[0]
    assert all(p.label in LABELS for p in refitted.classify(["fine", "awful"]))
    # the embeddings were cached: a second fit with other options embeds nothing again
    said: list[str] = []
    refit(data, tmp_path / "out2", HeadOptions(class_weighting="sqrt", folds=4),
          extras=[("brand", brand_texts, brand_gold)], model_dir=tiny_model, cache_dir=tmp_path / "cache",
          progress=said.append)
    assert not [line for line in said if line.startswith("embedding")]


def test_unknown_class_weighting_is_refused_before_any_work(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(HeadFitError, match="'balanced' is not one of inverse, sqrt, none"):
        refit(tmp_path / "no-data", tmp_path / "out", HeadOptions(class_weighting="balanced"), model_dir=tiny_model)


def test_prior_correction_shifts_the_bias_by_the_log_class_shares(tiny_model: Path, tmp_path: Path) -> None:
    from listener.sentiment.head import prior_correct
    from listener.sentiment.modeling import MeanPoolingBertClassifier

    data = tmp_path / "data"
    data.mkdir()
    (data / "train_text.txt").write_text("a\nb\nc\nd\ne\n")
    (data / "train_labels.txt").write_text("0\n1\n1\n1\n2\n")
    shares, shift = prior_correct(data, tmp_path / "out", 0.5, tiny_model)
    assert shift.tolist() == pytest.approx((0.5 * np.log([0.2, 0.6, 0.2])).tolist(), abs=1e-6)

    assert shares.tolist() == pytest.approx([0.2, 0.6, 0.2])
    before = MeanPoolingBertClassifier.from_pretrained(str(tiny_model)).classifier.bias.detach().numpy()
    after = MeanPoolingBertClassifier.from_pretrained(str(tmp_path / "out")).classifier.bias.detach().numpy()
    assert after - before == pytest.approx(0.5 * np.log([0.2, 0.6, 0.2]), abs=1e-6)
    # the commonest class (neutral) gains on every text, so no text leaves it and some may join it
    labels_before = [p.label for p in load_classifier(str(tiny_model), device="cpu").classify(TEXTS)]
    labels_after = [p.label for p in load_classifier(str(tmp_path / "out"), device="cpu").classify(TEXTS)]
    assert all(b != "neutral" or a == "neutral" for a, b in zip(labels_after, labels_before, strict=True))

    (data / "train_labels.txt").write_text("0\n1\n1\n1\n1\n")
    with pytest.raises(HeadFitError, match="every class needs training tweets"):
        prior_correct(data, tmp_path / "out2", 0.5, tiny_model)
