"""Fixtures with tiny models made in temporary directories (see ``sentiment_models``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from sentiment_models import copy_tokenizer, make_tiny_base, make_tiny_classifier


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_base(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_model(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fine-tuned model directory as training saves it (labels negative/neutral/positive)."""
    return make_tiny_classifier(tiny_base, tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_onnx(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model exported to ONNX (float32) in a directory with its config and tokenizer."""
    from listener.sentiment.default_model.build import export_onnx
    from listener.sentiment.modeling import MeanPoolingBertClassifier

    out = tmp_path_factory.mktemp("tiny-onnx")
    model = MeanPoolingBertClassifier.from_pretrained(str(tiny_model))
    export_onnx(model, out / "model.onnx")
    shutil.copyfile(tiny_model / "config.json", out / "config.json")
    copy_tokenizer(out)
    return out
