"""Which model scores which language: ``[sentiment] model`` for ``languages``, ``models`` for the rest.

The processing stage and ``harken sentiment eval --language`` both ask here, so
a language is scored and measured by the same model with the same label map.
"""

from __future__ import annotations

from dataclasses import dataclass

from listener.sentiment.classifier import SETTING, SentimentClassifier, get_classifier
from listener.settings import SentimentSettings


@dataclass(frozen=True)
class ModelChoice:
    """One model as the settings name it; languages sharing a model and label map share one choice (one load)."""

    model: str
    label_map: tuple[tuple[str, str], ...]
    setting: str
    """The setting that names it, for error messages: ``sentiment.model`` or ``sentiment.models.<code>``."""
    languages: tuple[str, ...]


def main_choice(settings: SentimentSettings) -> ModelChoice:
    """``[sentiment] model`` with its label map, for the languages in ``languages``."""
    return ModelChoice(settings.model, tuple(sorted(settings.label_map.items())), SETTING, tuple(settings.languages))


def model_choices(settings: SentimentSettings) -> dict[str, ModelChoice]:
    """Each scored language's model; a language missing here stays unscored."""
    chosen = dict.fromkeys(settings.languages, main_choice(settings))
    shared: dict[tuple[str, tuple[tuple[str, str], ...]], list[str]] = {}
    for code, entry in settings.models.items():
        shared.setdefault((entry.model, tuple(sorted(entry.label_map.items()))), []).append(code)
    for (model, label_map), codes in shared.items():
        choice = ModelChoice(model, label_map, f"sentiment.models.{codes[0]}", tuple(codes))
        chosen.update(dict.fromkeys(codes, choice))
    return chosen


def load_choice(settings: SentimentSettings, choice: ModelChoice) -> SentimentClassifier:
    """The classifier of ``choice``, loaded once per process (:func:`get_classifier`); ModelLoadError if it fails."""
    return get_classifier(
        choice.model,
        label_map=choice.label_map,
        device=settings.device,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        threads=settings.threads or None,
        languages=choice.languages,
        setting=choice.setting,
    )
