"""The public detection API: bot.language.detect_language, LanguageDetector and with_context."""

from __future__ import annotations

import math

import pytest

import bot.language.detect as detect_module
from bot.language import LANGUAGES, UNDETERMINED, Detection, LanguageDetector, detect_language
from bot.language.detect import CURRENT_BOOST, default_detector, with_context

ALL_CODES = {"sv", "en", "ar", "so", "ti", "fa", "uk", "ckb", "kmr", "ps", "am", "tr", "ru"}

GREETINGS = [
    ("hej hej", "sv"),
    ("hello there", "en"),
    ("مرحبا كيف حالك", "ar"),
    ("salaan sidee tahay", "so"),
    ("ሰላም ከመይ ኣለኹም", "ti"),
    ("سلام خوب هستید", "fa"),
    ("привіт як справи", "uk"),
    ("سڵاو چۆنی باشی", "ckb"),
    ("silav tu çawa yî", "kmr"),
    ("merhaba nasılsın", "tr"),
    ("привет как дела", "ru"),
    ("ሰላም እንዴት ነህ", "am"),
    ("سلام څنګه یې", "ps"),
]

NO_LETTERS = ["2", "07:30", "", "🙂", "???", "   ", "12 / 3", "!!", "+46 70 123 45 67", "🙂🙂👍"]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return default_detector()


def test_the_languages_are_the_thirteen_of_the_assistant():
    assert set(LANGUAGES) == ALL_CODES
    assert len(LANGUAGES) == 13
    assert UNDETERMINED == "und"


@pytest.mark.parametrize("text, expected", GREETINGS, ids=[code for _, code in GREETINGS])
def test_short_greetings_are_detected(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize("text, expected", GREETINGS, ids=[code for _, code in GREETINGS])
def test_short_greetings_are_detected_with_high_confidence(detector, text, expected):
    found = detector.detect(text)
    assert found.language == expected
    assert found.confidence >= 0.9


@pytest.mark.parametrize("text", NO_LETTERS)
def test_texts_without_letters_are_undetermined(detector, text):
    assert detect_language(text) == UNDETERMINED
    found = detector.detect(text)
    assert found == Detection(UNDETERMINED, 0.0, {})


@pytest.mark.parametrize("text", [None, 123, b"hej", ["hej"]])
def test_detect_language_never_raises_on_odd_input(text):
    assert detect_language(text) in ALL_CODES | {UNDETERMINED}


def test_detect_language_never_raises_when_the_detector_fails(monkeypatch):
    def broken():
        raise RuntimeError("profile file missing")

    monkeypatch.setattr(detect_module, "default_detector", broken)
    assert detect_language("hej hej") == UNDETERMINED


@pytest.mark.parametrize(
    "text",
    [
        "hej", "salam", "hola", "ok", "Hej! Jag heter Amina 🙂", "x" * 500, "a1b2c3", "Ääää", "İstanbul",
        "سلام", "hello привет", "ሰላም hello", "٣ كتب", "I'm fine, thanks!", "@#$% hej %$#@",
    ],
)
def test_detect_language_returns_a_known_code(text):
    assert detect_language(text) in ALL_CODES | {UNDETERMINED}


@pytest.mark.parametrize("text", ["salam", "hola", "سلام", "ሰላም", "ok ok", "hej hello salaan", "мир"])
def test_detection_is_deterministic(detector, text):
    first = detector.detect(text)
    answers = {detect_language(text) for _ in range(20)}
    assert answers == {first.language}
    for _ in range(20):
        assert detector.detect(text) == first
    fresh = LanguageDetector()
    assert fresh.detect(text) == first
    assert fresh.detect(text).as_dict() == first.as_dict()


def test_default_detector_is_shared():
    assert default_detector() is default_detector()


def test_probabilities_are_a_distribution_over_the_script_candidates(detector):
    found = detector.detect("salaan sidee tahay")
    assert set(found.probabilities) == {"sv", "en", "so", "kmr", "tr"}
    assert math.isclose(sum(found.probabilities.values()), 1.0)
    assert 0.0 <= found.confidence <= 1.0
    assert found.confidence == max(found.probabilities.values())
    assert next(iter(found.probabilities)) == found.language


@pytest.mark.parametrize(
    "text, candidates",
    [
        ("привет как дела", {"uk", "ru"}),
        ("ሰላም ከመይ ኣለኹም", {"am", "ti"}),
        ("مرحبا كيف حالك", {"ar", "fa", "ckb", "ps"}),
        ("hello there", {"sv", "en", "so", "kmr", "tr"}),
    ],
)
def test_only_languages_of_the_script_are_candidates(detector, text, candidates):
    assert set(detector.detect(text).probabilities) == candidates


def test_the_dominant_script_decides_the_candidates_of_a_mixed_text(detector):
    assert set(detector.detect("ok привет как дела").probabilities) == {"uk", "ru"}


# -- Dari counts as Persian ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    ["شما چطور استید", "تشکر، خوب استم", "من در کابل زندگی می‌کنم", "من خوب استم تشکر"],
)
def test_dari_is_detected_as_persian(text):
    assert detect_language(text) == "fa"


