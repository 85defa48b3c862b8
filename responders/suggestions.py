"""Reply suggestions: several ranked alternatives per mention, from rules and from past replies.

The processing step runs after triage. For each new mention that is not ignored it
collects the candidates of every reply rule that fires (``responders.rules``) and,
when ``[replies] similar_replies`` is on and the team has approved replies before,
the past replies to the most similar mentions (``responders.similar``). Candidates
share one score scale (a rule's ``score``; a past reply's cosine similarity), the
same text is kept once, and the best ``[replies] max_suggestions`` are stored in
``suggestions`` with their origin (``rule`` or ``similar``), rank (1 is best), score
and where they came from. A mention that has suggestions already keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from listener.models import Mention, Suggestion
from listener.platforms import fits
from listener.settings import Settings
from responders.context import build_contexts
from responders.rules import BoundReplyRule, load_reply_rules, placeholder_values, render, suggest_from_rules
from responders.similar import Encoder, SimilarIndex, ensure_embeddings, get_encoder
from responders.triage import IGNORED

RULE, SIMILAR = "rule", "similar"


@dataclass(frozen=True)
class Proposal:
    text: str
    score: float
    origin: str
    rule: str | None = None
    similar_mention_id: int | None = None


class SuggestionStep:
    """Processing step: store ranked reply alternatives for each new, not ignored mention."""

    name = "suggestions"

    def __init__(
        self,
        settings: Settings,
        rules: Sequence[BoundReplyRule] | None = None,
        encoder_factory: Callable[[], Encoder] = get_encoder,
    ) -> None:
        self.settings = settings
        self.rules = list(rules) if rules is not None else load_reply_rules(settings.replies.rules_path)
        self.encoder_factory = encoder_factory

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        todo = [m for m in mentions if m.status != IGNORED and m.id is not None]
        if not todo:
            return
        have = set(session.execute(
            select(Suggestion.mention_id).where(Suggestion.mention_id.in_([m.id for m in todo]))  # type: ignore[attr-defined]
        ).scalars())
        todo = [m for m in todo if m.id not in have]
        for mention, proposals in self.propose(session, todo).items():
            for rank, proposal in enumerate(proposals, start=1):
                session.add(Suggestion(
                    mention_id=mention, text=proposal.text, origin=proposal.origin, rank=rank,
                    score=proposal.score, rule=proposal.rule, similar_mention_id=proposal.similar_mention_id,
                ))
        session.flush()

    def propose(self, session: Session, mentions: Sequence[Mention]) -> dict[int, list[Proposal]]:
        """The ranked alternatives for each mention (by id), not stored."""
        contexts = build_contexts(session, mentions, self.settings)
        found: dict[int, list[Proposal]] = {}
        values = {m.id: placeholder_values(contexts[m.id], self.settings) for m in mentions}  # type: ignore[index]
        for mention in mentions:
            found[mention.id] = [  # type: ignore[index]
                Proposal(c.text, c.score, RULE, rule=c.rule)
                for c in suggest_from_rules(self.rules, contexts[mention.id], values[mention.id])  # type: ignore[index]
            ]
        if self.settings.replies.similar_replies and mentions:
            self._add_similar(session, mentions, values, found)
        return {mention_id: _rank(proposals, self.settings.replies.max_suggestions)
                for mention_id, proposals in found.items()}


    def _add_similar(self, session: Session, mentions: Sequence[Mention],
                     values: dict[int | None, dict[str, str | None]], found: dict[int, list[Proposal]]) -> None:
        index = SimilarIndex.build(session, self.settings, self.encoder_factory)
        if index is None:
            return
        vectors = ensure_embeddings(session, mentions, self.encoder_factory())
        for mention in mentions:
            matches = index.query(vectors[mention.id], k=self.settings.replies.max_suggestions,  # type: ignore[index]
                                  min_score=self.settings.replies.similar_min_score, exclude_mention_id=mention.id)
            for match in matches:
                text = render(match.past.template, values[mention.id])
                if text and fits(mention.platform, text):
                    found[mention.id].append(Proposal(  # type: ignore[index]
                        text, match.score, SIMILAR, similar_mention_id=match.past.mention_id))


def _rank(proposals: list[Proposal], limit: int) -> list[Proposal]:
    best: dict[str, Proposal] = {}
    for proposal in proposals:
        kept = best.get(proposal.text)
        if kept is None or proposal.score > kept.score:
            best[proposal.text] = proposal
    return sorted(best.values(), key=lambda p: (-p.score, p.origin != RULE))[:limit]
