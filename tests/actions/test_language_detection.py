"""Language detection in the actions: first contact, switch offers and the language menu's answer.

The latest message carries ``language_detection`` as the NLU component
(bot.language.components.LanguageDetection) produces it; the real catalogues of locales/ are used.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.common import FIRST_CONTACT_CONFIDENCE, SWITCH_CONFIDENCE, catalogs, detection, first_contact_language
from actions.language import read_language_choice, switch_language, switch_offer
from bot.language.detect import default_detector
from tests.actions.conftest import LOCALES, all_slots, available_languages, make_tracker, message, slots_set, texts

RLM = "\u200f"
CATALOGUED = {"sv", "en", "ar", "so", "ti", "fa", "uk", "ckb", "kmr"}
MENU_TEXT = "\n".join(prompt for _, _, prompt in available_languages())
MENU_BUTTONS = [{"title": name, "payload": '/set_language{"language":"' + code + '"}'}
                for code, name, _ in available_languages()]


def detected(text: str, found: Optional[Dict[str, Any]] = None, metadata: Optional[Dict[str, Any]] = None,
             intent: Optional[str] = "inform") -> Dict[str, Any]:
    """Parse data of a message with the NLU component's detection (or the given one)."""
    parsed = message(text, intent, metadata=metadata)
    if found is None:
        found = default_detector().detect(text).as_dict() if text and not text.startswith("/") else None
    if found is not None:
        parsed["language_detection"] = found
    return parsed


def guess(probabilities: Dict[str, float]) -> Dict[str, Any]:
    """A hand-made detection as the component would put it in the parse data."""
    language, confidence = max(probabilities.items(), key=lambda kv: kv[1])
    return {"language": language, "confidence": confidence, "probabilities": dict(probabilities)}


def tracker_with(latest: Dict[str, Any], **slots: Any):
    return make_tracker(all_slots(**slots), latest)


def payload(code: str) -> str:
    return '/set_language{"language":"' + code + '"}'


def catalogue(code: str):
    return catalogs().get(code)


def test_the_real_catalogues_are_used():
    assert CATALOGUED <= {p.stem for p in LOCALES.glob("*.yml")}
    assert CATALOGUED <= set(catalogs().languages)
    assert "tr" not in catalogs() and "ru" not in catalogs()


# -- detection(): the component's probabilities weighed by context --------------------------------

def test_detection_reads_the_components_output():
    found = detection(tracker_with(detected("salaan sidee tahay")))
    assert found.language == "so"
    assert found.confidence >= 0.99


def test_detection_without_the_components_output_is_undetermined():
    found = detection(tracker_with(message("salaan sidee tahay")))
    assert found.language == "und"
    assert found.confidence == 0.0


def test_detection_weighs_the_conversations_language_and_the_channels_hint():
    close = guess({"sv": 0.45, "en": 0.55})
    assert detection(tracker_with(detected("ok", close))).language == "en"
    assert detection(tracker_with(detected("ok", close)), current="sv").language == "sv"
    tie = guess({"sv": 0.5, "en": 0.5})
    assert detection(tracker_with(detected("ok", tie, metadata={"language_code": "sv-SE"}))).language == "sv"


# -- first_contact_language ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("salaan sidee tahay", "so"),
        ("hej hej", "sv"),
        ("hello there", "en"),
        ("مرحبا كيف حالك", "ar"),
        ("привіт як справи", "uk"),
        ("سڵاو چۆنی باشی", "ckb"),
        ("silav tu çawa yî", "kmr"),
        ("ሰላም ከመይ ኣለኹም", "ti"),
        ("سلام خوب هستید", "fa"),
    ],
)
def test_first_contact_answers_a_confident_message_of_two_words_in_its_language(text, expected):
    assert first_contact_language(tracker_with(detected(text))) == expected


@pytest.mark.parametrize("text", ["salam", "salaan", "hej", "مرحبا", "привіт"])
def test_first_contact_ignores_a_single_word(text):
    assert first_contact_language(tracker_with(detected(text))) is None


def test_first_contact_ignores_a_single_word_even_when_sure():
    assert first_contact_language(tracker_with(detected("salam", guess({"so": 0.99, "tr": 0.01})))) is None


@pytest.mark.parametrize("text", ["merhaba nasılsın", "привет как дела", "سلام څنګه یې", "ሰላም እንዴት ነህ"])
def test_first_contact_ignores_a_language_without_a_catalogue(text):
    found = default_detector().detect(text)
    assert found.language not in catalogs() and found.confidence >= FIRST_CONTACT_CONFIDENCE
    assert first_contact_language(tracker_with(detected(text))) is None


