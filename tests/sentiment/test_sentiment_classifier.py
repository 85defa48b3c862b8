"""The classifier on tiny models: labels, order under length sorting, label maps, load errors, ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sentiment_models import TEXTS, make_tiny_classifier

from listener.sentiment.classifier import (
    ModelLoadError,
    Prediction,
    clear_classifier_cache,
    get_classifier,
    load_classifier,
)
from listener.sentiment.labels import LABELS


def test_batch_gives_labels_and_confidences_in_input_order(tiny_model: Path) -> None:
    classifier = load_classifier(str(tiny_model), batch_size=4, device="cpu")
    batch = classifier.classify(TEXTS)

    assert len(batch) == len(TEXTS)
    assert all(isinstance(p, Prediction) and p.label in LABELS for p in batch)
    assert all(1 / 3 <= p.confidence <= 1.0 for p in batch)
    # one at a time nothing is sorted or padded: the batch must agree text by text
    single = [classifier.classify([text])[0] for text in TEXTS]
    assert [p.label for p in batch] == [p.label for p in single]
    assert [p.confidence for p in batch] == pytest.approx([p.confidence for p in single], abs=1e-5)
    assert len({p.label for p in batch}) > 1, "the tiny model should not give every text one label"


def test_probabilities_sum_to_one_and_classify_of_nothing_is_nothing(tiny_model: Path) -> None:
    classifier = load_classifier(str(tiny_model), device="cpu")
    probabilities = classifier.probabilities(TEXTS[:3])
    assert probabilities.shape == (3, len(LABELS))
    assert probabilities.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    assert classifier.classify([]) == []


def test_name_version_and_languages(tiny_model: Path) -> None:
    classifier = load_classifier(str(tiny_model), device="cpu", languages=["en", "es"])
    assert classifier.name == str(tiny_model)
    assert len(classifier.version) == 12 and classifier.version != "unknown"
    assert classifier.languages == frozenset({"en", "es"})


def test_label_map_renames_generic_labels(tiny_base: Path, tmp_path: Path, tiny_model: Path) -> None:
    generic = make_tiny_classifier(tiny_base, tmp_path / "generic", id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ModelLoadError) as error:
        load_classifier(str(generic), device="cpu")
    assert "label_0" in str(error.value) and "label_map" in str(error.value)

    mapped = load_classifier(
        str(generic), device="cpu", label_map={"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"}
    )
    named = load_classifier(str(tiny_model), device="cpu")  # same seed, same weights, named labels
    assert [p.label for p in mapped.classify(TEXTS)] == [p.label for p in named.classify(TEXTS)]


def test_label_map_to_an_unknown_label_fails_at_load(tiny_model: Path) -> None:
    with pytest.raises(ModelLoadError, match="'great'"):
        load_classifier(str(tiny_model), device="cpu", label_map={"positive": "great"})


def test_several_outputs_may_share_a_label(tiny_base: Path, tmp_path: Path) -> None:
    stars = {0: "1 star", 1: "2 stars", 2: "3 stars"}
    model = make_tiny_classifier(tiny_base, tmp_path / "stars", id2label=stars)
    classifier = load_classifier(
        str(model), device="cpu", label_map={"1 star": "negative", "2 stars": "negative", "3 stars": "positive"}
    )
    probabilities = classifier.probabilities(TEXTS)
    assert (probabilities[:, LABELS.index("neutral")] == 0).all()
    assert {p.label for p in classifier.classify(TEXTS)} <= {"negative", "positive"}


def test_missing_model_path_is_a_one_line_error_naming_it() -> None:
    with pytest.raises(ModelLoadError) as error:
        load_classifier("/no/such/dir")
    message = str(error.value)
    assert "\n" not in message
    assert "'/no/such/dir'" in message and message.startswith("sentiment.model:")


def test_unknown_hub_id_offline_is_a_one_line_error() -> None:
    with pytest.raises(ModelLoadError) as error:
        load_classifier("harken-test/no-such-model", device="cpu")
    message = str(error.value)
    assert "\n" not in message
    assert "'harken-test/no-such-model'" in message and "offline" in message


def test_directory_that_is_not_a_model_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot load"):
        load_classifier(str(tmp_path), device="cpu")


@pytest.mark.parametrize("kind", ["torch", "onnx"])
def test_empty_emoji_and_huge_texts_classify(kind: str, tiny_model: Path, tiny_onnx: Path) -> None:
    classifier = load_classifier(str(tiny_model if kind == "torch" else tiny_onnx), device="cpu")
    huge = "so much to say about this brand " * 3300  # about 100 kB
    assert len(huge) > 100_000
    predictions = classifier.classify(["", "😀🔥🙏", huge, "   "])
    assert len(predictions) == 4
    assert all(p.label in LABELS for p in predictions)


def test_onnx_gives_the_same_predictions_as_torch(tiny_model: Path, tiny_onnx: Path) -> None:
    torch_classifier = load_classifier(str(tiny_model), device="cpu", batch_size=5)
    onnx_classifier = load_classifier(str(tiny_onnx), batch_size=5, threads=2)
    expected = torch_classifier.probabilities(TEXTS)
    got = onnx_classifier.probabilities(TEXTS)
    assert got.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()
    assert got == pytest.approx(expected, abs=1e-4)
    assert onnx_classifier.version == torch_classifier.version or len(onnx_classifier.version) == 12


def test_onnx_thread_strategies_agree(tiny_onnx: Path) -> None:
    parallel = load_classifier(str(tiny_onnx), batch_size=3, threads=2, parallel_batches=True)
    sequential = load_classifier(str(tiny_onnx), batch_size=3, threads=2, parallel_batches=False)
    assert parallel.backend.workers == 2 and sequential.backend.workers == 1
    assert parallel.probabilities(TEXTS) == pytest.approx(sequential.probabilities(TEXTS), abs=1e-6)


def test_normalisation_follows_the_model_config(tiny_base: Path, tmp_path: Path) -> None:
    harken = load_classifier(str(make_tiny_classifier(tiny_base, tmp_path / "h", normalise=True)), device="cpu")
    plain = load_classifier(str(make_tiny_classifier(tiny_base, tmp_path / "p")), device="cpu")
    raw, masked = "@brandfan loving it https://t.co/xyz", "@user loving it"
    assert harken.normalise and not plain.normalise
    h = harken.probabilities([raw, masked])
    p = plain.probabilities([raw, masked])
    assert h[0] == pytest.approx(h[1], abs=1e-6)
    assert not np.allclose(p[0], p[1], atol=1e-6)


def test_get_classifier_loads_once_per_settings(tiny_model: Path) -> None:
    clear_classifier_cache()
    first = get_classifier(str(tiny_model), device="cpu", label_map={"positive": "positive"})
    again = get_classifier(str(tiny_model), device="cpu", label_map=(("positive", "positive"),))
    other = get_classifier(str(tiny_model), device="cpu", batch_size=8)
    assert first is again
    assert other is not first
    clear_classifier_cache()


def test_max_length_is_capped_by_the_model(tiny_model: Path, tmp_path: Path) -> None:
    classifier = load_classifier(str(tiny_model), device="cpu", max_length=512)
    config = json.loads((tiny_model / "config.json").read_text())
    assert classifier.max_length == config["max_position_embeddings"] == 128


def test_repeated_texts_get_the_same_prediction_in_place(tiny_onnx: Path) -> None:
    classifier = load_classifier(str(tiny_onnx), batch_size=2)
    texts = [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[2], TEXTS[1], TEXTS[0]]
    together = classifier.probabilities(texts)
    apart = classifier.probabilities(TEXTS[:3])
    assert together == pytest.approx(apart[[0, 1, 0, 2, 1, 0]], abs=1e-6)
