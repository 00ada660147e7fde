"""The language catalogues: complete, consistent with Swedish, and Swedish in plain language."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from bot.i18n import load_catalogs
from bot.i18n.catalog import Catalog, CatalogError, Catalogs, _read
from bot.intake.questions import INTAKE_QUESTIONS
from tests.conftest import PROJECT_ROOT

LOCALES = PROJECT_ROOT / "locales"
CATALOG_FILES = sorted(LOCALES.glob("*.yml"))
# messages that are comma-separated word lists or a format, not prose
LIST_MESSAGES = {"words_yes", "words_no", "weekdays", "months", "day_format"}


def reference() -> Catalog:
    return _read(LOCALES / "sv.yml")


def differences(reference_: Catalog, other: Catalog) -> dict:
    ref_keys, keys = reference_.keys(), other.keys()
    return {
        "missing": sorted(set(ref_keys) - set(keys)),
        "extra": sorted(set(keys) - set(ref_keys)),
        "placeholders": sorted(
            f"{key}: {keys[key]} instead of {ref_keys[key]}"
            for key in set(ref_keys) & set(keys)
            if keys[key] != ref_keys[key]
        ),
    }


@pytest.fixture(params=CATALOG_FILES, ids=[p.stem for p in CATALOG_FILES])
def catalog_file(request) -> Path:
    return request.param


def test_swedish_is_there():
    assert (LOCALES / "sv.yml") in CATALOG_FILES


def test_same_keys_as_swedish(catalog_file):
    found = differences(reference(), _read(catalog_file))
    assert found["missing"] == [], f"{catalog_file.name} lacks keys"
    assert found["extra"] == [], f"{catalog_file.name} has keys Swedish does not have"


def test_same_placeholders_as_swedish(catalog_file):
    assert differences(reference(), _read(catalog_file))["placeholders"] == []


def test_every_question_and_option_has_a_text(catalog_file):
    catalog = _read(catalog_file)
    problems = []
    for question in INTAKE_QUESTIONS:
        if question.key not in catalog.questions:
            problems.append(f"{question.key}: no question")
            continue
        if not catalog.question_text(question.key):
            problems.append(f"{question.key}: empty text")
        labels = catalog.questions[question.key].get("options") or {}
        for code in labels:
            if not isinstance(code, str):
                problems.append(f"{question.key}: option code {code!r} is a {type(code).__name__}; quote it")
        for code in question.options:
            if not str(labels.get(code) or "").strip():
                problems.append(f"{question.key}: no label for {code!r}")
        extra = {str(c) for c in labels} - set(question.options)
        if extra:
            problems.append(f"{question.key}: labels for unknown options {sorted(extra)}")
    assert problems == []


def test_meta(catalog_file):
    raw = yaml.safe_load(catalog_file.read_text(encoding="utf-8"))
    meta = raw.get("meta") or {}
    assert meta.get("code") == catalog_file.stem
    assert meta.get("direction") in ("ltr", "rtl")
    assert str(meta.get("status") or "").strip(), "meta.status is missing"
    assert str(meta.get("name") or "").strip(), "meta.name is missing"


def test_word_lists(catalog_file):
    catalog = _read(catalog_file)
    assert len(catalog.words("weekdays")) == 7
    assert len(catalog.words("months")) == 12
    assert catalog.words("words_yes") and catalog.words("words_no")
    assert not set(catalog.words("words_yes")) & set(catalog.words("words_no"))


def test_catalogs_load_in_order():
    catalogs = load_catalogs(LOCALES)
    assert catalogs.languages[0] == "sv"
    assert sorted(catalogs.languages) == sorted(p.stem for p in CATALOG_FILES)


def test_the_comparison_finds_missing_extra_and_changed_keys(tmp_path):
    raw = yaml.safe_load((LOCALES / "sv.yml").read_text(encoding="utf-8"))
    raw["meta"]["code"] = "xx"
    del raw["messages"]["goodbye"]
    raw["messages"]["surprise"] = "Hej"
    raw["messages"]["session_option"] = "{day} {time} {plats}"
    raw["questions"]["schooling"]["options"] = {0: "Inga år", 16: "1–6 år"}
    path = tmp_path / "xx.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    found = differences(reference(), _read(path))
    assert "messages.goodbye" in found["missing"]
    assert "questions.schooling.options.1_6" in found["missing"]
    assert "messages.surprise" in found["extra"]
    assert found["placeholders"] == [
        "messages.session_option: ('day', 'plats', 'time') instead of ('day', 'free', 'place', 'time')"
    ]


def test_bad_catalogues_are_refused(tmp_path):
    (tmp_path / "xx.yml").write_text("meta: {code: yy}\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        _read(tmp_path / "xx.yml")
    (tmp_path / "xx.yml").write_text("meta: {code: xx, direction: up}\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        _read(tmp_path / "xx.yml")
    (tmp_path / "xx.yml").write_text("meta: {code: xx}\n", encoding="utf-8")
    with pytest.raises(CatalogError):
        load_catalogs(tmp_path)  # no Swedish


# -- rendering ----------------------------------------------------------------------------------

def test_text_fills_placeholders():
    sv = load_catalogs(LOCALES).get("sv")
    assert sv.text("session_option", day="måndag 1 december", time="10:00", place="Gustavsberg", free=3) == (
        "måndag 1 december kl 10:00, Gustavsberg. 3 platser kvar."
    )
    consent = sv.text("consent_declined", phone="08-570 470 00", hours="9–16")
    assert "Ring 08-570 470 00, 9–16." in consent
    assert not consent.endswith("\n")
    assert "{" not in consent


def test_text_needs_every_placeholder_and_a_known_key():
    sv = load_catalogs(LOCALES).get("sv")
    with pytest.raises(KeyError):
        sv.text("session_option", day="måndag", time="10:00")
    with pytest.raises(CatalogError):
        sv.text("no_such_message")


def test_option_labels():
    sv = load_catalogs(LOCALES).get("sv")
    assert sv.option_label("municipality", "varmdo") == "Värmdö"
    assert sv.option_labels("schooling")["1_6"] == "1–6 år"
    assert sv.option_labels("name") == {}


@pytest.mark.parametrize("code", ["xx", None, "", "SV"])
def test_unknown_language_falls_back_to_swedish(code):
    catalogs = load_catalogs(LOCALES)
    assert catalogs.get(code).code == "sv"
    assert code not in catalogs


def test_catalogs_need_swedish():
    with pytest.raises(CatalogError):
        Catalogs({}, [])


# -- plain Swedish ------------------------------------------------------------------------------

class _Samples(dict):
    def __missing__(self, key):
        return "Värmdö"


SAMPLES = _Samples(free="3", position="2", retention_months="24", time="10:00", phone="08-570 470 00",
                   hours="9–16")
WORD = re.compile(r"[^\W_]+(?:[-–:][^\W_]+)*")
MAX_LIX = 25
MAX_WORDS = 12


def swedish_texts():
    sv = _read(LOCALES / "sv.yml")
    fill = string.Formatter().vformat
    texts = [fill(text, (), SAMPLES) for key, text in sv.messages.items() if key not in LIST_MESSAGES]
    for question in sv.questions.values():
        texts.append(fill(str(question["text"]), (), SAMPLES))
        texts.extend(str(label) for label in (question.get("options") or {}).values())
    return texts


def sentences(texts):
    found = []
    for text in texts:
        for line in text.splitlines():
            for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
                if WORD.search(sentence):
                    found.append(sentence)
    return found


def lix(sentences_) -> float:
    words = [w for s in sentences_ for w in WORD.findall(s)]
    long_words = [w for w in words if sum(ch.isalpha() for ch in w) > 6]
    return len(words) / len(sentences_) + 100 * len(long_words) / len(words)


def test_lix_measure():
    # "Det är en bil. Bilen är röd." 7 words, 2 sentences, no long word
    assert lix(sentences(["Det är en bil. Bilen är röd."])) == pytest.approx(3.5)
    # one sentence of 4 words, 2 of them long: 4 + 50
    assert lix(sentences(["Arbetsförmedlingen kontaktar dig snart."])) == pytest.approx(54)
    assert sentences(["Hej! Vad heter du?\nRing {phone}."]) == ["Hej!", "Vad heter du?", "Ring {phone}."]


def test_swedish_is_plain_language():
    found = sentences(swedish_texts())
    measured = lix(found)
    print(f"LIX of the Swedish catalogue: {measured:.1f} ({len(found)} sentences)")
    too_long = [s for s in found if len(WORD.findall(s)) > MAX_WORDS]
    assert too_long == [], f"sentences longer than {MAX_WORDS} words"
    assert measured <= MAX_LIX
    assert "{" not in " ".join(found)