# -- letters particular to one language of a script -----------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("زۆر باش", "ckb"), ("بەڵێ", "ckb"), ("ڕێگا", "ckb"), ("بەخێر بێیت", "ckb"),
        ("ښه یم", "ps"), ("ټول", "ps"), ("ګران", "ps"), ("ډېر ښه", "ps"),
        ("і", "uk"), ("їжа", "uk"), ("є", "uk"), ("привіт", "uk"),
        ("вы", "ru"), ("это", "ru"), ("мы", "ru"), ("ты кто", "ru"),
    ],
)
def test_distinctive_letters_decide_within_their_script(text, expected):
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    "plain, plain_language, marked, marked_language",
    [
        ("мир", "ru", "мір", "uk"),       # Ukrainian і
        ("شه", "fa", "ښه", "ps"),         # Pashto ښ
        ("تول", "ps", "ټول", "ps"),       # Pashto ټ (already Pashto, now surely)
        ("گران", "fa", "ګران", "ps"),     # Pashto ګ instead of Persian گ
    ],
)
def test_one_distinctive_letter_changes_the_answer(detector, plain, plain_language, marked, marked_language):
    assert detector.detect(plain).language == plain_language
    found = detector.detect(marked)
    assert found.language == marked_language
    assert found.confidence > 0.99


def test_distinctive_letter_outweighs_the_model_more_than_a_plain_word(detector):
    plain = detector.detect("سلاو").probabilities["ckb"]
    marked = detector.detect("سڵاو").probabilities["ckb"]
    assert marked > plain


def test_casefolded_distinctive_letters_count():
    assert detect_language("ІЇЄ") == "uk"
    assert detect_language("ЭТО") == "ru"


@pytest.mark.parametrize("text", ["٢", "١٢:٣٠", "؟", "،", "ـ", "።", "፩"])
def test_script_digits_and_punctuation_are_undetermined(text):
    assert detect_language(text) == UNDETERMINED


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Я живу в Україні і вчуся в школі. Мені подобається вивчати історію і мови. " * 30, "uk"),
        ("مرحبا، أنا أريد أن أتحدث مع شخص في المدرسة والمدينة الجميلة. " * 40, "ar"),
    ],
    ids=["uk", "ar"],
)
def test_long_messages_have_a_confidence_between_0_and_1(detector, text, expected):
    found = detector.detect(text)
    assert found.language == expected
    assert 0.0 <= found.confidence <= 1.0
    assert all(0.0 <= p <= 1.0 for p in found.probabilities.values())


def test_a_moderately_long_message_is_still_well_defined(detector):
    text = "Jag vill gärna träffa någon på måndag för att prata om mitt arbete och mina barn. " * 5
    found = detector.detect(text)
    assert found.language == "sv"
    assert 0.0 <= found.confidence <= 1.0


# -- context: the conversation's language and a channel's hint -------------------------------------

def test_the_conversation_language_wins_a_close_call():
    found = with_context({"sv": 0.45, "en": 0.55}, current="sv")
    assert found.language == "sv"
    assert found.confidence == pytest.approx(0.45 * CURRENT_BOOST / (0.45 * CURRENT_BOOST + 0.55))
    assert list(found.probabilities) == ["sv", "en"]
    assert math.isclose(sum(found.probabilities.values()), 1.0)


def test_the_conversation_language_does_not_win_a_clear_call():
    found = with_context({"sv": 0.01, "so": 0.99}, current="sv")
    assert found.language == "so"
    assert found.confidence > 0.9


def test_without_context_the_likelier_language_wins():
    assert with_context({"sv": 0.45, "en": 0.55}).language == "en"


@pytest.mark.parametrize("hint", ["sv", "en"])
def test_a_hint_tips_a_tie(hint):
    found = with_context({"sv": 0.5, "en": 0.5}, hint=hint)
    assert found.language == hint
    assert found.confidence == pytest.approx(2 / 3)


def test_a_hint_does_not_override_a_clear_call():
    assert with_context({"sv": 0.02, "en": 0.98}, hint="sv").language == "en"


def test_context_outside_the_candidates_changes_nothing():
    found = with_context({"sv": 0.3, "en": 0.7}, current="ar", hint="ru")
    assert found.language == "en"
    assert found.probabilities == pytest.approx({"en": 0.7, "sv": 0.3})


@pytest.mark.parametrize("probabilities", [{}, None])
def test_empty_input_is_undetermined(probabilities):
    assert with_context(probabilities, current="sv", hint="en") == Detection(UNDETERMINED, 0.0)


def test_detector_applies_context(detector):
    # clearly Swedish stays Swedish in an English conversation
    assert detector.detect("hej hej", current="en").language == "sv"
    assert detector.detect("", current="sv", hint="sv").language == UNDETERMINED


def test_as_dict_rounds_for_the_nlu_output():
    found = Detection("sv", 0.123456789, {"sv": 0.123456789, "en": 0.876543211})
    assert found.as_dict() == {"language": "sv", "confidence": 0.1235, "probabilities": {"sv": 0.1235, "en": 0.8765}}
