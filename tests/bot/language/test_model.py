"""bot.language.model: training on a tiny corpus, save/load, candidates and the shipped profiles."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from bot.language.model import (
    LANGUAGES,
    PROFILE_FILE,
    SCRIPTS,
    LanguageModel,
    dominant_script,
    langdetect_grams,
    raw_grams,
    script_of,
    words,
)

# Two made-up languages in Latin script, stored under existing codes.
ZORBISH = [  # as "sv"
    "zorba kilu mantra zorba kilu",
    "mantra zorba zeltik kilu zorba",
    "kilu kilu zorba mantra zeltik",
    "zeltik zorba mantra kilu zorba",
    "zorba zorba kilu zeltik mantra",
]
PLOVIAN = [  # as "en"
    "plov dresh omni plov dresh",
    "omni plov wethra dresh plov",
    "dresh dresh plov omni wethra",
    "wethra plov omni dresh plov",
    "plov plov dresh wethra omni",
]


@pytest.fixture(scope="module")
def tiny() -> LanguageModel:
    return LanguageModel.train({"sv": ZORBISH, "en": PLOVIAN})


@pytest.fixture(scope="module")
def shipped() -> LanguageModel:
    return LanguageModel.load()


def test_tiny_model_knows_its_two_languages(tiny):
    assert tiny.languages == ("en", "sv")


@pytest.mark.parametrize("text, expected", [("zorba kilu", "sv"), ("plov dresh", "en"), ("mantra", "sv"), ("wethra", "en")])
def test_tiny_model_tells_its_languages_apart(tiny, text, expected):
    probabilities = tiny.probabilities(text)
    assert next(iter(probabilities)) == expected
    assert probabilities[expected] > 0.9
    assert math.isclose(sum(probabilities.values()), 1.0)


def test_training_accepts_generators(tiny):
    again = LanguageModel.train({"sv": (s for s in ZORBISH), "en": iter(PLOVIAN)})
    assert again.probabilities("zorba plov") == tiny.probabilities("zorba plov")


def test_rare_raw_grams_are_left_out_but_counted_in_the_total():
    model = LanguageModel.train({"sv": ["abc abc xyz"]}, min_count=2)
    raw = model.raw["sv"]
    assert " abc" in raw.counts and "xyz" not in raw.counts
    assert raw.total == len(raw_grams("abc abc xyz"))
    assert model.word["sv"].counts == {"abc": 2, "xyz": 1}


def test_save_load_round_trip_gives_identical_probabilities(tiny, tmp_path):
    path = tmp_path / "nested" / "lid.json.gz"
    tiny.save(path)
    assert path.exists()
    loaded = LanguageModel.load(path)
    assert loaded.languages == tiny.languages
    for text in ["zorba kilu", "plov dresh", "zorba plov", "mantra wethra omni", "hej", "Zorba!"]:
        assert loaded.probabilities(text) == tiny.probabilities(text)
        assert loaded.log_scores(text) == tiny.log_scores(text)
    for code in tiny.languages:
        assert dict(loaded.char[code].freq) == dict(tiny.char[code].freq)
        assert loaded.char[code].n_words == tiny.char[code].n_words
        assert loaded.raw[code] == tiny.raw[code]
        assert loaded.word[code] == tiny.word[code]


def test_saved_file_is_deterministic_gzipped_json(tiny, tmp_path):
    tiny.save(tmp_path / "a.json.gz")
    with gzip.open(tmp_path / "a.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    assert set(data) == {"sv", "en"}
    assert set(data["sv"]) == {"langdetect", "raw", "words"}
    LanguageModel.load(tmp_path / "a.json.gz").save(tmp_path / "b.json.gz")
    with gzip.open(tmp_path / "a.json.gz", "rt", encoding="utf-8") as a, \
            gzip.open(tmp_path / "b.json.gz", "rt", encoding="utf-8") as b:
        assert a.read() == b.read()


def test_candidates_follow_the_script_and_the_model(tiny, shipped):
    assert tiny.candidates("zorba") == ("sv", "en")
    assert tiny.candidates("привет") == ()  # no Cyrillic language in the tiny model
    assert tiny.probabilities("привет") == {}
    assert shipped.candidates("привет как дела") == ("uk", "ru")
    assert shipped.candidates("привіт") == ("uk", "ru")
    assert shipped.candidates("ሰላም") == ("am", "ti")
    assert shipped.candidates("سلام") == ("ar", "fa", "ckb", "ps")
    assert shipped.candidates("hello") == ("sv", "en", "so", "kmr", "tr")
    assert shipped.candidates("2 🙂 ???") == ()


def test_probabilities_over_given_candidates(shipped):
    probabilities = shipped.probabilities("привет как дела", candidates=("ru",))
    assert probabilities == {"ru": 1.0}
    assert shipped.probabilities("", candidates=()) == {}


def test_prior_shifts_the_probabilities(tiny):
    plain = tiny.probabilities("zorba plov")
    tipped = tiny.probabilities("zorba plov", prior={"en": 1000.0})
    assert tipped["en"] > plain["en"]
    assert math.isclose(sum(tipped.values()), 1.0)


def test_the_shipped_profile_has_the_thirteen_languages(shipped):
    assert PROFILE_FILE.name == "lid.json.gz" and PROFILE_FILE.is_file()
    assert set(shipped.languages) == set(LANGUAGES)
    assert len(shipped.languages) == 13
    for code in LANGUAGES:
        assert shipped.char[code].freq, code
        assert shipped.raw[code].total > 0, code
        assert shipped.word[code].total > 0, code


def test_every_language_belongs_to_exactly_one_script():
    codes = [code for codes in SCRIPTS.values() for code in codes]
    assert sorted(codes) == sorted(LANGUAGES)


@pytest.mark.parametrize(
    "ch, script",
    [("a", "LATIN"), ("å", "LATIN"), ("ы", "CYRILLIC"), ("і", "CYRILLIC"), ("ሰ", "ETHIOPIC"), ("س", "ARABIC"),
     ("ی", "ARABIC"), ("ڵ", "ARABIC"), ("1", None), ("🙂", None), (" ", None), ("中", None)],
)
def test_script_of(ch, script):
    assert script_of(ch) == script


@pytest.mark.parametrize(
    "text, script",
    [("hej привет как", "CYRILLIC"), ("ok سلام", "ARABIC"), ("", None), ("123 !!", None), ("ሰላም hi", "ETHIOPIC")],
)
def test_dominant_script(text, script):
    assert dominant_script(text) == script


def test_words_and_grams():
    assert words("Hej, DU! 12 st_ck") == ["hej", "du", "st", "ck"]
    assert raw_grams("Hi!") == ["h", "i", " h", "hi", "i ", " hi", "hi ", " hi "]
    assert langdetect_grams("ab") == ["a", " a", "b", "ab", " ab"]