@pytest.mark.parametrize(
    "probabilities",
    [{"so": 0.6, "sv": 0.4}, {"sv": 0.55, "en": 0.45}, {"so": 0.89, "kmr": 0.11}],
)
def test_first_contact_ignores_a_low_confidence(probabilities):
    assert first_contact_language(tracker_with(detected("salaan walaal", guess(probabilities)))) is None


def test_first_contact_accepts_the_confidence_threshold():
    found = guess({"so": FIRST_CONTACT_CONFIDENCE, "sv": 1 - FIRST_CONTACT_CONFIDENCE})
    assert first_contact_language(tracker_with(detected("salaan walaal", found))) == "so"


def test_first_contact_without_a_detection_shows_the_menu():
    assert first_contact_language(tracker_with(message("salaan sidee tahay"))) is None


@pytest.mark.parametrize("text", ["salaan sidee tahay", "hej", "2", ""])
def test_a_language_chosen_on_the_web_page_wins(text):
    latest = detected(text, metadata={"language": "ar"})
    assert first_contact_language(tracker_with(latest)) == "ar"


def test_a_language_chosen_on_the_page_without_a_catalogue_is_ignored():
    assert first_contact_language(tracker_with(detected("salaan sidee tahay", metadata={"language": "tr"}))) == "so"
    assert first_contact_language(tracker_with(detected("hej", metadata={"language": "tr"}))) is None


@pytest.mark.parametrize("text", ["2", "🙂", "", "07:30"])
def test_telegram_language_code_is_used_when_detection_is_undetermined(text):
    latest = detected(text, metadata={"language_code": "uk-UA"})
    assert first_contact_language(tracker_with(latest)) == "uk"


def test_telegram_language_code_agrees_with_a_single_word():
    assert first_contact_language(tracker_with(detected("привіт", metadata={"language_code": "uk"}))) == "uk"


def test_telegram_language_code_loses_to_a_clear_detection():
    latest = detected("salaan sidee tahay", metadata={"language_code": "uk-UA"})
    assert first_contact_language(tracker_with(latest)) == "so"


def test_telegram_language_code_does_not_override_a_single_word_in_another_language():
    assert first_contact_language(tracker_with(detected("hej", metadata={"language_code": "uk"}))) is None


def test_telegram_language_code_without_a_catalogue_is_ignored():
    assert first_contact_language(tracker_with(detected("2", metadata={"language_code": "tr-TR"}))) is None


def test_telegram_language_code_tips_a_close_call():
    latest = detected("ok fine", guess({"sv": 0.48, "en": 0.52}), metadata={"language_code": "sv-SE"})
    assert first_contact_language(tracker_with(latest)) == "sv"


def test_telegram_language_code_is_used_for_arabic_indic_digits():
    assert first_contact_language(tracker_with(detected("٢", metadata={"language_code": "ar"}))) == "ar"


# -- switch_offer --------------------------------------------------------------------------------

def offer(latest: Dict[str, Any], **slots: Any):
    dispatcher = CollectingDispatcher()
    events = switch_offer(dispatcher, tracker_with(latest, **slots))
    return events, dispatcher.messages


def test_a_clear_somali_message_in_a_swedish_chat_is_offered_somali():
    events, messages = offer(detected("waan ku faraxsanahay"), language="sv")

    assert slots_set(events) == {"language": "sv", "languages_offered": ["so"]}
    assert len(messages) == 1
    so, sv = catalogue("so"), catalogue("sv")
    assert messages[0]["text"] == so.text("switch_offer")
    assert messages[0]["buttons"] == [
        {"title": so.text("switch_accept"), "payload": payload("so")},
        {"title": sv.text("switch_keep"), "payload": payload("sv")},
    ]
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        '/set_language{"language":"so"}', '/set_language{"language":"sv"}']
    assert messages[0]["language"] == "so"


def test_the_offer_is_made_once():
    events, messages = offer(detected("waan ku faraxsanahay"), language="sv", languages_offered=["so"])
    assert events is None
    assert messages == []


def test_another_language_is_still_offered_after_one_was():
    events, messages = offer(detected("waan ku faraxsanahay"), language="sv", languages_offered=["en"])
    assert slots_set(events) == {"language": "sv", "languages_offered": ["en", "so"]}
    assert len(messages) == 1


@pytest.mark.parametrize("text", ["salaan walaal", "hello there"])
def test_two_words_in_the_same_script_are_not_enough(text):
    assert default_detector().detect(text, current="sv").confidence >= SWITCH_CONFIDENCE
    events, messages = offer(detected(text), language="sv")
    assert events is None
    assert messages == []


def test_one_word_in_another_script_is_enough():
    events, messages = offer(detected("مرحبا"), language="sv")

    assert slots_set(events) == {"language": "sv", "languages_offered": ["ar"]}
    ar, sv = catalogue("ar"), catalogue("sv")
    assert len(messages) == 1
    assert messages[0]["text"] == RLM + ar.text("switch_offer")
    assert messages[0]["buttons"] == [
        {"title": ar.text("switch_accept"), "payload": payload("ar")},
        {"title": sv.text("switch_keep"), "payload": payload("sv")},
    ]
    assert messages[0]["direction"] == "rtl"


