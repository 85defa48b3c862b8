"""Sentiment in the processing stage and on the command line, with a tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sentiment_models import data_subset, store
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import Mention, SentimentCorrection
from listener.processing import Processor
from listener.sentiment.classifier import load_classifier
from listener.sentiment.corrections import CorrectionError, correct_label
from listener.sentiment.labels import LABELS
from listener.sentiment.stage import SentimentStep
from listener.settings import SentimentSettings

TEXTS = {
    "en": "The new plan is great value and the support team was lovely",
    "es": "El servicio al cliente fue terrible y nadie me ayudó con la factura",
    "ja": "電波が全然つながらない、最悪です",
    "emoji": "😡😡😡",
    "empty": "",
    "huge": "the signal keeps dropping " * 4000,
}


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "responders.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=600)


def test_batch_gets_labels_confidences_model_and_languages(engine: Engine, tiny_model: Path) -> None:
    ids = store(engine, TEXTS)
    step = SentimentStep(SentimentSettings(model=str(tiny_model)))
    assert Processor(engine, [step]).run_until_empty() == len(TEXTS)
    with Session(engine) as session:
        rows = {m.id: m for m in session.execute(select(Mention)).scalars()}
    english = rows[ids["en"]]
    expected = load_classifier(str(tiny_model)).classify([TEXTS["en"]])[0]
    assert (english.language, english.sentiment_label) == ("en", expected.label)
    assert english.sentiment_confidence == pytest.approx(expected.confidence, abs=1e-5)
    assert english.sentiment_model == str(tiny_model) and english.sentiment_model_version
    assert rows[ids["huge"]].sentiment_label in LABELS  # truncated, not refused
    for key, language in (("es", "es"), ("ja", "ja"), ("emoji", None), ("empty", None)):
        assert (rows[ids[key]].language, rows[ids[key]].sentiment_label) == (language, "unscored"), key
        assert rows[ids[key]].sentiment_confidence is None
    assert {m.processing_state for m in rows.values()} == {"processed"}


def test_corrections_are_kept_with_who_and_the_old_label(sqlite_engine: Engine) -> None:
    ids = store(sqlite_engine, {"a": "meh"})
    with Session(sqlite_engine) as session:
        mention = session.get(Mention, ids["a"])
        mention.sentiment_label = "neutral"
        session.commit()
        correct_label(session, ids["a"], "Negative", "pat@example.com")
        session.commit()
        with pytest.raises(CorrectionError, match="not one of negative, neutral, positive"):
            correct_label(session, ids["a"], "angry", "pat@example.com")
        row = session.execute(select(SentimentCorrection)).scalar_one()
        assert (row.old_label, row.new_label, row.corrected_by) == ("neutral", "negative", "pat@example.com")
        assert session.get(Mention, ids["a"]).sentiment_label == "negative"


def test_eval_prints_the_exact_figures_as_json(tiny_model: Path, tmp_path: Path) -> None:
    texts = ["I love it", "awful service", "opens at nine", "great", "terrible", "meh"]
    predicted = [LABELS.index(p.label) for p in load_classifier(str(tiny_model)).classify(texts)]
    # Gold agrees with the model on the first four texts only.
    gold = predicted[:4] + [(p + 1) % 3 for p in predicted[4:]]
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "l.txt").write_text("\n".join(LABELS[g] for g in gold) + "\n")
    result = run("sentiment", "eval", "--texts", str(tmp_path / "t.txt"), "--labels", str(tmp_path / "l.txt"),
                 "--json", env={"HARKEN_SENTIMENT__MODEL": str(tiny_model)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    recalls = {}
    for class_id, name in enumerate(LABELS):
        members = [i for i, g in enumerate(gold) if g == class_id]
        if members:
            recalls[name] = sum(predicted[i] == class_id for i in members) / len(members)
    assert figures["n"] == 6
    assert figures["accuracy"] == pytest.approx(4 / 6)
    assert figures["per_class_recall"] == pytest.approx(recalls)
    assert figures["macro_recall"] == pytest.approx(sum(recalls.values()) / len(recalls))
    assert figures["texts_per_second"] > 0


def test_eval_with_a_missing_model_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("hello\n")
    (tmp_path / "l.txt").write_text("1\n")
    result = run("sentiment", "eval", "--texts", str(tmp_path / "t.txt"), "--labels", str(tmp_path / "l.txt"),
                 env={"HARKEN_SENTIMENT__MODEL": "/no/such/model"}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "/no/such/model" in lines[0]


def test_training_command_runs_on_a_200_tweet_subset(tmp_path: Path) -> None:
    data = data_subset(tmp_path / "data", 200)
    result = run("sentiment", "train", "--data", str(data), "--out", str(tmp_path / "out"), "--epochs", "1",
                 "--limit", "200", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["train_examples"] == 200 and metrics["val_examples"] == 200
    assert 0.0 <= metrics["val"]["macro_recall"] <= 1.0
    trained = load_classifier(str(tmp_path / "out" / "model"))
    assert [p.label in LABELS for p in trained.classify(["great phone", "awful"])] == [True, True]


def test_soup_averages_the_weights_of_runs(tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file
    from sentiment_models import make_tiny_classifier

    from listener.sentiment.training import SoupError, average_models

    a = make_tiny_classifier(tiny_base, tmp_path / "a", seed=1)
    b = make_tiny_classifier(tiny_base, tmp_path / "b", seed=2)
    soup = average_models([a, b], tmp_path / "soup")
    wa, wb, ws = (load_file(str(d / "model.safetensors")) for d in (a, b, soup))
    name = "classifier.weight"
    assert ((wa[name] + wb[name]) / 2 - ws[name]).abs().max() < 1e-6
    assert load_classifier(str(soup)).classify(["great phone"])[0].label in LABELS
    with pytest.raises(SoupError, match="at least two"):
        average_models([a], tmp_path / "one")


def test_a_soup_ships_as_a_delta_with_its_members_recorded(tiny_base: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file
    from sentiment_models import make_tiny_classifier

    from listener.sentiment.default_model import make_delta, reconstruct
    from listener.sentiment.training import average_models, soup_metrics

    runs = []
    for seed in (1, 2):
        model_dir = make_tiny_classifier(tiny_base, tmp_path / f"run{seed}" / "model", seed=seed)
        (model_dir.parent / "metrics.json").write_text(json.dumps(
            {"selected": "epoch 2 raw", "val": {"macro_recall": 0.5 + seed / 100}, "options": {"seed": seed}}))
        runs.append(model_dir)
    soup = average_models(runs, tmp_path / "soup")
    val = {"macro_recall": 0.6, "accuracy": 0.7, "per_class_recall": {}, "n": 3, "texts_per_second": 9.0}
    metrics_path = soup / "soup-metrics.json"
    metrics_path.write_text(json.dumps(soup_metrics(runs, val)))
    package = tmp_path / "package"
    make_delta(soup, package, metrics_path=metrics_path, base_dir=tiny_base)

    recorded = json.loads((package / "metrics.json").read_text())
    assert recorded["selected"] == "soup of 2 runs"
    assert recorded["val"] == {"macro_recall": 0.6, "accuracy": 0.7, "per_class_recall": {}, "n": 3}
    assert [(m["selected"], m["val_macro_recall"], m["options"]["seed"]) for m in recorded["members"]] == [
        ("epoch 2 raw", 0.51, 1), ("epoch 2 raw", 0.52, 2)]
    rebuilt = reconstruct(package, tiny_base).state_dict()
    souped = load_file(str(soup / "model.safetensors"))
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert (rebuilt[name] - souped[name]).abs().max() < 1e-3  # float16 delta


def test_installing_a_soup_without_scoring_it_is_refused(tmp_path: Path) -> None:
    """The package's metrics.json would otherwise keep describing the model the soup replaces."""
    result = run("sentiment", "soup", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "soup"),
                 "--install", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "--install needs --data" in result.stderr
    assert not (tmp_path / "soup").exists()


