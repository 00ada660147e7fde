"""bot.channels.sms without a gateway: numbers, replies, one SMS per turn; the SMS catalogue texts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.channels.sms import MAX_INBOUND, e164, render, resolve_reply
from bot.channels.sms_text import is_gsm
from bot.i18n import load_catalogs
from bot.i18n.catalog import Catalog, placeholders
from tests.conftest import PROJECT_ROOT

RLM = "\u200f"
LOCALES = PROJECT_ROOT / "locales"
LOCALE_FILES = sorted(LOCALES.glob("*.yml"))

YES = '/choose{"choice":"yes"}'
NO = '/choose{"choice":"no"}'
OPTIONS = [{"title": "Ja", "payload": YES}, {"title": "Nej", "payload": NO}]


# -- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, expected",
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("+46701234567", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046701234567", "+46701234567"),
        # phonenumbers takes a leading "46" without "+" as Sweden's country code (46elks
        # and Twilio always send "+", but a gateway that drops it still gets the same number)
        ("46701234567", "+46701234567"),
        ("+4915112345678", "+4915112345678"),
        ("INFO", None),
        ("Kommunen", None),
        ("", None),
        ("123", None),
        ("+46", None),
    ],
)
def test_e164(number, expected):
    assert e164(number, "SE") == expected


def test_e164_uses_the_region_for_national_numbers():
    assert e164("0151 12345678", "DE") == "+4915112345678"
    assert e164("0151 12345678", "SE") != "+4915112345678"


# -- replies --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, payload",
    [
        ("1", YES),
        (" 2 ", NO),
        ("2.", NO),
        ("\u0661", YES),  # Arabic-Indic one
        ("\u06f2", NO),  # Persian two
        ("ja", YES),
        ("JA", YES),
        (" Ja! ", YES),
        ("nej", NO),
    ],
)
def test_a_reply_naming_an_option_gives_its_payload(reply, payload):
    assert resolve_reply(reply, OPTIONS) == payload


@pytest.mark.parametrize("reply", ["3", "0", "12", "kanske", "ja tack", "Jag heter Amal"])
def test_any_other_reply_is_the_text_itself(reply):
    assert resolve_reply(reply, OPTIONS) == reply


def test_an_option_title_with_diacritics_matches_a_plain_reply():
    options = [{"title": "Värmdö", "payload": '/choose{"choice":"varmdo"}'},
               {"title": "Nacka", "payload": '/choose{"choice":"nacka"}'}]
    assert resolve_reply("varmdo", options) == '/choose{"choice":"varmdo"}'
    assert resolve_reply("NACKA", options) == '/choose{"choice":"nacka"}'


def test_without_options_a_number_is_just_text():
    assert resolve_reply("1", []) == "1"
    assert resolve_reply(" ja ", []) == "ja"


def test_typed_commands_and_intents():
    assert resolve_reply("/stop", OPTIONS) == "/stop"
    assert resolve_reply("/stopp", []) == "/stop"
    assert resolve_reply("/hjalp", OPTIONS) == "/help"
    # nobody can type an intent with entities
    assert resolve_reply(YES, []) == 'choose{"choice":"yes"}'
    assert resolve_reply(YES, OPTIONS) == 'choose{"choice":"yes"}'


def test_a_long_reply_is_cut():
    assert resolve_reply("a" * (MAX_INBOUND + 500), OPTIONS) == "a" * MAX_INBOUND


# -- one SMS per turn -----------------------------------------------------------------------


def test_render_joins_texts_and_numbers_only_the_last_question():
    first = [{"title": "Ja", "payload": YES}, {"title": "Nej", "payload": NO}]
    last = [{"title": "Nacka", "payload": '/choose{"choice":"nacka"}'},
            {"title": "Stockholm", "payload": '/choose{"choice":"stockholm"}'},
            {"title": "Hoppa över", "payload": "/skip"}]
    body, options = render([
        {"recipient_id": "x", "text": "Tack!"},
        {"recipient_id": "x", "text": "Får vi spara?", "buttons": first},
        {"recipient_id": "x", "text": "  Var bor du?  ", "buttons": last},
    ])
    assert body == "Tack!\nFår vi spara?\nVar bor du?\n1 Nacka\n2 Stockholm\n3 Hoppa över"
    assert options == last


def test_render_keeps_the_question_with_buttons_when_a_text_follows_it():
    body, options = render([
        {"text": "Hur gammal är du?", "buttons": [{"title": "18-24", "payload": "/a"}, {"title": "25-34", "payload": "/b"}]},
        {"text": "Skriv en siffra om du vill."},
    ])
    assert body == "Hur gammal är du?\n1 18-24\n2 25-34\nSkriv en siffra om du vill."
    assert [o["payload"] for o in options] == ["/a", "/b"]


def test_render_without_buttons_offers_no_options():
    body, options = render([{"text": "Hej!"}, {"image": "https://example.org/x.png"}, {"text": ""}])
    assert body == "Hej!"
    assert options == []
    assert render([]) == ("", [])


def test_render_makes_swedish_typography_gsm7():
    body, options = render([
        {"text": "Träffen är 10–12 på ”Träffpunkten” – välkommen…"},
        {"text": "Kommer du?", "buttons": [{"title": "Ja – gärna", "payload": YES}, {"title": "Nej", "payload": NO}]},
    ])
    assert is_gsm(body)
    assert body == 'Träffen är 10-12 på "Träffpunkten" - välkommen...\nKommer du?\n1 Ja - gärna\n2 Nej'
    assert options[0]["title"] == "Ja – gärna"  # what the reply is matched against stays as it was
    assert resolve_reply("ja - garna", options) == YES


def test_render_drops_a_redundant_rlm_but_keeps_one_before_a_latin_word():
    body, _options = render([
        {"text": RLM + "مرحبا بك"},
        {"text": RLM + "Värmdö هي بلديتك"},
    ])
    assert not is_gsm(body)
    assert body == "مرحبا بك\n" + RLM + "Värmdö هي بلديتك"


def test_render_of_arabic_options_keeps_the_arabic_text():
    body, options = render([{"text": "هل نحفظ أجوبتك؟", "buttons": [{"title": "نعم", "payload": YES},
                                                                  {"title": "لا", "payload": NO}]}])
    assert body == "هل نحفظ أجوبتك؟\n1 نعم\n2 لا"
    assert resolve_reply("١", options) == YES
    assert resolve_reply("نعم", options) == YES


# -- the SMS texts of the catalogues --------------------------------------------------------


@pytest.fixture(scope="module")
def catalogs():
    return load_catalogs(Path(LOCALES))


def test_for_sms_replaces_the_texts_that_have_sms_versions(catalogs):
    sv = catalogs.get("sv")
    sms = sv.for_sms()
    assert sms.variant == "sms"
    assert any(sv.messages[key] != text for key, text in sv.sms["messages"].items())
    for key, text in sv.sms["messages"].items():
        assert sms.messages[key] == text
    assert sms.question_text("name") == "Vad heter du?"
    assert sv.question_text("name") != "Vad heter du?"
    assert sms.question_text("consent_data") == str(sv.sms["questions"]["consent_data"]["text"]).strip()


def test_for_sms_replaces_the_options_of_consent_data(catalogs):
    sv = catalogs.get("sv")
    sms = sv.for_sms()
    assert sv.option_labels("consent_data")["yes"] != "Ja"
    assert sms.option_labels("consent_data") == {"yes": "Ja", "no": "Nej"}


def test_for_sms_keeps_what_has_no_sms_version(catalogs):
    sv = catalogs.get("sv")
    sms = sv.for_sms()
    untouched = set(sv.messages) - set(sv.sms["messages"])
    assert untouched
    for key in untouched:
        assert sms.messages[key] == sv.messages[key]
    untouched_questions = set(sv.questions) - set(sv.sms["questions"])
    assert "swedish_level" in untouched_questions
    for key in untouched_questions:
        assert sms.questions[key] == sv.questions[key]
    # a question with only an SMS text keeps its options
    assert sms.option_labels("age_band") == sv.option_labels("age_band")
    assert sms.question_text("age_band") != sv.question_text("age_band")
    assert set(sms.questions) >= set(sv.questions)


def test_for_sms_leaves_the_catalogue_itself_alone(catalogs):
    sv = catalogs.get("sv")
    before_messages, before_consent = dict(sv.messages), dict(sv.questions["consent_data"])
    sv.for_sms()
    assert dict(sv.messages) == before_messages
    assert dict(sv.questions["consent_data"]) == before_consent
    assert sv.variant == ""


def test_for_sms_merges_options_and_parts_of_a_question():
    catalog = Catalog(
        code="xx", name="xx", direction="ltr", status="draft", reviewer="",
        messages={"hello": "Hello there, {name}!", "bye": "Bye"},
        questions={"q": {"text": "A long question?", "options": {"a": "Option A", "b": "Option B"}, "also": {"a": "alpha"}}},
        sms={"messages": {"hello": "Hi {name}"}, "questions": {"q": {"options": {"b": "B"}}, "new": "New?"}},
    )
    sms = catalog.for_sms()
    assert sms.option_labels("q") == {"a": "Option A", "b": "B"}
    assert sms.question_text("q") == "A long question?"
    assert sms.option_words("q") == {"a": ["alpha"]}
    assert sms.question_text("new") == "New?"
    assert sms.text("hello", name="Amal") == "Hi Amal"
    assert sms.text("bye") == "Bye"
    assert catalog.option_labels("q") == {"a": "Option A", "b": "Option B"}


def test_for_sms_twice_gives_the_same_catalogue(catalogs):
    for catalog in catalogs.all():
        once = catalog.for_sms()
        assert once.for_sms() == once
        assert catalog.for_sms() == once


def test_for_sms_texts_render_with_the_values_of_the_normal_texts(catalogs):
    sv = catalogs.get("sv").for_sms()
    text = sv.text("booking_confirmed", day="tisdag 3 juni", time="10:00", address="Odelbergs väg 11", bring="legitimation")
    assert text == "Du är bokad tisdag 3 juni kl 10:00, Odelbergs väg 11. Ta med legitimation."


def sms_keys(raw_sms: dict) -> dict:
    """Every key of an ``sms`` section with its placeholders."""
    found = {}
    for key, text in (raw_sms.get("messages") or {}).items():
        found[f"messages.{key}"] = placeholders(str(text))
    for key, question in (raw_sms.get("questions") or {}).items():
        question = question if isinstance(question, dict) else {"text": question}
        for part, value in question.items():
            if part == "options":
                for option, label in (value or {}).items():
                    found[f"questions.{key}.options.{option}"] = placeholders(str(label))
            else:
                found[f"questions.{key}.{part}"] = placeholders(str(value))
    return found


def raw_sms(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return (yaml.safe_load(handle) or {}).get("sms") or {}


@pytest.mark.parametrize("path", LOCALE_FILES, ids=[p.stem for p in LOCALE_FILES])
def test_every_language_has_the_sms_texts_of_swedish(path):
    reference = sms_keys(raw_sms(LOCALES / "sv.yml"))
    assert reference, "sv.yml has no sms section"
    keys = sms_keys(raw_sms(path))
    assert keys, f"{path.name} has no sms section"
    assert sorted(set(reference) - set(keys)) == [], "missing"
    assert sorted(set(keys) - set(reference)) == [], "extra"
    assert {k: v for k, v in keys.items() if v != reference[k]} == {}, "other placeholders than Swedish"


@pytest.mark.parametrize("path", LOCALE_FILES, ids=[p.stem for p in LOCALE_FILES])
def test_sms_texts_need_no_value_the_caller_does_not_have(path, catalogs):
    """An SMS text may drop placeholders of the normal text, but not need new ones (except these)."""
    catalog = catalogs.get(path.stem)
    assert catalog.code == path.stem
    provided_besides = {"welcome": {"activity_short"}}  # actions.common passes it with the others
    for key, text in (catalog.sms.get("messages") or {}).items():
        extra = set(placeholders(text)) - set(placeholders(catalog.messages[key])) - provided_besides.get(key, set())
        assert not extra, f"{path.stem} sms.messages.{key} needs {extra}"
