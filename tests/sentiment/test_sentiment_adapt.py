"""Adapting the top layers to brand tweets: every brand figure out-of-fold, one fold per brand, a model that loads."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from sentiment_models import TEXTS, data_subset

from listener.sentiment.adapt import SWAP_BRANDS, AdaptOptions, TopLayers, adapt, swap_brand
from listener.sentiment.classifier import load_classifier
from listener.sentiment.head import HeadFitError
from listener.sentiment.labels import LABELS
from listener.sentiment.metrics import score
from listener.sentiment.modeling import MeanPoolingBertClassifier

BRANDS = ["acme", "globex", "initech"]


def brand_tweets() -> tuple[list[str], list[int], list[str]]:
    texts = [f"{text} @{brand}" for brand in BRANDS for text in TEXTS[:8]]
    groups = [brand for brand in BRANDS for _ in TEXTS[:8]]
    return texts, [1] * len(texts), groups  # all neutral: adapting should lean that way on them


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[list[torch.Tensor]]:
    """The states each TopLayers.fit trains on, in the order of the fits."""
    recorded: list[list[torch.Tensor]] = []
    fit = TopLayers.fit

    def recording_fit(self: TopLayers, states: list[torch.Tensor], labels: list[int], options: AdaptOptions) -> None:
        recorded.append(list(states))
        fit(self, states, labels, options)

    monkeypatch.setattr(TopLayers, "fit", recording_fit)
    return recorded


@pytest.fixture
def encoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], list[torch.Tensor]]]:
    """Each batch of texts TopLayers.frozen_states encodes, with the states it returns."""
    recorded: list[tuple[list[str], list[torch.Tensor]]] = []
    frozen_states = TopLayers.frozen_states

    def recording_states(self: TopLayers, tokenizer: object, batch: list[str], *args: object) -> list[torch.Tensor]:
        states = frozen_states(self, tokenizer, batch, *args)
        recorded.append((list(batch), states))
        return states

    monkeypatch.setattr(TopLayers, "frozen_states", recording_states)
    return recorded


def test_each_brand_is_predicted_by_a_model_that_never_trained_on_it(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fits: list[list[torch.Tensor]]) -> None:
    texts, gold, groups = brand_tweets()
    predicted: list[set[int]] = []
    predict_logits = TopLayers.predict_logits

    def recording_predict(self: TopLayers, states: list[torch.Tensor], batch_size: int = 256) -> np.ndarray:
        predicted.append({id(s) for s in states})
        return predict_logits(self, states, batch_size)

    monkeypatch.setattr(TopLayers, "predict_logits", recording_predict)
    metrics = adapt(data_subset(tmp_path / "data", 40), tmp_path / "out",
                    AdaptOptions(top_layers=1, replay=20, epochs=1, learning_rate=1e-3),
                    extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)
    fitted_on = [{id(s) for s in states} for states in fits]

    # three brand folds, then the model that ships (trained on every brand tweet)
    assert len(fitted_on) == 4
    fold_predictions = [p for p in predicted if len(p) == 8]  # one brand's 8 tweets
    assert len(fold_predictions) == 3
    for trained, held in zip(fitted_on[:3], fold_predictions, strict=True):
        assert not trained & held  # never trained on what it is judged on
    assert all(held <= fitted_on[3] for held in fold_predictions)
    assert metrics["after"]["brand"]["out_of_fold"] is True and metrics["after"]["brand"]["folds"] == 3
    assert metrics["after"]["brand"]["grouped"] is True
    assert [fold["fold"] for fold in metrics["folds"]] == BRANDS
    # The logits behind the figures are kept: the brand tweets' out-of-fold, val's by the model that ships.
    val = [int(line) for line in (tmp_path / "data" / "val_labels.txt").read_text().split()]
    for name, labels in (("brand", gold), ("val", val)):
        logits = np.load(tmp_path / "out" / f"{name}-logits.npy")
        assert logits.shape == (len(labels), 3)
        assert asdict(score(labels, logits.argmax(axis=1).tolist())).items() <= metrics["after"][name].items()


def test_the_adapted_model_loads_leans_toward_the_brand_labels_and_records_its_recipe(
        tiny_model: Path, tmp_path: Path) -> None:
    texts, gold, groups = brand_tweets()
    adapt(data_subset(tmp_path / "data", 40), tmp_path / "out",
          AdaptOptions(top_layers=1, replay=20, epochs=3, learning_rate=1e-3),
          extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)

    recorded = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert recorded["adapt"]["extras"] == ["brand"] and recorded["adapt"]["grouped_folds"] is True
    assert set(recorded["before"]) == {"val", "brand"} and set(recorded["after"]) == {"val", "brand"}
    adapted = load_classifier(str(tmp_path / "out" / "model"), device="cpu")
    original = load_classifier(str(tiny_model), device="cpu")
    neutral = [sum(p.label == "neutral" for p in c.classify(texts)) for c in (original, adapted)]
    assert neutral[1] > neutral[0]
    assert all(p.label in LABELS for p in adapted.classify(["fine", "awful"]))


@pytest.mark.parametrize(("options", "groups", "message"), [
    (AdaptOptions(top_layers=99), None, "top layers must be between 1 and"),
    (AdaptOptions(), ["a", "b"], "2 groups for 24 texts of brand"),
    (AdaptOptions(class_weighting="balanced"), None, "'balanced' is not one of none, sqrt, inverse"),
    (AdaptOptions(label_smoothing=1.0), None, r"label smoothing must be at least 0 and below 1, not 1\.0"),
    (AdaptOptions(brand_swaps=1), None, "brand swaps need --groups naming each tweet's brand"),
    (AdaptOptions(brand_swaps=1), ["north", "south", "east"] * 8, "only 0 of 24 texts of brand name their group"),
    (AdaptOptions(brand_swaps=-1), brand_tweets()[2], "brand swaps must be 0 or more, not -1"),
    (AdaptOptions(soup=0), None, "a soup takes at least 1 fit, not 0"),
])
def test_wrong_options_are_refused_with_what_to_change(
        tiny_model: Path, tmp_path: Path, options: AdaptOptions, groups: list[str] | None, message: str) -> None:
    texts, gold, _ = brand_tweets()
    with pytest.raises(HeadFitError, match=message):
        adapt(data_subset(tmp_path / "data", 40), tmp_path / "out", options, extras=[("brand", texts, gold)],
              groups=groups, model_dir=tiny_model)


def test_label_smoothing_leaves_the_adapted_model_less_certain(tiny_model: Path, tmp_path: Path) -> None:
    texts, gold, groups = brand_tweets()
    data = data_subset(tmp_path / "data", 40)
    certainty = {}
    for smoothing in (0.0, 0.3):
        out = tmp_path / f"out{smoothing}"
        metrics = adapt(data, out, AdaptOptions(top_layers=1, replay=20, epochs=3, learning_rate=1e-3,
                                                label_smoothing=smoothing),
                        extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)
        assert metrics["adapt"]["label_smoothing"] == smoothing
        adapted = load_classifier(str(out / "model"), device="cpu")
        certainty[smoothing] = sum(p.confidence for p in adapted.classify(texts)) / len(texts)
    assert certainty[0.3] < certainty[0.0]


def test_the_weight_mix_runs_from_the_start_model_to_the_adapted_one(tiny_model: Path, tmp_path: Path) -> None:
    from listener.sentiment.modeling import MeanPoolingBertClassifier

    texts, gold, groups = brand_tweets()
    data = data_subset(tmp_path / "data", 40)
    heads = {}
    for mix in (0.0, 0.5, 1.0):
        options = AdaptOptions(top_layers=1, replay=20, epochs=2, learning_rate=1e-3, mix=mix)
        adapt(data, tmp_path / f"out{mix}", options,
              extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)
        heads[mix] = MeanPoolingBertClassifier.from_pretrained(str(tmp_path / f"out{mix}" / "model")).classifier.weight
    start = MeanPoolingBertClassifier.from_pretrained(str(tiny_model)).classifier.weight
    assert torch.equal(heads[0.0], start)  # mix 0: nothing changed
    assert not torch.equal(heads[1.0], start)
    assert torch.allclose(heads[0.5], (start + heads[1.0]) / 2, atol=1e-6)  # half way, weight by weight
    with pytest.raises(HeadFitError, match="mix must be between 0"):
        adapt(data, tmp_path / "bad", AdaptOptions(mix=1.5), extras=[("brand", texts, gold)], model_dir=tiny_model)


def test_a_brand_is_swapped_where_it_is_written_as_a_word_handle_or_hashtag_in_its_own_case() -> None:
    text = "@Apple and #APPLE: apple's pineapple, applesauce and Apple.com"
    assert swap_brand(text, "apple", "samsung") == \
        "@Samsung and #SAMSUNG: samsung's pineapple, applesauce and Samsung.com"
    assert swap_brand("no brand here", "apple", "samsung") == "no brand here"
    assert swap_brand("c++ fans #c++", "c++", "rust") == "rust fans #rust"  # a name is text, not a pattern


def test_brand_swapped_copies_train_beside_their_originals_and_never_name_a_brand_of_the_data(
        tiny_model: Path, tmp_path: Path, fits: list[list[torch.Tensor]],
        encoded: list[tuple[list[str], list[torch.Tensor]]]) -> None:
    texts = [f"#{brand} {text}" for brand in BRANDS for text in TEXTS[:8]]
    groups = [brand for brand in BRANDS for _ in TEXTS[:8]]
    gold = [1] * len(texts)
    metrics = adapt(data_subset(tmp_path / "data", 40), tmp_path / "out",
                    AdaptOptions(top_layers=1, replay=20, epochs=1, learning_rate=1e-3, brand_swaps=1),
                    extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)

    originals = next(states for batch, states in encoded if batch == texts)
    swapped, copies = next((batch, states) for batch, states in encoded
                           if len(batch) == len(texts) and batch != texts)
    for text, copy in zip(texts, swapped, strict=True):
        assert copy.split(" ", 1)[1] == text.split(" ", 1)[1]  # the same tweet ...
        assert copy.split()[0][1:] in SWAP_BRANDS  # ... about another brand, never one of the data's
    # each fold trains on 20 replayed tweets and two brands' 16 tweets twice: as written and with the brand swapped
    assert [len(states) for states in fits] == [20 + 2 * 16] * 3 + [20 + 2 * 24]
    for trained, held in zip(fits[:3], BRANDS, strict=True):
        ids = {id(s) for s in trained}
        for group, original, copy in zip(groups, originals, copies, strict=True):
            assert (id(original) in ids) == (group != held) and (id(copy) in ids) == (group != held)
    assert metrics["adapt"]["brand_swaps"] == 1
    assert metrics["after"]["brand"]["n"] == len(texts)  # the copies are trained on, never scored


def test_seeded_folds_with_brand_swaps_train_every_brand_and_hold_out_each_tweet_and_its_copy_together(
        tiny_model: Path, tmp_path: Path, fits: list[list[torch.Tensor]],
        encoded: list[tuple[list[str], list[torch.Tensor]]]) -> None:
    texts, gold, groups = brand_tweets()
    metrics = adapt(data_subset(tmp_path / "data", 40), tmp_path / "out",
                    AdaptOptions(top_layers=1, replay=20, epochs=1, learning_rate=1e-3, brand_swaps=1, folds=4,
                                 fold_by_group=False),
                    extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)

    originals = next(states for batch, states in encoded if batch == texts)
    copies = next(states for batch, states in encoded if len(batch) == len(texts) and batch != texts)
    assert len(fits) == 4 + 1  # four seeded folds, then the model that ships
    held_out_by = [0] * len(texts)
    for trained in fits[:4]:
        ids = {id(s) for s in trained}
        for index, (original, copy) in enumerate(zip(originals, copies, strict=True)):
            assert (id(original) in ids) == (id(copy) in ids)  # a tweet and its swapped copy share a fold
            held_out_by[index] += id(original) not in ids
        assert {group for group, original in zip(groups, originals, strict=True) if id(original) in ids} == set(BRANDS)
    assert held_out_by == [1] * len(texts)  # each tweet judged by exactly one fold's model
    assert metrics["after"]["brand"]["grouped"] is False and metrics["after"]["brand"]["folds"] == 4
    assert metrics["adapt"]["grouped_folds"] is False
    assert [fold["fold"] for fold in metrics["folds"]] == ["1", "2", "3", "4"]


def test_a_soup_ships_the_average_of_fits_that_differ_only_in_training_seed(
        tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fitted: list[tuple[int, int, list[torch.Tensor]]] = []  # (training seed, states trained on, weights after)
    fit = TopLayers.fit

    def recording_fit(self: TopLayers, states: list[torch.Tensor], labels: list[int], options: AdaptOptions) -> None:
        fit(self, states, labels, options)
        fitted.append((options.seed, len(states), [p.detach().clone() for p in self.parameters()]))

    monkeypatch.setattr(TopLayers, "fit", recording_fit)
    texts, gold, groups = brand_tweets()
    metrics = adapt(data_subset(tmp_path / "data", 40), tmp_path / "out",
                    AdaptOptions(top_layers=1, replay=20, epochs=1, learning_rate=1e-3, seed=5, soup=3),
                    extras=[("brand", texts, gold)], groups=groups, model_dir=tiny_model)

    # three fits of each fold's model and of the model that ships, on the same tweets, with seeds 5, 6 and 7
    assert [(seed, n) for seed, n, _ in fitted] == [(seed, 20 + 16) for _ in BRANDS for seed in (5, 6, 7)] + \
        [(seed, 20 + 24) for seed in (5, 6, 7)]
    last = [weights for _, _, weights in fitted[-3:]]
    assert not torch.equal(last[0][0], last[1][0])  # the seeds make different models ...
    shipped = TopLayers(MeanPoolingBertClassifier.from_pretrained(str(tmp_path / "out" / "model")), 1)
    for param, *ingredients in zip(shipped.parameters(), *last, strict=True):
        torch.testing.assert_close(param, sum(ingredients) / 3)  # ... and the one that ships is their average
    assert metrics["adapt"]["soup"] == 3 and metrics["after"]["brand"]["n"] == len(texts)
