"""Past approved replies suggested again for similar mentions (all-MiniLM-L6-v2, offline), embeddings stored once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from listener.models import MentionEmbedding, Reply, Suggestion
from responders.similar import Encoder, generalise, get_encoder
from tests.responders.helpers import add_mention, make_settings, process


class CountingEncoder:
    """The real encoder, counting the texts it embeds."""

    def __init__(self) -> None:
        self.inner = get_encoder()
        self.name = self.inner.name
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return get_encoder()


def test_the_encoder_gives_unit_vectors_that_rank_paraphrases_first(encoder: Encoder) -> None:
    vectors = encoder.encode(["my phone has no signal at all", "no service on my cell since this morning",
                              "I love the design of your new store"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]


def test_generalise_turns_the_past_authors_values_back_into_placeholders() -> None:
    values = {"first_name": "Ana", "name": "Ana Silva", "handle": "@ana_s", "ticket_link": "https://h.com/t/1"}
    assert generalise("Hi Ana Silva ({handle}) @ana_s: see https://h.com/t/1. Banana!", values) == (
        "Hi {name} ({{handle}}) {handle}: see {ticket_link}. Banana!")
    assert generalise("Hi Ana, thanks", values) == "Hi {first_name}, thanks"


def test_a_past_approved_reply_is_suggested_for_a_similar_mention(sqlite_engine: Engine, sqlite_url: str,
                                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty_rules = tmp_path / "none.toml"
    empty_rules.write_text("")
    settings = make_settings(sqlite_url, replies={"similar_replies": True, "rules_file": str(empty_rules)})
    counting = CountingEncoder()

    past = add_mention(sqlite_engine, "@lumenmobile my phone has had no signal since this morning",
                       display_name="Ana Silva", handle="ana_s", sentiment="negative", confidence=0.9)
    process(sqlite_engine, settings, encoder_factory=lambda: counting)
    assert counting.texts == []  # nothing approved yet: the encoder is not even needed
    with Session(sqlite_engine) as session:
        session.add(Reply(mention_id=past.id, state="sent", text="Hi Ana, sorry about the signal. A tower is down "
                          "near you; engineers are on it.", platform_reply_id="1"))
        session.commit()

    similar = add_mention(sqlite_engine, "@lumenmobile no signal on my phone all morning, what is going on",
                          display_name="Bob Stone", handle="bobs", sentiment="negative", confidence=0.8)
    nameless = add_mention(sqlite_engine, "@lumenmobile phone has no signal since the morning",
                           display_name="NoBars4Me", handle="nobars", sentiment="negative", confidence=0.8)
    unrelated = add_mention(sqlite_engine, "@lumenmobile I love the design of your new flagship store",
                            display_name="Cy Young", handle="cy", sentiment="positive", confidence=0.9)
    process(sqlite_engine, settings, encoder_factory=lambda: counting)

    with Session(sqlite_engine) as session:
        suggestions = {m: session.execute(select(Suggestion).where(Suggestion.mention_id == m)).scalars().all()
                       for m in (similar.id, nameless.id, unrelated.id)}
        stored = session.scalar(select(func.count()).select_from(MentionEmbedding))
    [offered] = suggestions[similar.id]
    assert offered.origin == "similar" and offered.similar_mention_id == past.id and offered.rank == 1
    assert offered.text == "Hi Bob, sorry about the signal. A tower is down near you; engineers are on it."
    assert offered.score >= settings.replies.similar_min_score
    assert suggestions[nameless.id] == []  # the past reply needs a first name this author has not got
    assert suggestions[unrelated.id] == []  # not similar enough
    assert stored == 4  # the past mention and the three new ones, each embedded once
    assert sorted(counting.texts) == sorted([past.text, similar.text, nameless.text, unrelated.text])

    # Stored vectors are reused: a new mention costs one embedding, the past ones none.
    counting.texts.clear()
    later = add_mention(sqlite_engine, "signal is gone again @lumenmobile", display_name="Dee Dee", handle="dd")
    process(sqlite_engine, settings, encoder_factory=lambda: counting)
    assert counting.texts == [later.text]
