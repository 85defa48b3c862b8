"""Language detection: covered languages scored, others and letterless texts not."""

from __future__ import annotations

import pytest

from listener.sentiment.language import LanguageDetector, UnknownLanguageError, get_language_detector


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return get_language_detector(("en",))


def test_english_and_other_languages(detector: LanguageDetector) -> None:
    texts = [
        "I really love the new camera on this phone",
        "Me encanta la nueva cámara de este teléfono",
        "Ich finde die neue Kamera dieses Telefons wirklich toll",
        "この電話の新しいカメラが本当に大好きです",
    ]
    assert detector.detect_many(texts) == ["en", "es", "de", "ja"]


def test_texts_without_letters_have_no_language(detector: LanguageDetector) -> None:
    assert detector.detect_many(["😀🔥🙏", "", "12345 !!!", "@someone https://t.co/abc"]) == [None] * 4


def test_short_ascii_slang_counts_as_english(detector: LanguageDetector) -> None:
    assert detector.detect_many(["lol", "omg", "Hello", "worst app ever"]) == ["en"] * 4


def test_confident_short_foreign_text_is_not_forced_to_english(detector: LanguageDetector) -> None:
    assert detector.detect_many(["merci beaucoup", "nicht gut", "çok güzel"]) == ["fr", "de", "tr"]


def test_without_the_fallback_short_text_keeps_lingua_answer() -> None:
    plain = LanguageDetector(["en", "nl", "id"], short_text_fallback=None)
    assert plain.detect("omg") != "en"


def test_detect_keeps_input_order_and_length(detector: LanguageDetector) -> None:
    texts = ["", "Das ist wirklich schlecht", "", "This is really bad"]
    assert detector.detect_many(texts) == [None, "de", None, "en"]
    assert detector.detect_many([]) == []


def test_unknown_codes_are_named_errors() -> None:
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        LanguageDetector(["en", "xx"])
    with pytest.raises(UnknownLanguageError):
        LanguageDetector(["en"])


def test_get_language_detector_adds_the_common_languages_once() -> None:
    spanish_model = get_language_detector(("es",))
    assert {"en", "es", "ja"} <= spanish_model.languages
    assert spanish_model.short_text_fallback is None
    assert get_language_detector(("es",)) is spanish_model
