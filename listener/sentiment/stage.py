"""The sentiment processing step: language first, then the classifier for covered languages.

A mention whose language the model does not cover (or whose language cannot be
told, such as emoji-only text) is stored as ``unscored`` with the detected
language: a guess in the wrong language would mislead the digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from sqlmodel import Session

from listener.db import utcnow
from listener.models import Mention
from listener.sentiment.labels import UNSCORED
from listener.settings import SentimentSettings

if TYPE_CHECKING:
    from listener.sentiment.classifier import SentimentClassifier
    from listener.sentiment.language import LanguageDetector


class SentimentStep:
    """Sets language, sentiment label, confidence, model name and version on each mention."""

    name = "sentiment"

    def __init__(self, settings: SentimentSettings) -> None:
        self.settings = settings

    @cached_property
    def classifier(self) -> SentimentClassifier:
        from listener.sentiment.classifier import get_classifier

        s = self.settings
        return get_classifier(
            s.model,
            label_map=tuple(sorted(s.label_map.items())),
            device=s.device,
            batch_size=s.batch_size,
            max_length=s.max_length,
            threads=s.threads or None,
        )

    @cached_property
    def detector(self) -> LanguageDetector:
        from listener.sentiment.language import get_language_detector

        return get_language_detector(tuple(self.settings.languages))

    def warm_up(self) -> None:
        """Load the model and the language models now: a worker does this before its first claim."""
        self.classifier.classify(["warming up"])
        # lingua loads each language's models on first use, not when the detector is built.
        self.detector.detect_many(["warming up the language models before the first batch"])

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        todo = [m for m in mentions if m.sentiment_label is None]
        if not todo:
            return
        languages = self.detector.detect_many([m.text for m in todo])
        covered = set(self.settings.languages)
        scored = [(m, lang) for m, lang in zip(todo, languages, strict=True) if lang in covered]
        predictions = self.classifier.classify([m.text for m, _ in scored]) if scored else []
        now = utcnow()
        for mention, language in zip(todo, languages, strict=True):
            mention.language = language
            mention.sentiment_scored_at = now
            mention.sentiment_model = self.classifier.name
            mention.sentiment_model_version = self.classifier.version
            if language not in covered:
                mention.sentiment_label, mention.sentiment_confidence = UNSCORED, None
        for (mention, _), prediction in zip(scored, predictions, strict=True):
            mention.sentiment_label = prediction.label
            mention.sentiment_confidence = prediction.confidence
