"""The steps of the processing stage, in order.

``listener`` defines the listening steps (language and sentiment, then profile
matching). The answering side registers its own steps (triage, suggestions) with
:func:`register_steps` when it is imported, since ``listener`` never imports
``responders``; every command that processes mentions then runs them all.
"""

from __future__ import annotations

from collections.abc import Callable

from listener.processing import ProcessingStep
from listener.settings import Settings

StepFactory = Callable[[Settings], list[ProcessingStep]]
_registered: list[StepFactory] = []


def register_steps(factory: StepFactory) -> None:
    """Add steps that run after the listening ones (idempotent for the same factory)."""
    if factory not in _registered:
        _registered.append(factory)


def listening_steps(settings: Settings) -> list[ProcessingStep]:
    """Language and sentiment (when enabled), then profile matching."""
    steps: list[ProcessingStep] = []
    if settings.sentiment.enabled:
        from listener.sentiment.stage import SentimentStep

        steps.append(SentimentStep(settings.sentiment))
    from listener.profiles.matching import ProfileMatchStep

    steps.append(ProfileMatchStep())
    return steps


def processing_steps(settings: Settings) -> list[ProcessingStep]:
    """Every step of the processing stage: the listening ones, then the registered ones."""
    steps = listening_steps(settings)
    for factory in _registered:
        steps.extend(factory(settings))
    return steps
