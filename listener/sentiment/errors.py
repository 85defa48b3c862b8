"""The errors of the sentiment package, in a module light enough for the CLI to import without torch."""

from __future__ import annotations

from listener.errors import HarkenError


class SentimentError(HarkenError):
    """Base of every sentiment error."""


class ModelLoadError(SentimentError):
    """The sentiment model setting names nothing loadable; the message is one line naming the value."""


class LabelledDataError(SentimentError, ValueError):
    """A labelled file is missing, its lines do not pair up, or a label is not a sentiment label."""


class TrainingDataError(SentimentError, ValueError):
    """The training directory is missing a file or its lines do not pair up."""


class SoupError(SentimentError, ValueError):
    """The models to average do not share one architecture and parameter set."""


class CorrectionError(SentimentError, ValueError):
    """The correction names an unknown mention or label."""


class UnknownLanguageError(SentimentError, ValueError):
    """A language code is not an ISO 639-1 code that lingua knows."""
