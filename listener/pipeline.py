"""The listening steps of the processing stage, in order."""

from __future__ import annotations

from listener.processing import ProcessingStep
from listener.settings import Settings


def listening_steps(settings: Settings) -> list[ProcessingStep]:
    """Language and sentiment (when enabled), then profile matching; later steps are added by their owners."""
    steps: list[ProcessingStep] = []
    if settings.sentiment.enabled:
        from listener.sentiment.stage import SentimentStep

        steps.append(SentimentStep(settings.sentiment))
    from listener.profiles.matching import ProfileMatchStep

    steps.append(ProfileMatchStep())
    return steps
