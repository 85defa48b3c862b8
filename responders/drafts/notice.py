"""The line the mention page shows when a model draft is missing, so a person knows why."""

from __future__ import annotations

from listener.models import DraftRequest


def draft_notice(request: DraftRequest | None) -> str | None:
    """None when there is nothing to say (no request, or a draft was made)."""
    if request is None or request.state == "drafted":
        return None
    model = request.model or "the model"
    if request.state == "rejected":
        return f"The draft from {model} was discarded ({request.detail}); the rule and retrieval suggestions are shown."
    if request.detail:
        return f"No draft from {model} ({request.detail}); the rule and retrieval suggestions are shown."
    return "A model draft is being written; the rule and retrieval suggestions are shown meanwhile."