def test_eval_scores_several_sets_in_one_table(tiny_model: Path, tmp_path: Path) -> None:
    texts = ["I love it", "awful service", "opens at nine", "great", "terrible", "meh"]
    predicted = [LABELS[p] for p in (LABELS.index(x.label) for x in load_classifier(str(tiny_model)).classify(texts))]
    wrong = [LABELS[(LABELS.index(p) + 1) % 3] for p in predicted]
    (tmp_path / "t.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "right.txt").write_text("\n".join(predicted) + "\n")
    (tmp_path / "wrong.txt").write_text("\n".join(wrong) + "\n")
    sets = ["--set", f"agrees={tmp_path / 't.txt'}:{tmp_path / 'right.txt'}",
            "--set", f"disagrees={tmp_path / 't.txt'}:{tmp_path / 'wrong.txt'}"]
    env = {"HARKEN_SENTIMENT__MODEL": str(tiny_model)}

    as_json = run("sentiment", "eval", *sets, "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    figures = json.loads(as_json.stdout)
    assert [(f["set"], f["n"], f["accuracy"], f["macro_recall"]) for f in figures] == [
        ("agrees", 6, 1.0, 1.0), ("disagrees", 6, 0.0, 0.0)]

    table = run("sentiment", "eval", *sets, env=env, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert lines[0].split() == ["set", "n", "macro-R", "acc", "R", "neg", "R", "neu", "R", "pos"]
    agrees, disagrees = lines[2].split(), lines[3].split()
    assert agrees[:4] == ["agrees", "6", "100.00", "100.00"]
    assert disagrees[:4] == ["disagrees", "6", "0.00", "0.00"]


def test_eval_set_spec_errors_are_one_clear_line(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("hello\n")
    env = {"HARKEN_SENTIMENT__MODEL": str(tiny_model)}
    malformed = run("sentiment", "eval", "--set", "just-a-name", env=env, cwd=tmp_path)
    assert malformed.returncode == 2 and "NAME=TEXTS:LABELS" in malformed.stderr
    missing = run("sentiment", "eval", "--set", f"a={tmp_path / 't.txt'}:{tmp_path / 'none.txt'}",
                  env=env, cwd=tmp_path)
    assert missing.returncode == 2 and "none.txt does not exist" in missing.stderr


def test_eval_shared_shorthand_names_tweeteval_val_and_sanders(tiny_model: Path, tmp_path: Path) -> None:
    from listener.sentiment.evaluation import shared_set_specs

    data = tmp_path / "data"
    for name, texts_path, labels_path in shared_set_specs(data):
        texts_path.parent.mkdir(parents=True, exist_ok=True)
        texts_path.write_text(f"{name} is fine\n{name} is awful\n")
        labels_path.write_text("1\n0\n")
    result = run("sentiment", "eval", "--shared", str(data), "--json",
                 env={"HARKEN_SENTIMENT__MODEL": str(tiny_model)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [(f["set"], f["n"]) for f in json.loads(result.stdout)] == [("tweeteval-val", 2), ("sanders", 2)]
