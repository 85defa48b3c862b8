"""Harken's answering side: suggestions, the approval queue, the sender, digests, the web app.

Importing ``responders`` registers its processing steps (triage, then reply
suggestions) with ``listener.pipeline``, so every command that processes mentions
(``harken collect``, ``run``, ``demo``) runs them after the listening steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from listener.pipeline import register_steps

if TYPE_CHECKING:
    from listener.processing import ProcessingStep
    from listener.settings import Settings


def responder_steps(settings: Settings) -> list[ProcessingStep]:
    """Triage (priority, SLA, ignore/assign rules), then suggestions, which skip ignored mentions."""
    from responders.suggestions import SuggestionStep
    from responders.triage import TriageStep

    return [TriageStep(settings), SuggestionStep(settings)]


register_steps(responder_steps)
