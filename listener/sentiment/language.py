"""Which language a mention is written in, so that text the model does not cover is left unscored.

A sentiment model trained on English tweets guesses confidently, and wrongly, on
Spanish or Japanese text; Harken marks such mentions unscored instead. Detection
uses lingua, loading only the languages that matter: the ones the model covers
plus the common ones it must recognise as *not* covered. lingua can only answer
with a language it has loaded, so a text in a language outside the set comes back
as its nearest loaded neighbour, which is still "not English" in practice.

The short-text rule
-------------------
lingua is very accurate on tweet-length text (2 of TweetEval's 2,000 English
validation tweets come back non-English, both in fact mixed Indonesian/Tagalog),
but one- to three-word texts have too few n-grams: "lol" reads as Indonesian,
"omg" as Dutch, "Hello" as Italian. So for a *short* text (at most
``short_text_words`` words) whose letters are all ASCII, a non-fallback answer
with confidence below ``short_text_min_confidence`` is replaced by
``short_text_fallback`` (English by default). Confident short answers stand
("merci beaucoup", "nicht gut", "terima kasih"), and any non-ASCII letter
("çok güzel", "qué asco") leaves the decision to lingua. The price is that a few
short ASCII greetings ("hola", "danke") are scored as English; for a brand's
mentions that is cheaper than leaving short English replies unscored. Set
``short_text_fallback=None`` to switch the rule off.

Handles, URLs and the ``#`` of hashtags are removed before detection: they are
not language. A text with no letters left (empty, emoji, digits, a bare link) is
``None``: no language can be told.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from listener.sentiment.errors import UnknownLanguageError

DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en", "es", "fr", "de", "pt", "it", "nl", "ja", "ko", "zh", "ar", "ru", "tr", "hi", "id",
)
"""English plus the languages most often met in mentions, which must be recognised as not English."""

_MAX_CHARS = 2000
"""Only a text's first 2,000 characters are read: plenty to tell a language, and a 100 kB post costs no more."""
_NOISE = re.compile(r"(?<![\w@])@\w{1,30}|https?://\S+|www\.\S+|#")
_WORD = re.compile(r"[^\W\d_]+")


def _language(code: str) -> Language:
    iso = getattr(IsoCode639_1, code.strip().upper(), None)
    if not isinstance(iso, IsoCode639_1):
        raise UnknownLanguageError(f"{code!r} is not an ISO 639-1 language code known to lingua")
    return Language.from_iso_code_639_1(iso)


def _code(language: Language) -> str:
    return language.iso_code_639_1.name.lower()


def language_code(code: str) -> str:
    """``code`` lower-cased; :class:`UnknownLanguageError` unless lingua knows it (``pt``, not ``pt-BR``)."""
    return _code(_language(code))


class LanguageDetector:
    """Detects the ISO 639-1 code of many texts at once.

    ``languages`` are ISO 639-1 codes; at least two, or lingua has nothing to
    choose between. ``low_accuracy`` trades accuracy for memory: with the 15
    default languages a process peaked at 283 MB here in high-accuracy mode and
    37 MB in low-accuracy mode, which took 17 of TweetEval's 2,000 English
    validation tweets for another language instead of 2.
    """

    def __init__(
        self,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
        *,
        short_text_words: int = 3,
        short_text_min_confidence: float = 0.7,
        short_text_fallback: str | None = "en",
        low_accuracy: bool = False,
    ) -> None:
        loaded = {_language(code) for code in languages}
        if len(loaded) < 2:
            raise UnknownLanguageError("language detection needs at least two languages to choose between")
        if short_text_fallback is not None and _language(short_text_fallback) not in loaded:
            raise UnknownLanguageError(
                f"short-text fallback {short_text_fallback!r} is not among the detected languages"
            )
        self.languages: frozenset[str] = frozenset(_code(lang) for lang in loaded)
        self.short_text_words = short_text_words
        self.short_text_min_confidence = short_text_min_confidence
        self.short_text_fallback = short_text_fallback
        builder = LanguageDetectorBuilder.from_languages(*loaded)
        if low_accuracy:
            builder = builder.with_low_accuracy_mode()
        self._detector = builder.build()

    def detect(self, text: str) -> str | None:
        """The language of one text; see :meth:`detect_many`."""
        return self.detect_many([text])[0]

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        """ISO 639-1 codes in input order; ``None`` where no language can be told.

        All texts go to lingua in one call, which spreads them over the cores
        (its ``compute_language_confidence_values_in_parallel`` rather than
        ``detect_languages_in_parallel_of``: same work, and it also gives the
        confidence that the short-text rule needs).
        """
        cleaned = [_NOISE.sub(" ", text[:_MAX_CHARS]) for text in texts]
        result: list[str | None] = [None] * len(texts)
        index = [i for i, text in enumerate(cleaned) if _WORD.search(text)]
        if not index:
            return result
        values = self._detector.compute_language_confidence_values_in_parallel([cleaned[i] for i in index])
        for i, confidences in zip(index, values, strict=True):
            if not confidences or confidences[0].value <= 0.0:
                continue
            top = confidences[0]
            code = _code(top.language)
            if self._use_fallback(cleaned[i], code, top.value):
                code = self.short_text_fallback  # type: ignore[assignment]
            result[i] = code
        return result

    def _use_fallback(self, text: str, code: str, confidence: float) -> bool:
        if self.short_text_fallback is None or code == self.short_text_fallback:
            return False
        if confidence >= self.short_text_min_confidence:
            return False
        words = _WORD.findall(text)
        return len(words) <= self.short_text_words and all(word.isascii() for word in words)


@functools.lru_cache(maxsize=4)
def get_language_detector(covered: tuple[str, ...] = ("en",)) -> LanguageDetector:
    """One detector per process for the languages the model covers, plus :data:`DEFAULT_LANGUAGES`.

    lingua's models take a few seconds and a few hundred MB to load, so they are
    loaded once. The short-text rule falls back to English only when the model
    covers English.
    """
    codes = [code.strip().lower() for code in covered]
    languages = tuple(dict.fromkeys([*DEFAULT_LANGUAGES, *codes]))
    return LanguageDetector(languages, short_text_fallback="en" if "en" in codes else None)
