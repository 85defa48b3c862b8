"""Suggestions drafted by the team's own model, for the mention in front of it (a background source).

For each mention: the grounding (``responders.drafts.grounding``), one chat
completion (``responders.drafts.client``), then the checks
(``responders.drafts.checks``). A draft that passes is proposed with
:data:`DRAFT_SCORE` and its model's name; one that fails, or an endpoint that is
down, slow or answers garbage, proposes nothing and says why in its
:class:`DraftOutcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from listener.settings import Settings
from responders.context import own_handles
from responders.drafts.checks import Detect, check_draft
from responders.drafts.client import DraftClient, DraftUnavailable
from responders.drafts.grounding import build_grounding
from responders.drafts.knowledge import Knowledge, KnowledgeFileError, load_voice
from responders.sources import DRAFT, Batch, Proposal, SuggestionSource
from responders.sources.retrieval import PraiseTest

DRAFT_SCORE = 0.7
"""Where a draft ranks: above the general rules (complaint 0.4, question 0.5), below the team's own rules for a
known situation (outage 0.85, billing 0.8, retention 0.75, VIP 0.9), whose wording the team chose."""

DRAFTED, REJECTED, FAILED = "drafted", "rejected", "failed"


@dataclass
class DraftOutcome:
    state: str  # drafted, rejected (failed a check), failed (no usable answer)
    model: str
    proposal: Proposal | None = None
    problems: list[str] = field(default_factory=list)
    shortened: bool = False
    seconds: float = 0.0

    @property
    def detail(self) -> str | None:
        return "; ".join(self.problems) or None


class DraftSource(SuggestionSource):
    origin = DRAFT
    description = "A reply drafted for this mention by the team's own model, checked before anyone sees it."
    background = True

    def __init__(self, settings: Settings, client: DraftClient | None = None, detect: Detect | None = None) -> None:
        self.settings = settings
        self._client = client
        self._detect = detect
        self.brand_handles = list(own_handles(settings).values())
        self.is_praise = PraiseTest(settings)

    @property
    def client(self) -> DraftClient:
        if self._client is None:
            self._client = DraftClient(self.settings.drafts)
        return self._client

    def working(self) -> bool:
        return self.settings.drafts.enabled and bool(self.settings.drafts.model)

    def detect(self, text: str) -> str | None:
        if self._detect is None:
            from listener.sentiment.language import get_language_detector

            detector = get_language_detector(tuple(self.settings.sentiment.scored_languages))
            self._detect = detector.detect
        return self._detect(text)

    def propose(self, batch: Batch) -> dict[int, list[Proposal]]:
        return {mention_id: [outcome.proposal] for mention_id, outcome in self.draft(batch).items()
                if outcome.proposal is not None}

    def draft(self, batch: Batch) -> dict[int, DraftOutcome]:
        """One outcome per mention of the batch: a checked draft, or why there is none."""
        try:
            knowledge = Knowledge.load(self.settings.drafts.knowledge_path)
            voice = load_voice(self.settings.drafts.voice_path)
        except KnowledgeFileError as error:
            # Files edited into a broken state: no draft (the page says why), the rule suggestions stand.
            return {m.id: DraftOutcome(FAILED, self.settings.drafts.model, problems=[str(error)])  # type: ignore[misc]
                    for m in batch.mentions}
        outcomes: dict[int, DraftOutcome] = {}
        for mention in batch.mentions:
            context = batch.contexts[mention.id]  # type: ignore[index]
            grounding = build_grounding(batch.session, mention, context, self.settings, knowledge, voice)
            grounding.praise = self.is_praise(context.sentiment, mention.text)
            try:
                answer = self.client.complete(grounding.messages)
            except DraftUnavailable as error:
                outcomes[mention.id] = DraftOutcome(FAILED, self.client.model, problems=[str(error)])  # type: ignore[index]
                continue
            checked = check_draft(answer.text, grounding, self.brand_handles, self.detect)
            if checked.text is None:
                outcome = DraftOutcome(REJECTED, answer.model, problems=checked.problems, seconds=answer.seconds)
            else:
                proposal = Proposal(checked.text, DRAFT_SCORE, DRAFT, model=answer.model)
                outcome = DraftOutcome(DRAFTED, answer.model, proposal, shortened=checked.shortened,
                                       seconds=answer.seconds)
            outcomes[mention.id] = outcome  # type: ignore[index]
        return outcomes
