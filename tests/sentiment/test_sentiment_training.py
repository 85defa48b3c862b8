"""Training details that decide what can ship: which embedding rows move, per-layer learning rates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from sentiment_models import DATA, data_subset

from listener.sentiment.modeling import MeanPoolingBertClassifier
from listener.sentiment.training import TrainingOptions, bf16_supported, parameter_groups, read_split, train

WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"


@pytest.mark.parametrize("bf16", [False, True])
def test_training_moves_only_the_embedding_rows_of_tokens_it_saw(tiny_base: Path, tmp_path: Path,
                                                                 bf16: bool) -> None:
    from transformers import AutoTokenizer

    from listener.sentiment.text import normalise_for_model

    if bf16 and not bf16_supported():
        pytest.skip("this CPU has no native bfloat16")
    data = data_subset(tmp_path / "data", 64)
    options = TrainingOptions(epochs=2, batch_size=16, learning_rate=1e-3, seed=3, bf16=bf16,
                              train_word_embeddings=True, layer_decay=0.8, save_checkpoints=True)
    metrics = train(data, tmp_path / "out", tiny_base, options, progress=lambda _: None)
    assert metrics["options"]["bf16"] is bf16 and metrics["options"]["train_word_embeddings"] is True

    texts, _ = read_split(data, "train")
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_base))
    seen = {t for ids in tokenizer([normalise_for_model(x) for x in texts])["input_ids"] for t in ids}
    base = load_file(str(tiny_base / "model.safetensors"))[WORD_EMBEDDINGS.removeprefix("bert.")]
    # the saved model and every checkpoint, raw and moving average alike
    candidates = [load_file(str(tmp_path / "out" / "model" / "model.safetensors"))[WORD_EMBEDDINGS]]
    candidates += [load_file(str(path))[WORD_EMBEDDINGS]
                   for path in sorted((tmp_path / "out" / "checkpoints").glob("epoch*-*/model.safetensors"))]
    assert len(candidates) == 5
    for weights in candidates:
        moved = {int(i) for i in (weights != base).any(dim=1).nonzero().flatten()}
        assert moved == seen


def test_frozen_word_embeddings_stay_the_base(tiny_base: Path, tmp_path: Path) -> None:
    data = data_subset(tmp_path / "data", 32)
    train(data, tmp_path / "out", tiny_base, TrainingOptions(epochs=1, batch_size=16, train_word_embeddings=False),
          progress=lambda _: None)
    saved = load_file(str(tmp_path / "out" / "model" / "model.safetensors"))[WORD_EMBEDDINGS]
    base = load_file(str(tiny_base / "model.safetensors"))[WORD_EMBEDDINGS.removeprefix("bert.")]
    assert torch.equal(saved, base)
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["options"]["train_word_embeddings"] is False


def test_layer_decay_scales_the_learning_rate_per_layer(tiny_base: Path) -> None:
    model = MeanPoolingBertClassifier.from_pretrained(str(tiny_base), num_labels=3)  # 2 layers
    groups = parameter_groups(model, learning_rate=1e-4, weight_decay=0.01, layer_decay=0.5)
    by_param = {id(p): g for g in groups for p in g["params"]}
    named = dict(model.named_parameters())

    def rate(name: str) -> float:
        return by_param[id(named[name])]["lr"]

    assert rate("classifier.weight") == pytest.approx(1e-4)
    assert rate("bert.encoder.layer.1.output.dense.weight") == pytest.approx(5e-5)
    assert rate("bert.encoder.layer.0.output.dense.weight") == pytest.approx(2.5e-5)
    assert rate(WORD_EMBEDDINGS) == pytest.approx(1.25e-5)
    # no weight decay where it would move untouched rows or fight normalisation
    assert by_param[id(named[WORD_EMBEDDINGS])]["weight_decay"] == 0.0
    assert by_param[id(named["bert.encoder.layer.0.output.LayerNorm.weight"])]["weight_decay"] == 0.0
    assert by_param[id(named["bert.encoder.layer.0.output.dense.weight"])]["weight_decay"] == 0.01
    assert sum(len(g["params"]) for g in groups) == len(named)


def test_a_student_learns_its_teachers_labels(tiny_base: Path, tiny_model: Path, tmp_path: Path) -> None:
    """With the loss on the teacher's probabilities the student copies the teacher; without, the gold labels.

    The stand-in teacher knows nothing of sentiment, so the two are told apart.
    Validation holds the same tweets labelled by the teacher, so that checkpoint
    selection looks for agreement with it.
    """
    from listener.sentiment.classifier import load_classifier

    texts, gold = read_split(DATA, "train", limit=64)
    teacher = load_classifier(str(tiny_model), device="cpu").probabilities(texts).argmax(axis=1)
    assert (teacher == gold).mean() < 0.5
    data = tmp_path / "data"
    data.mkdir()
    for split, labels in (("train", gold), ("val", teacher.tolist())):
        (data / f"{split}_text.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
        (data / f"{split}_labels.txt").write_text("\n".join(map(str, labels)) + "\n", encoding="utf-8")

    def agreement_with_teacher(distill_weight: float) -> float:
        options = TrainingOptions(epochs=30, batch_size=16, learning_rate=5e-3, warmup_fraction=0.0, seed=5,
                                  teachers=(str(tiny_model),), distill_weight=distill_weight)
        out = tmp_path / f"student-{distill_weight}"
        train(data, out, tiny_base, options, progress=lambda _: None)
        student = load_classifier(str(out / "model"), device="cpu").probabilities(texts).argmax(axis=1)
        return float((student == teacher).mean())

    assert agreement_with_teacher(1.0) >= 0.85
    assert agreement_with_teacher(0.0) < 0.7


def test_soup_records_a_checkpoint_member_with_its_own_val_figure(tmp_path: Path) -> None:
    from listener.sentiment.training import soup_metrics

    run = tmp_path / "run"
    (run / "checkpoints" / "epoch2-raw").mkdir(parents=True)
    (run / "model").mkdir()
    history = [{"epoch": 2, "weights": "raw", "macro_recall": 0.74},
               {"epoch": 2, "weights": "ema", "macro_recall": 0.73}]
    (run / "metrics.json").write_text(json.dumps({"selected": "epoch 2 ema", "val": {"macro_recall": 0.73},
                                                  "history": history, "options": {"seed": 13}, "seconds": 1.0}))
    val = {"macro_recall": 0.75, "accuracy": 0.7, "per_class_recall": {}, "n": 2, "texts_per_second": 9.0}
    metrics = soup_metrics([run / "checkpoints" / "epoch2-raw", run / "model"], val)
    checkpoint, selected = metrics["members"]
    assert (checkpoint["selected"], checkpoint["val_macro_recall"], checkpoint["options"]) == ("epoch2-raw", 0.74,
                                                                                            {"seed": 13})
    assert (selected["selected"], selected["val_macro_recall"]) == ("epoch 2 ema", 0.73)
    assert metrics["val"] == {"macro_recall": 0.75, "accuracy": 0.7, "per_class_recall": {}, "n": 2}
