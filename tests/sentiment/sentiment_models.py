"""Tiny sentiment models for tests: all-MiniLM-L6-v2's vocabulary and tokenizer, 2 layers of width 32.

Building, exporting and quantising one takes seconds, so no test needs the real
default model or a model hub.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.collecting import store_page
from listener.models import Mention, Source
from listener.platforms.collector import CollectedMention, Page
from listener.sentiment.default_model.build import TOKENIZER_FILES, base_model_dir
from listener.sentiment.labels import LABELS

TEXTS = [
    "I love this phone, best purchase ever!",
    "worst customer service I have ever had",
    "the store opens at nine tomorrow",
    "ok",
    "@someone thanks for the quick reply http://t.co/abc",
    "Why does the app crash every single time I open it?? fix it please",
    "meh",
    "Absolutely thrilled with the new update, the camera is amazing and the battery lasts all day long",
    "not sure what to think about the new logo",
    "refund. now.",
    "great",
    "terrible terrible terrible",
]


# ``../shared`` beside the checkout; from a git worktree one level deeper (e.g. /work/wt/NAME), the one above it.
DATA = next((folder / "shared" / "data" / "tweeteval-sentiment" for folder in Path(__file__).resolve().parents[3:]
             if (folder / "shared" / "data").is_dir()), Path(__file__).resolve().parents[3] / "shared" / "data"
            / "tweeteval-sentiment")
"""The TweetEval sentiment train and val splits in ``../shared`` (never the test split)."""


def data_subset(target: Path, n: int) -> Path:
    """The first ``n`` tweets of each split of :data:`DATA`, written to ``target``."""
    target.mkdir(parents=True)
    for split in ("train", "val"):
        for kind in ("text", "labels"):
            lines = (DATA / f"{split}_{kind}.txt").read_text(encoding="utf-8").split("\n")[:n]
            (target / f"{split}_{kind}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def copy_tokenizer(target: Path) -> None:
    for name in TOKENIZER_FILES:
        source = base_model_dir() / name
        if source.is_file():
            shutil.copyfile(source, target / name)


def make_tiny_base(path: Path) -> Path:
    """A randomly initialised 2-layer BERT saved like the real base: bare ``BertModel`` keys, with a pooler."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(path))
    copy_tokenizer(path)
    return path


def make_tiny_classifier(
    base_dir: Path,
    path: Path,
    *,
    id2label: dict[int, str] | None = None,
    normalise: bool | None = None,
    seed: int = 1,
) -> Path:
    """A "fine-tuned" ``MeanPoolingBertClassifier``: the base moved a little.

    As in real training, only the word-embedding rows of tokens in the texts
    (:data:`TEXTS`) move; the rest of the matrix keeps the base's values.

    A random head would give every text the same label (mean-pooled vectors of a
    random encoder share a large common part), so the head is centred on
    :data:`TEXTS` and scaled: predictions then differ between texts, with
    margins that int8 quantisation does not flip.
    """
    import torch
    from transformers import AutoTokenizer

    from listener.sentiment.modeling import ARCHITECTURE, MeanPoolingBertClassifier

    torch.manual_seed(seed)
    labels = id2label if id2label is not None else dict(enumerate(LABELS))
    model = MeanPoolingBertClassifier.from_pretrained(
        str(base_dir), num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()}
    ).eval()
    with torch.no_grad():
        encoded = AutoTokenizer.from_pretrained(str(base_dir))(TEXTS, padding=True, return_tensors="pt")
        seen_tokens = encoded["input_ids"].unique()
        for name, param in model.named_parameters():
            if name == "bert.embeddings.word_embeddings.weight":
                param[seen_tokens] += torch.randn(len(seen_tokens), param.shape[1]) * 0.005
            else:
                param.add_(torch.randn_like(param) * 0.02)
        hidden = model.bert(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        centre = pooled.mean(0)
        weight = torch.randn(len(labels), pooled.shape[1])
        scale = 4.0 / float(((pooled - centre) @ weight.T).std())
        model.classifier.weight.copy_(weight * scale)
        model.classifier.bias.copy_(-(centre @ weight.T) * scale)
    model.config.architectures = [ARCHITECTURE]
    if normalise is not None:
        model.config.harken_normalise = normalise
    model.save_pretrained(str(path))
    copy_tokenizer(path)
    return path


TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz"]
"""A vocabulary of single letters: any lower-cased Latin text tokenises (accents are stripped), the rest is [UNK]."""


def make_constant_classifier(path: Path, label: str, *, label_names: Sequence[str] = LABELS) -> Path:
    """A tiny ``BertForSequenceClassification`` with its own tiny tokenizer that always answers ``label``.

    The classifier's weights are zero and its bias favours ``label``'s output, so
    whatever the text, the answer tells which model gave it. ``label_names`` are
    the names the model's config gives its outputs (e.g. ``LABEL_0``...), in the
    order of :data:`LABELS`.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True).save_pretrained(str(path))
    names = dict(enumerate(label_names))
    config = BertConfig(
        vocab_size=len(TINY_VOCAB), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
        intermediate_size=16, max_position_embeddings=64, num_labels=len(names),
        id2label=names, label2id={name: index for index, name in names.items()},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([5.0 if i == LABELS.index(label) else 0.0 for i in names]))
    model.save_pretrained(str(path))
    return path


def store(engine: Engine, texts: dict[str, str]) -> dict[str, int]:
    """Store ``texts`` as X mentions of one source; their mention ids, by the keys of ``texts``."""
    with Session(engine, expire_on_commit=False) as session:
        source = Source(name="x:mentions", kind="x_mentions", platform="x")
        session.add(source)
        session.commit()
        mentions = [
            CollectedMention("x", str(i), "tweet", text, f"u{i}", datetime(2026, 11, 1, tzinfo=UTC), {})
            for i, text in enumerate(texts.values())
        ]
        store_page(session, source, Page(mentions=mentions))
        session.commit()
        ids = {mention.text: mention.id for mention in session.execute(select(Mention)).scalars()}
    return {key: ids[text] for key, text in texts.items()}