def test_a_latin_message_in_an_arabic_chat_is_offered_its_language():
    events, messages = offer(detected("hello there"), language="ar")
    assert slots_set(events) == {"language": "ar", "languages_offered": ["en"]}
    assert messages[0]["text"] == catalogue("en").text("switch_offer")
    assert messages[0]["buttons"][1] == {"title": catalogue("ar").text("switch_keep"), "payload": payload("ar")}


def test_a_language_without_a_catalogue_gets_the_language_menu():
    events, messages = offer(detected("merhaba nasılsın bugün"), language="sv")

    assert slots_set(events) == {"language": "sv", "languages_offered": ["tr"]}
    assert texts(messages) == [catalogue("sv").text("language_unavailable"), MENU_TEXT]
    assert messages[1]["buttons"] == MENU_BUTTONS


def test_the_menu_for_a_language_without_a_catalogue_is_sent_once():
    events, messages = offer(detected("merhaba nasılsın bugün"), language="sv", languages_offered=["tr"])
    assert events is None
    assert messages == []


@pytest.mark.parametrize("text", ["jag vill prata med någon", "hej hej hej"])
def test_a_message_in_the_conversations_language_is_not_offered(text):
    assert offer(detected(text), language="sv") == (None, [])


def test_a_close_call_stays_in_the_conversations_language():
    found = guess({"so": 0.7, "sv": 0.3})
    assert offer(detected("waan ku faraxsanahay", found), language="sv") == (None, [])


def test_a_low_confidence_detection_is_not_offered():
    found = guess({"so": 0.9, "kmr": 0.1})
    assert offer(detected("waan ku faraxsanahay", found), language="sv") == (None, [])


@pytest.mark.parametrize("text", ["2", "🙂", "07:30 08:00 09:00", ""])
def test_messages_without_words_are_not_offered(text):
    assert offer(detected(text), language="sv") == (None, [])


def test_no_offer_before_a_language_is_chosen():
    assert offer(detected("waan ku faraxsanahay"), language=None) == (None, [])


def test_no_offer_for_a_tapped_button():
    latest = detected('/set_language{"language":"so"}', guess({"so": 1.0}), intent="set_language")
    assert offer(latest, language="sv") == (None, [])


def test_no_offer_without_the_components_output():
    assert offer(message("waan ku faraxsanahay"), language="sv") == (None, [])


# -- switch_language and read_language_choice ----------------------------------------------------

def test_switch_language_to_an_available_language():
    dispatcher = CollectingDispatcher()
    events = switch_language("so", dispatcher, tracker_with(message("af soomaali"), language="sv"))
    assert slots_set(events) == {"language": "so"}
    assert texts(dispatcher.messages) == [catalogue("so").text("language_changed")]


def test_switch_language_to_an_unavailable_language_keeps_the_current():
    dispatcher = CollectingDispatcher()
    events = switch_language("tr", dispatcher, tracker_with(message("türkçe"), language="en"))
    assert slots_set(events) == {"language": "en"}
    assert texts(dispatcher.messages) == [catalogue("en").text("language_unavailable")]


def test_switch_language_to_the_current_says_nothing():
    dispatcher = CollectingDispatcher()
    assert slots_set(switch_language("sv", dispatcher, tracker_with(message("svenska"), language="sv"))) == {
        "language": "sv"}
    assert dispatcher.messages == []


def read_choice(latest: Dict[str, Any], **slots: Any):
    dispatcher = CollectingDispatcher()
    events = read_language_choice(dispatcher, tracker_with(latest, requested_slot="language", **slots))
    return slots_set(events), dispatcher.messages


def test_menu_answer_written_in_a_language_chooses_it():
    assert read_choice(detected("salaan sidee tahay")) == ({"language": "so"}, [])


def test_menu_answer_by_number_or_name():
    order = catalogs().languages
    assert read_choice(detected("4")) == ({"language": order[3]}, [])
    assert read_choice(detected("Svenska")) == ({"language": "sv"}, [])


def test_menu_answer_in_a_language_without_a_catalogue_is_not_understood():
    chosen, messages = read_choice(detected("merhaba nasılsın bugün"))
    assert chosen == {"language": None}
    assert texts(messages) == [catalogue("sv").text("not_understood")]


def test_menu_answer_with_the_pages_choice():
    assert read_choice(detected("ok ok", metadata={"language": "fa"})) == ({"language": "fa"}, [])


def test_menu_answer_of_one_word_in_a_language_chooses_it():
    assert read_choice(detected("salaan")) == ({"language": "so"}, [])
