"""bot.language.normalize: letter variants, marks, ZWNJ and digits people type interchangeably."""

from __future__ import annotations

import pytest

from bot.language.normalize import normalize_text, normalize_token


@pytest.mark.parametrize(
    "variant, folded",
    [
        ("ي", "ی"),   # Arabic yeh -> Persian yeh
        ("ى", "ی"),   # alef maksura
        ("ك", "ک"),   # Arabic kaf -> keheh
        ("ة", "ه"),   # teh marbuta
        ("ۀ", "ه"),
        ("أ", "ا"), ("إ", "ا"), ("آ", "ا"), ("ٱ", "ا"),
    ],
)
def test_letter_variants_are_folded(variant, folded):
    assert normalize_token(variant) == folded


@pytest.mark.parametrize(
    "word, expected",
    [("كتاب", "کتاب"), ("علي", "علی"), ("مدرسة", "مدرسه"), ("كيف", "کیف"), ("إسلام", "اسلام")],
)
def test_words_with_variants(word, expected):
    assert normalize_token(word) == expected


def test_harakat_are_dropped():
    assert normalize_token("مَرْحَبًا") == "مرحبا"
    assert normalize_token("كِتَابٌ") == "کتاب"
    assert normalize_token("شُكْرًا") == "شکرا"
    assert normalize_token("هٰذا") == "هذا"  # superscript alef


def test_tatweel_is_dropped():
    assert normalize_token("سـلام") == "سلام"
    assert normalize_token("مرحبـــــا") == "مرحبا"


def test_zero_width_joiners_are_dropped():
    assert normalize_token("می\u200cخواهم") == "میخواهم"
    assert normalize_token("می\u200dخواهم") == "میخواهم"
    assert normalize_token("\u200c") == ""


@pytest.mark.parametrize("digit, ascii_digit", [("٣", "3"), ("۳", "3"), ("٠", "0"), ("۹", "9"), ("٧", "7"), ("۴", "4")])
def test_arabic_indic_and_persian_digits_become_ascii(digit, ascii_digit):
    assert normalize_token(digit) == ascii_digit


def test_numbers_in_both_digit_sets():
    assert normalize_token("٢٠٢٤") == "2024"
    assert normalize_token("۱۴۰۳") == "1403"
    assert normalize_text("٠٧:٣٠") == "07:30"


def test_case_is_folded():
    assert normalize_token("Hej") == "hej"
    assert normalize_token("ПРИВІТ") == "привіт"
    assert normalize_token("STRASSE") == "strasse"


def test_other_scripts_are_left_alone():
    for word in ("ሰላም", "سڵاو", "ښه", "привіт", "çawa", "nasılsın", "پچژگ"):
        assert normalize_token(word) == word


def test_normalize_text_joins_normalised_words_with_one_space():
    assert normalize_text("  می‌خواهم   كتاب  ") == "میخواهم کتاب"
    assert normalize_text("Hej\tDU\n") == "hej du"
    assert normalize_text("") == ""


def test_ethiopic_word_space_splits_words():
    assert normalize_text("ሰላም፡ከመይ፡ኣለኹም") == "ሰላም ከመይ ኣለኹም"
    assert normalize_text("ሰላም፡ ከመይ") == "ሰላም ከመይ"
    assert normalize_text("ሰላም፡ከመይ").split() == ["ሰላም", "ከመይ"]


def test_normalisation_is_idempotent():
    for text in ("مَرْحَبًا كيف حالك", "می‌خواهم كتاب ٣", "ሰላም፡ከመይ", "Hej Där"):
        once = normalize_text(text)
        assert normalize_text(once) == once
