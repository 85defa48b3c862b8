"""Suggestion sources: each is one small class with one entry point, :meth:`SuggestionSource.propose`.

Like Huginn's agents, a source says what it is (``origin``, ``description``) and
does one thing: given a batch of mentions, it proposes reply texts with a score on
the shared 0..1 scale. ``responders.suggestions`` composes the sources and ranks
what they propose; a new source is a new file here and a line in
:func:`responders.sources.defaults.default_sources`, not a new column.

A source that must not hold up processing (a model endpoint may take seconds, or
be down) says ``background = True``: the processing step only records a request
for it, and a background job (``responders.drafts.job``) runs it later and ranks
its proposals among the stored ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from sqlmodel import Session

from listener.models import DRAFT_ORIGIN, RULE_ORIGIN, SIMILAR_ORIGIN, Mention
from responders.context import MentionContext

RULE, SIMILAR, DRAFT = RULE_ORIGIN, SIMILAR_ORIGIN, DRAFT_ORIGIN


@dataclass(frozen=True)
class Proposal:
    """One reply text a source proposes for a mention, before ranking."""

    text: str
    score: float
    origin: str
    rule: str | None = None
    similar_mention_id: int | None = None
    model: str | None = None


@dataclass
class Batch:
    """What every source reads: the mentions, their contexts and their placeholder values, built once."""

    session: Session
    mentions: Sequence[Mention]
    contexts: dict[int, MentionContext]
    values: dict[int, dict[str, str | None]]


class SuggestionSource(ABC):
    """A source of reply suggestions."""

    origin: ClassVar[str]
    description: ClassVar[str]
    background: ClassVar[bool] = False

    @abstractmethod
    def propose(self, batch: Batch) -> dict[int, list[Proposal]]:
        """The proposals for each mention of the batch, by mention id (mentions with none may be left out)."""

    def working(self) -> bool:
        """Whether this source is configured to propose anything at all."""
        return True


__all__ = ["DRAFT", "RULE", "SIMILAR", "Batch", "Proposal", "SuggestionSource"]
