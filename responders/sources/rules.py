"""Suggestions from the reply rules and templates in ``config/reply-rules.toml``."""

from __future__ import annotations

from collections.abc import Sequence

from listener.settings import Settings
from responders.rules import BoundReplyRule, load_reply_rules, suggest_from_rules
from responders.sources import RULE, Batch, Proposal, SuggestionSource


class RuleSource(SuggestionSource):
    origin = RULE
    description = "Every template of every reply rule that fires, filled in and within the platform's limit."

    def __init__(self, settings: Settings, rules: Sequence[BoundReplyRule] | None = None) -> None:
        self.rules = list(rules) if rules is not None else load_reply_rules(settings.replies.rules_path)

    def propose(self, batch: Batch) -> dict[int, list[Proposal]]:
        found: dict[int, list[Proposal]] = {}
        for mention in batch.mentions:
            context = batch.contexts[mention.id]  # type: ignore[index]
            found[mention.id] = [  # type: ignore[index]
                Proposal(c.text, c.score, RULE, rule=c.rule)
                for c in suggest_from_rules(self.rules, context, batch.values[mention.id])  # type: ignore[index]
            ]
        return found
