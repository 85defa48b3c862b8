"""The default model's delta round trip, build, lazy first use and ONNX export, on a tiny model."""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from sentiment_models import TEXTS, make_tiny_classifier

from listener.sentiment import default_model
from listener.sentiment.classifier import ModelLoadError, load_classifier
from listener.sentiment.default_model import DefaultModelError, build, make_delta, reconstruct

# the package's ``build`` attribute is the function, so reach the module itself by name
build_module = importlib.import_module("listener.sentiment.default_model.build")
WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def package(tiny_model: Path, tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for the default-model package directory, holding the tiny model's delta."""
    out = tmp_path_factory.mktemp("default-model")
    (tiny_model.parent / "metrics.json").write_text(json.dumps({"val": {"macro_recall": 0.5}}))
    make_delta(tiny_model, out, base_dir=tiny_base)
    return out


@pytest.fixture(scope="module")
def built(package: Path, tiny_base: Path) -> Path:
    return build(source_dir=package, base_dir=tiny_base)


def test_delta_holds_int8_changes_and_only_the_embedding_rows_that_moved(package: Path, tiny_model: Path,
                                                                         tiny_base: Path) -> None:
    finetuned = load_file(str(tiny_model / "model.safetensors"))
    base = load_file(str(tiny_base / "model.safetensors"))
    moved_rows = (finetuned[WORD_EMBEDDINGS] != base[WORD_EMBEDDINGS.removeprefix("bert.")]).any(dim=1)
    assert 0 < int(moved_rows.sum()) < 200  # the tokens of a dozen texts, out of 30,522
    with safe_open(str(package / "delta.safetensors"), "pt") as handle:
        keys = set(handle.keys())
        query = "bert.encoder.layer.0.attention.self.query.weight"
        assert handle.get_tensor(query).dtype == torch.int8
        assert handle.get_tensor(query + ":scale").shape == (32,)
        assert handle.get_tensor("bert.encoder.layer.0.attention.self.query.bias").dtype == torch.float32
        assert handle.get_tensor("classifier.weight").dtype == torch.float32
        rows = handle.get_tensor(WORD_EMBEDDINGS + ":rows")
        assert rows.tolist() == moved_rows.nonzero().flatten().tolist()
        assert handle.get_tensor(WORD_EMBEDDINGS).shape == (len(rows), 32)
        assert json.loads(handle.metadata()["harken"])["format"] == "harken-delta-2"
    assert {key.split(":")[0] for key in keys} == set(finetuned)
    config = json.loads((package / "config.json").read_text())
    assert config["harken_normalise"] is True
    assert len(config["_harken_version"]) == 12
    assert config["architectures"] == ["MeanPoolingBertClassifier"]
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"}
    assert json.loads((package / "metrics.json").read_text()) == {"val": {"macro_recall": 0.5}}


def test_the_same_model_gives_the_same_delta_bytes(
    package: Path, tiny_model: Path, tiny_base: Path, tmp_path: Path
) -> None:
    """The version is the delta's hash, so it must not change when the model does not."""
    again = make_delta(tiny_model, tmp_path, base_dir=tiny_base)
    assert again.read_bytes() == (package / "delta.safetensors").read_bytes()
    assert (tmp_path / "config.json").read_text() == (package / "config.json").read_text()


def test_build_reproduces_the_finetuned_weights(built: Path, tiny_model: Path, tiny_base: Path) -> None:
    finetuned = load_file(str(tiny_model / "model.safetensors"))
    rebuilt = load_file(str(built / "torch" / "model.safetensors"))
    base = load_file(str(tiny_base / "model.safetensors"))
    assert set(rebuilt) == set(finetuned)
    for name, tensor in finetuned.items():
        base_tensor = base.get(name.removeprefix("bert."))
        if base_tensor is None:  # the head is stored whole
            assert torch.equal(rebuilt[name], tensor), name
            continue
        change = tensor - base_tensor
        error = (rebuilt[name] - tensor).abs()
        if change.dim() == 2:
            # int8 with a scale per row: within half a step, 1/254 of the row's largest change
            tolerance = change.abs().amax(dim=1, keepdim=True) / 254 + 1e-7
        else:
            tolerance = torch.full_like(change, 1e-7)
        assert bool((error <= tolerance).all()), name
    unmoved = (finetuned[WORD_EMBEDDINGS] == base[WORD_EMBEDDINGS.removeprefix("bert.")]).all(dim=1)
    assert torch.equal(rebuilt[WORD_EMBEDDINGS][unmoved], finetuned[WORD_EMBEDDINGS][unmoved])


def test_build_layout_and_onnx_predictions_match_torch(built: Path) -> None:
    assert sorted(p.name for p in (built / "onnx").glob("*.onnx")) == ["model.onnx"]
    assert (built / "onnx" / "tokenizer.json").is_file() and (built / "torch" / "tokenizer.json").is_file()
    assert not list(built.parent.glob(".build-*"))
    int8 = load_classifier(str(built / "onnx"))
    fp32 = load_classifier(str(built / "torch"), device="cpu")
    assert int8.normalise and fp32.normalise
    assert int8.version == fp32.version == json.loads((built / "onnx" / "config.json").read_text())["_harken_version"]
    got, expected = int8.probabilities(TEXTS), fp32.probabilities(TEXTS)
    assert got.argmax(axis=1).tolist() == expected.argmax(axis=1).tolist()
    assert np.abs(got - expected).max() < 0.1


def test_build_is_skipped_when_up_to_date_and_redone_when_forced(built: Path, package: Path, tiny_base: Path) -> None:
    onnx_file = built / "onnx" / "model.onnx"
    before = onnx_file.stat().st_mtime_ns
    assert build(source_dir=package, base_dir=tiny_base) == built
    assert onnx_file.stat().st_mtime_ns == before
    build(source_dir=package, base_dir=tiny_base, force=True)
    assert (built / "onnx" / "model.onnx").stat().st_mtime_ns != before


def test_build_is_redone_when_the_delta_changes(
    tiny_base: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = make_tiny_classifier(tiny_base, tmp_path / "first", seed=1)
    second = make_tiny_classifier(tiny_base, tmp_path / "second", seed=2)
    package = tmp_path / "pkg"
    make_delta(first, package, base_dir=tiny_base)
    target = build(source_dir=package, base_dir=tiny_base)
    version_one = load_classifier(str(target / "onnx")).version
    make_delta(second, package, base_dir=tiny_base)
    target = build(source_dir=package, base_dir=tiny_base)
    assert load_classifier(str(target / "onnx")).version != version_one


def test_delta_made_against_other_base_weights_is_refused(package: Path, tmp_path: Path, tiny_base: Path) -> None:
    other_base = tmp_path / "other-base"
    shutil.copytree(tiny_base, other_base)
    weights = load_file(str(other_base / "model.safetensors"))
    weights["encoder.layer.0.output.dense.bias"] = weights["encoder.layer.0.output.dense.bias"] + 1
    save_file(weights, str(other_base / "model.safetensors"))
    with pytest.raises(DefaultModelError, match="different base weights"):
        reconstruct(package, other_base)


def test_default_setting_builds_on_first_use(
    package: Path, tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "package"
    shutil.copytree(package, source, ignore=shutil.ignore_patterns("build"))
    monkeypatch.setattr(build_module, "PACKAGE_DIR", source)
    monkeypatch.setattr(build_module, "base_model_dir", lambda: tiny_base)
    with caplog.at_level(logging.INFO, logger=build_module.__name__):
        classifier = load_classifier("default")
    assert [r.message for r in caplog.records if "building" in r.message] != []
    assert default_model.default_model_path() == source / "build" / "onnx"
    assert classifier.name == "default"
    assert classifier.version == json.loads((source / "config.json").read_text())["_harken_version"]
    assert len(classifier.classify(TEXTS)) == len(TEXTS)


def test_default_setting_without_a_delta_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_module, "PACKAGE_DIR", tmp_path)
    with pytest.raises(ModelLoadError) as error:
        load_classifier("default")
    assert str(error.value).startswith("sentiment.model: 'default': ")
    assert "delta.safetensors" in str(error.value) and "\n" not in str(error.value)


def test_optimum_loads_the_built_onnx_directory(built: Path) -> None:
    """The build is a standard optimum directory, whatever loader Harken itself uses."""
    from optimum.onnxruntime import ORTModelForSequenceClassification

    model = ORTModelForSequenceClassification.from_pretrained(built / "onnx", local_files_only=True)
    ids = np.array([[101, 7592, 102]], dtype=np.int64)
    logits = model(input_ids=ids, attention_mask=np.ones_like(ids)).logits
    assert np.asarray(logits).shape == (1, 3)


def test_int8_results_do_not_depend_on_batch_composition(built: Path) -> None:
    """A text's probabilities are the same alone, in a sorted batch, or padded beside a long neighbour.

    Dynamic int8 quantisation computed one activation scale over the whole batch
    tensor, padding included, so a mention's label could change with the mentions
    classified beside it.
    """
    int8 = load_classifier(str(built / "onnx"), batch_size=32)
    long_neighbour = "the signal keeps dropping and nobody at the store could tell me why " * 3
    together = int8.probabilities(TEXTS)
    alone = np.vstack([int8.probabilities([text]) for text in TEXTS])
    beside_long = np.vstack([int8.probabilities([text, long_neighbour])[0] for text in TEXTS])
    assert np.abs(together - alone).max() < 1e-5
    assert np.abs(beside_long - alone).max() < 1e-5
