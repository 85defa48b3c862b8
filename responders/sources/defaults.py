"""Which suggestion sources the settings turn on.

Apart from the package's ``__init__`` so that the sources, which import the package's
base classes, are not imported back by it (no import cycle).
"""

from __future__ import annotations

from responders.sources import SuggestionSource


def default_sources(settings, **options) -> list[SuggestionSource]:  # type: ignore[no-untyped-def]
    """The sources the settings turn on, foreground ones first."""
    from responders.sources.drafts import DraftSource
    from responders.sources.retrieval import RetrievalSource
    from responders.sources.rules import RuleSource

    sources: list[SuggestionSource] = [RuleSource(settings, rules=options.get("rules"))]
    if settings.replies.similar_replies:
        sources.append(RetrievalSource(settings, **({"encoder_factory": options["encoder_factory"]}
                                                   if "encoder_factory" in options else {})))
    if settings.drafts.enabled:
        sources.append(DraftSource(settings, client=options.get("draft_client")))
    return sources
