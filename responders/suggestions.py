"""Reply suggestions: several ranked alternatives per mention, composed from the suggestion sources.

The processing step runs after triage. For each new mention that is not ignored it
asks every foreground source (``responders.sources``: the reply rules, the team's
past replies to similar mentions) for proposals. Proposals share one score scale
(a rule's ``score``; a past reply's cosine similarity; a draft's fixed score), the
same text is kept once, and the best ``[replies] max_suggestions`` are stored in
``suggestions`` with their origin (the source: ``rule``, ``similar`` or ``draft``),
rank (1 is best), score and where they came from. A mention that has suggestions
already keeps them.

Background sources (model drafts) are never waited for here: the step records a
``draft_requests`` row, and the drafts job later ranks the draft among the stored
suggestions with :func:`insert_ranked`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlmodel import Session

from listener.models import DraftRequest, Mention, Suggestion
from listener.settings import Settings
from responders.context import build_contexts
from responders.rules import BoundReplyRule, placeholder_values
from responders.similar import Encoder, get_encoder
from responders.sources import DRAFT, RULE, SIMILAR, Batch, Proposal, SuggestionSource
from responders.sources.defaults import default_sources
from responders.triage import IGNORED

__all__ = ["DRAFT", "RULE", "SIMILAR", "Proposal", "SuggestionStep", "insert_ranked", "make_batch"]


def make_batch(session: Session, mentions: Sequence[Mention], settings: Settings) -> Batch:
    contexts = build_contexts(session, mentions, settings)
    values = {m.id: placeholder_values(contexts[m.id], settings) for m in mentions}  # type: ignore[index]
    return Batch(session, mentions, contexts, values)  # type: ignore[arg-type]


class SuggestionStep:
    """Processing step: store ranked reply alternatives for each new, not ignored mention."""

    name = "suggestions"

    def __init__(
        self,
        settings: Settings,
        rules: Sequence[BoundReplyRule] | None = None,
        encoder_factory: Callable[[], Encoder] = get_encoder,
        sources: Sequence[SuggestionSource] | None = None,
    ) -> None:
        self.settings = settings
        self.sources = list(sources) if sources is not None else default_sources(
            settings, rules=rules, encoder_factory=encoder_factory)

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
                session.add(_row(mention, rank, proposal))
        if any(source.background and source.working() for source in self.sources):
            requested = set(session.execute(
                select(DraftRequest.mention_id).where(DraftRequest.mention_id.in_([m.id for m in todo]))  # type: ignore[attr-defined]
            ).scalars())
            for mention in todo:
                if mention.id not in requested:
                    session.add(DraftRequest(mention_id=mention.id))  # type: ignore[arg-type]
        session.flush()

    def propose(self, session: Session, mentions: Sequence[Mention]) -> dict[int, list[Proposal]]:
        """The ranked alternatives of the foreground sources for each mention (by id), not stored."""
        batch = make_batch(session, mentions, self.settings)
        found: dict[int, list[Proposal]] = {m.id: [] for m in mentions}  # type: ignore[misc]
        for source in self.sources:
            if source.background or not mentions:
                continue
            for mention_id, proposals in source.propose(batch).items():
                found[mention_id].extend(proposals)
        return {mention_id: _rank(proposals, self.settings.replies.max_suggestions)
                for mention_id, proposals in found.items()}


def _row(mention_id: int, rank: int, proposal: Proposal) -> Suggestion:
    return Suggestion(mention_id=mention_id, text=proposal.text, origin=proposal.origin, rank=rank,
                      score=proposal.score, rule=proposal.rule, similar_mention_id=proposal.similar_mention_id,
                      model=proposal.model)


def insert_ranked(session: Session, mention_id: int, proposal: Proposal) -> Suggestion | None:
    """Store a background source's proposal at its place among the mention's stored suggestions.

    The ones ranked below it move down one (none is deleted: a reply may have been
    drafted from it), so a mention may then hold ``max_suggestions`` plus one. None
    when the same text is stored already.
    """
    stored = list(session.execute(
        select(Suggestion).where(Suggestion.mention_id == mention_id).order_by(Suggestion.rank.desc())  # type: ignore[attr-defined]
    ).scalars())
    if any(s.text == proposal.text for s in stored):
        return None
    rank = 1 + sum(1 for s in stored if s.score >= proposal.score)
    # Lowest first, one at a time: the (mention, rank) index is unique at every step.
    for suggestion in stored:
        if suggestion.rank >= rank:
            suggestion.rank += 1
            session.flush()
    row = _row(mention_id, rank, proposal)
    session.add(row)
    session.flush()
    return row


def _rank(proposals: list[Proposal], limit: int) -> list[Proposal]:
    best: dict[str, Proposal] = {}
    for proposal in proposals:
        kept = best.get(proposal.text)
        if kept is None or proposal.score > kept.score:
            best[proposal.text] = proposal
    return sorted(best.values(), key=lambda p: (-p.score, p.origin != RULE))[:limit]
