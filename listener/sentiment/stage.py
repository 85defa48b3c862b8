"""The sentiment processing step: language first, then the model that scores that language.

``[sentiment] model`` scores the languages in ``languages``; ``[sentiment]
models`` gives other languages their own model (see
:mod:`listener.sentiment.routing`). A batch is split by model, each model runs
once on its share, and each mention stores the name and version of the model
that scored it. A mention in a language no model scores (or whose language
cannot be told, such as emoji-only text) is stored as ``unscored`` with the
detected language: a guess in the wrong language would mislead the digest.
"""

from __future__ import annotations

import threading
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
    from listener.sentiment.routing import ModelChoice


class SentimentStep:
    """Sets language, sentiment label, confidence, model name and version on each mention."""

    name = "sentiment"

    def __init__(self, settings: SentimentSettings) -> None:
        self.settings = settings
        self._loaded: dict[ModelChoice, SentimentClassifier] = {}
        # worker threads share the step: one loads a model while the other waits for it, never a second copy
        self._loading = threading.Lock()

    @cached_property
    def choices(self) -> dict[str, ModelChoice]:
        """Language -> the model that scores it."""
        from listener.sentiment.routing import model_choices

        return model_choices(self.settings)

    @cached_property
    def classifier(self) -> SentimentClassifier:
        """The main model (``[sentiment] model``); it also names the setup on unscored mentions."""
        from listener.sentiment.routing import main_choice

        return self.classifier_for(main_choice(self.settings))

    def classifier_for(self, choice: ModelChoice) -> SentimentClassifier:
        """The loaded model of ``choice``: each one loads on first use, once."""
        with self._loading:
            if choice not in self._loaded:
                from listener.sentiment.routing import load_choice

                self._loaded[choice] = load_choice(self.settings, choice)
            return self._loaded[choice]

    @cached_property
    def detector(self) -> LanguageDetector:
        from listener.sentiment.language import get_language_detector

        return get_language_detector(tuple(self.settings.scored_languages))

    def warm_up(self) -> None:
        """Load the main model and the language models now: a worker does this before its first claim.

        The per-language models load when their first mention comes.
        """
        self.classifier.classify(["warming up"])
        # lingua loads each language's models on first use, not when the detector is built.
        self.detector.detect_many(["warming up the language models before the first batch"])

    def process(self, session: Session, mentions: Sequence[Mention]) -> None:
        todo = [m for m in mentions if m.sentiment_label is None]
        if not todo:
            return
        languages = self.detector.detect_many([m.text for m in todo])
        by_model: dict[ModelChoice, list[Mention]] = {}
        now = utcnow()
        for mention, language in zip(todo, languages, strict=True):
            mention.language = language
            mention.sentiment_scored_at = now
            choice = self.choices.get(language) if language else None
            if choice is None:
                # unscored, as decided under the main model's settings
                mention.sentiment_model = self.classifier.name
                mention.sentiment_model_version = self.classifier.version
                mention.sentiment_label, mention.sentiment_confidence = UNSCORED, None
            else:
                by_model.setdefault(choice, []).append(mention)
        for choice, scored in by_model.items():
            classifier = self.classifier_for(choice)
            predictions = classifier.classify([m.text for m in scored])
            for mention, prediction in zip(scored, predictions, strict=True):
                mention.sentiment_label = prediction.label
                mention.sentiment_confidence = prediction.confidence
                mention.sentiment_model = classifier.name
                mention.sentiment_model_version = classifier.version
