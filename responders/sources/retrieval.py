"""Suggestions from the team's own past approved replies to similar mentions (``responders.similar``).

A past reply is offered only when it fits the new mention:

* the tone matches: praise gets replies that answered praise, and a complaint (or a
  question, or sarcasm around a fault) gets replies that answered one, so thanks
  never get a troubleshooting reply and a complaint never gets "glad to hear it".
  Praise is a positive label without any of the rules file's ``problem`` intent
  (the bundled file's when the team's own has none);
* the old customer's details are out: their name and handle become placeholders
  for the new customer (``responders.similar.generalise``), a greeting's other
  name is taken out, and a reply with anything else particular to them (another
  handle, an order number, a time, a date) is not offered (``responders.scrub``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from listener.models import Mention
from listener.platforms import fits
from listener.sentiment.labels import UNSCORED
from listener.settings import CONFIG_DIR, Settings
from responders.context import own_handles
from responders.rules import MentionsAny, ReplyRulesFile, render
from responders.scrub import scrub_past_reply
from responders.similar import Encoder, SimilarIndex, ensure_embeddings, get_encoder
from responders.sources import SIMILAR, Batch, Proposal, SuggestionSource


class PraiseTest:
    """Praise: a positive label and no stated fault ("love the update!!!! it freezes" is a complaint).

    The faults are the rules file's ``problem`` intent, or the bundled file's when the team's own has none.
    """

    def __init__(self, settings: Settings) -> None:
        problem = ReplyRulesFile.load(settings.replies.rules_path).intents.get("problem")
        if problem is None:
            problem = ReplyRulesFile.load(CONFIG_DIR / "reply-rules.toml").intents.get("problem", [])
        self.problem = MentionsAny(problem, label="problem")

    def __call__(self, sentiment: str | None, text: str) -> bool:
        return (sentiment or UNSCORED) == "positive" and not (
            self.problem.pattern is not None and self.problem.pattern.search(text))


class RetrievalSource(SuggestionSource):
    origin = SIMILAR
    description = ("The team's past approved replies to the most similar mentions of the same tone, "
                   "with the old customer's details taken out.")

    def __init__(self, settings: Settings, encoder_factory: Callable[[], Encoder] = get_encoder) -> None:
        self.settings = settings
        self.encoder_factory = encoder_factory
        self.is_praise = PraiseTest(settings)
        self.brand_handles = list(own_handles(settings).values())

    def propose(self, batch: Batch) -> dict[int, list[Proposal]]:
        found: dict[int, list[Proposal]] = {}
        if not batch.mentions:
            return found
        index = SimilarIndex.build(batch.session, self.settings, self.encoder_factory)
        if index is None:
            return found
        vectors = ensure_embeddings(batch.session, batch.mentions, self.encoder_factory())
        past_tone = {
            m.id: self.is_praise(m.sentiment_label, m.text) for m in batch.session.execute(
                select(Mention).where(Mention.id.in_([p.mention_id for p in index.past]))  # type: ignore[union-attr]
            ).scalars()
        }
        for mention in batch.mentions:
            praise = self.is_praise(batch.contexts[mention.id].sentiment, mention.text)  # type: ignore[index]
            matches = index.query(vectors[mention.id], k=self.settings.replies.max_suggestions,  # type: ignore[index]
                                  min_score=self.settings.replies.similar_min_score, exclude_mention_id=mention.id)
            for match in matches:
                if past_tone.get(match.past.mention_id) != praise:
                    continue
                template = scrub_past_reply(match.past.template, self.brand_handles)
                text = render(template, batch.values[mention.id]) if template else None  # type: ignore[index]
                if text and fits(mention.platform, text):
                    found.setdefault(mention.id, []).append(Proposal(  # type: ignore[arg-type]
                        text, match.score, SIMILAR, similar_mention_id=match.past.mention_id))
        return found
