"""Staff corrections close the loop: a fixed split, training on one part, before/after on the other.

A tiny model (2 layers of width 32) trains in seconds on 64 TweetEval tweets plus
the corrections. Each corrected mention is written with words of its own that
neither the tweets nor any other mention use, so the trained weights themselves
show what was trained on: training moves exactly the word-embedding rows of tokens
it saw (tests/sentiment/test_sentiment_training.py), so the held-back mentions'
rows must be the base's and the training mentions' rows must have moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from safetensors.torch import load_file
from sentiment_models import data_subset
from sqlalchemy.engine import Engine
from sqlmodel import Session
from transformers import PreTrainedTokenizerBase
from typer.testing import CliRunner

from listener.sentiment.classifier import load_classifier
from listener.sentiment.corrections import (
    CorrectedExample,
    correct_label,
    correction_split,
    is_held_back,
    split_corrections,
)
from listener.sentiment.evaluation import evaluate
from listener.sentiment.labels import LABELS
from listener.sentiment.training import TrainingOptions, read_split, train
from responders.cli import app
from tests.responders.helpers import add_mention

WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight"
WORDS_PER_MENTION = 3
# The held-back mention ids among 1..40, as the split has always made them.
PINNED_HELD_BACK = [2, 15, 16, 18, 19, 21, 22, 35, 38]


def _unseen_words(tokenizer: PreTrainedTokenizerBase, data: Path, count: int) -> list[str]:
    """``count`` whole words of the vocabulary that no tweet of ``data`` (train or val) contains."""
    seen: set[int] = set()
    for split in ("train", "val"):
        texts, _ = read_split(data, split)
        seen.update(t for ids in tokenizer(texts)["input_ids"] for t in ids)
    words = sorted(w for w, i in tokenizer.vocab.items()
                   if w.isascii() and w.isalpha() and w.islower() and len(w) >= 6 and i not in seen)
    step = len(words) // count
    return words[::step][:count]


def _correct_mentions(engine: Engine, texts: list[str], labels: list[int], by: str = "pat@lumen.test") -> list[int]:
    """One stored mention per text, each corrected by a person to its label; their ids."""
    ids = [add_mention(engine, text, sentiment="neutral", confidence=0.5).id for text in texts]
    with Session(engine) as session:
        for mention_id, label in zip(ids, labels, strict=True):
            correct_label(session, mention_id, LABELS[label], by)  # type: ignore[arg-type]
        session.commit()
    return ids  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Training on one thread: on a busy machine more threads only wait for each other."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def corrected(sqlite_engine: Engine, tiny_base: Path, tmp_path: Path) -> tuple[Path, dict[int, list[str]]]:
    """A 64-tweet data directory and 40 corrected mentions, each of words of its own: ({mention id: its words})."""
    from transformers import AutoTokenizer

    data = data_subset(tmp_path / "data", 64)
    words = _unseen_words(AutoTokenizer.from_pretrained(str(tiny_base)), data, 40 * WORDS_PER_MENTION)
    texts = [" ".join(words[i * WORDS_PER_MENTION:(i + 1) * WORDS_PER_MENTION]) for i in range(40)]
    ids = _correct_mentions(sqlite_engine, texts, [i % 3 for i in range(40)])
    return data, {mention_id: text.split() for mention_id, text in zip(ids, texts, strict=True)}


def test_the_split_is_fixed_by_the_mention_id_and_holds_back_a_fifth() -> None:
    held = [mention_id for mention_id in range(1, 5001) if is_held_back(mention_id)]
    assert 0.17 < len(held) / 5000 < 0.23
    # Pinned: a release that moved mentions between the sides would score models on what they trained on.
    assert [mention_id for mention_id in range(1, 41) if is_held_back(mention_id)] == PINNED_HELD_BACK
    examples = [CorrectedExample(mention_id, f"text {mention_id}", mention_id % 3) for mention_id in range(1, 201)]
    split = split_corrections(examples)
    assert {e.mention_id for e in split.training}.isdisjoint(e.mention_id for e in split.held_back)
    assert sorted(split.training + split.held_back, key=lambda e: e.mention_id) == examples



def test_adding_and_redoing_corrections_moves_no_mention_to_the_other_side(sqlite_engine: Engine) -> None:
    first = _correct_mentions(sqlite_engine, [f"first batch {i}" for i in range(30)], [0] * 30)
    with Session(sqlite_engine) as session:
        before = correction_split(session)
    assert before.total == 30 and before.held_back and before.training
    later = _correct_mentions(sqlite_engine, [f"second batch {i}" for i in range(30)], [1] * 30, by="dana@lumen.test")
    with Session(sqlite_engine) as session:
        for mention_id in first[:10]:  # corrected again: the latest correction is the truth
            correct_label(session, mention_id, "positive", "dana@lumen.test")
        session.commit()
        after = correction_split(session)

    assert after.total == 60  # a mention corrected twice is one example
    assert {e.mention_id for e in after.training} | {e.mention_id for e in after.held_back} == set(first + later)
    assert {e.mention_id for e in after.held_back} & set(first) == {e.mention_id for e in before.held_back}
    assert {e.mention_id for e in after.training} & set(first) == {e.mention_id for e in before.training}
    labels = {e.mention_id: e.label for e in after.training + after.held_back}
    assert [labels[i] for i in first] == [2] * 10 + [0] * 20
    assert [labels[i] for i in later] == [1] * 30


def _embedding_rows_moved(model_dir: Path, base_dir: Path, tokenizer: PreTrainedTokenizerBase,
                          words: list[str]) -> list[bool]:
    """For each word, whether training changed its row of the word embeddings."""
    trained = load_file(str(model_dir / "model.safetensors"))[WORD_EMBEDDINGS]
    base = load_file(str(base_dir / "model.safetensors"))[WORD_EMBEDDINGS.removeprefix("bert.")]
    return [bool((trained[i] != base[i]).any()) for i in tokenizer.convert_tokens_to_ids(words)]


def test_training_learns_the_training_corrections_and_never_sees_the_held_back(
    sqlite_engine: Engine, tiny_base: Path, corrected: tuple[Path, dict[int, list[str]]], tmp_path: Path
) -> None:
    from transformers import AutoTokenizer

    data, words = corrected
    with Session(sqlite_engine) as session:
        split = correction_split(session)
    assert len(split.training) >= 25 and len(split.held_back) >= 4
    # One epoch without weight averaging: the only candidate is the trained weights themselves, so what is
    # checked below does not hang on which checkpoint 64 validation tweets happen to prefer.
    options = TrainingOptions(epochs=1, batch_size=16, learning_rate=1e-2, warmup_fraction=0.0, ema_decay=0.0,
                              seed=5, corrections_repeat=10, threads=1)
    plain = train(data, tmp_path / "plain", tiny_base, options, progress=lambda _: None)
    looped = train(data, tmp_path / "looped", tiny_base, options, progress=lambda _: None,
                   corrections=split.training)

    assert plain["corrections"] == {"used": 0, "repeat": 0, "mention_ids": []}
    assert looped["corrections"] == {"used": len(split.training), "repeat": 10,
                                     "mention_ids": [e.mention_id for e in split.training]}
    assert looped["train_examples"] == 64 + 10 * len(split.training)
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_base))
    model_dir = tmp_path / "looped" / "model"
    for example in split.training:
        assert all(_embedding_rows_moved(model_dir, tiny_base, tokenizer, words[example.mention_id]))
    for example in split.held_back:
        assert not any(_embedding_rows_moved(model_dir, tiny_base, tokenizer, words[example.mention_id]))

    def agreement(run: str) -> float:
        predicted = load_classifier(str(tmp_path / run / "model")).classify([e.text for e in split.training])
        return sum(p.label == LABELS[e.label] for p, e in zip(predicted, split.training, strict=True)) / len(
            split.training)

    # The corrected labels are arbitrary (i % 3): only training on them can agree with them.
    assert agreement("plain") <= 0.5
    assert agreement("looped") >= 0.9


def test_train_and_eval_corrections_on_the_command_line(
    sqlite_url: str, sqlite_engine: Engine, tiny_base: Path, tiny_model: Path,
    corrected: tuple[Path, dict[int, list[str]]], tmp_path: Path,
) -> None:
    data, _ = corrected
    runner = CliRunner()
    env = {"HARKEN_DATABASE__URL": sqlite_url, "HARKEN_SENTIMENT__MODEL": str(tiny_model)}
    out = tmp_path / "run"
    trained = runner.invoke(app, ["sentiment", "train", "--data", str(data), "--out", str(out), "--base",
                                  str(tiny_base), "--corrections", "--corrections-repeat", "2", "--epochs", "2",
                                  "--batch-size", "16", "--fp32"], env=env)
    assert trained.exit_code == 0, trained.output
    with Session(sqlite_engine) as session:
        engine_split = correction_split(session)
    assert f"adding {len(engine_split.training)} corrected mentions x2" in trained.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["corrections"]["mention_ids"] == [e.mention_id for e in engine_split.training]

    held = len(engine_split.held_back)
    too_few = runner.invoke(app, ["sentiment", "eval", "--corrections", "--after", str(out)], env=env)
    assert too_few.exit_code == 1
    assert f"only {held} of 40 corrected mentions are held back from training" in too_few.output
    assert "macro-R" not in too_few.output

    table = runner.invoke(app, ["sentiment", "eval", "--corrections", "--after", str(out), "--min-held-back",
                                str(held)], env=env)
    assert table.exit_code == 0, table.output
    assert f"40 corrected mentions: {40 - held} for training, {held} held back and scored here" in table.output
    rows = {line.split()[0]: line.split()[1:] for line in table.output.splitlines()[3:] if line.strip()}
    texts = [e.text for e in engine_split.held_back]
    gold = [e.label for e in engine_split.held_back]
    for name, model in (("before", tiny_model), ("after", out / "model")):
        expected = evaluate(load_classifier(str(model)), texts, gold)
        assert rows[name][:3] == [str(held), f"{expected['macro_recall'] * 100:.2f}",
                                  f"{expected['accuracy'] * 100:.2f}"], table.output



def test_the_command_line_says_plainly_when_there_is_nothing_to_train_on(sqlite_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"HARKEN_DATABASE__URL": sqlite_url}
    data = tmp_path / "data"  # never read: the command stops before training
    nothing = runner.invoke(app, ["sentiment", "train", "--data", str(data), "--out", str(tmp_path / "out"),
                                  "--corrections"], env=env)
    assert nothing.exit_code == 1
    assert "none of the 0 corrected mentions is in the training part yet" in nothing.output
    assert not (tmp_path / "out").exists()
    assert runner.invoke(app, ["sentiment", "eval", "--corrections"], env=env).output.strip() == (
        "harken: no corrected mentions yet")


def test_correcting_on_the_command_line_is_versioned_and_audited(sqlite_url: str, sqlite_engine: Engine) -> None:
    from sqlalchemy import select

    from listener.models import AuditEvent, Mention

    mention = add_mention(sqlite_engine, "the shop on main street closes at six", sentiment="negative",
                          confidence=0.7)
    corrected = CliRunner().invoke(app, ["sentiment", "correct", str(mention.id), "Neutral", "--by", "pat@lumen.test"],
                                   env={"HARKEN_DATABASE__URL": sqlite_url})
    assert corrected.exit_code == 0, corrected.output
    assert f"mention {mention.id}: negative -> neutral (by pat@lumen.test)" in corrected.output
    with Session(sqlite_engine) as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "mention.sentiment")).scalar_one()
        assert (event.actor, event.before, event.after) == ("pat@lumen.test", {"sentiment": "negative"},
                                                            {"sentiment": "neutral"})
        assert session.get(Mention, mention.id).version == mention.version + 1  # type: ignore[union-attr]
        assert [(e.mention_id, e.label) for e in correction_split(session).training + correction_split(
            session).held_back] == [(mention.id, LABELS.index("neutral"))]
