"""The curated crisis phrases: every language recognises its examples and none of its negatives."""

from __future__ import annotations

import pytest

from bot.i18n import load_catalogs
from bot.safety.phrases import CATEGORIES, check, load_all, match, words
from tests.conftest import PROJECT_ROOT

LANGUAGES = load_catalogs(PROJECT_ROOT / "locales").languages
PHRASES = load_all()


def test_every_language_has_a_phrase_list_with_all_categories():
    assert sorted(PHRASES) == sorted(LANGUAGES)
    for code, phrase_list in PHRASES.items():
        found = {p.category for p in phrase_list.phrases}
        assert found == set(CATEGORIES), (code, set(CATEGORIES) - found)
        assert len(phrase_list.examples) >= 8 and len(phrase_list.negatives) >= 8, code


@pytest.mark.parametrize("code", LANGUAGES)
def test_examples_are_recognised(code):
    missed = [e for e in PHRASES[code].examples if match(e) is None]
    assert missed == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_negatives_are_not_a_crisis(code):
    matched = {n: match(n).phrase for n in PHRASES[code].negatives if match(n) is not None}
    assert matched == {}


def test_the_phrase_files_check_clean():
    assert check() == []


def test_matching_ignores_case_punctuation_and_letter_variants():
    assert match("JAG VILL DÖ!!!") is not None or match("jag vill dö") is not None
    assert words("Don't  stop…") == ["dont", "stop"]
    assert words("مي‌خواهم") == words("میخواهم")
    assert match("") is None and match("   ") is None


def test_the_index_finds_what_a_scan_of_every_phrase_finds(tmp_path):
    (tmp_path / "xx.yml").write_text(
        "phrases:\n  suicide: ['a* b', 'vill dö']\n  self_harm: ['skär* mig']\n  violence: ['slår mig']\n"
        "  danger: ['i fara']\n", encoding="utf-8")
    assert match("hon vill dö nu", tmp_path).phrase == "vill dö"
    assert match("ajaj b", tmp_path).phrase == "a* b"
    assert match("jag skär mig", tmp_path).category == "self_harm"
    assert match("jag skär grönsaker", tmp_path) is None
    assert match("vill", tmp_path) is None  # a phrase longer than the message
