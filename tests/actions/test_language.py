"""The language menu (action_ask_language) and action_set_language outside the forms."""

from __future__ import annotations

import pytest

from actions.forms import ActionAskLanguage
from actions.language import ActionSetLanguage
from tests.actions.conftest import (
    all_slots,
    available_languages,
    make_tracker,
    message,
    run,
    set_language,
    slots_set,
    texts,
    unavailable_language,
)

LANGUAGES = available_languages()
MENU = {
    "text": "\n".join(prompt for _, _, prompt in LANGUAGES),
    "buttons": [
        {"title": name, "payload": '/set_language{"language":"' + code + '"}'} for code, name, _ in LANGUAGES
    ],
}
UNAVAILABLE = unavailable_language()


def outside_form(latest, **slots):
    return make_tracker(all_slots(**slots), latest, form=None)


@pytest.mark.parametrize("language", [None, "sv", "en"])
async def test_language_menu_lists_every_catalogue_in_its_own_script(domain, language):
    tracker = make_tracker(all_slots(language=language, requested_slot="language"), message("språk", "change_language"))

    events, messages = await run(ActionAskLanguage(), tracker, domain)

    assert events == []
    assert len(messages) == 1
    assert messages[0]["text"] == MENU["text"]
    assert messages[0]["buttons"] == MENU["buttons"]


def test_swedish_and_english_come_first_in_their_own_script():
    assert MENU["text"].startswith("Välj språk.\nChoose a language.")
    assert MENU["buttons"][:2] == [
        {"title": "Svenska", "payload": '/set_language{"language":"sv"}'},
        {"title": "English", "payload": '/set_language{"language":"en"}'},
    ]


@pytest.mark.parametrize(
    "latest, current, expected, text",
    [
        (set_language("en", text="English please"), "sv", "en", "I will write in English now."),
        (set_language("sv", text="på svenska"), "en", "sv", "Nu skriver jag på svenska."),
        (set_language("en"), None, "en", "I will write in English now."),
    ],
)
async def test_set_language_outside_the_form_switches(domain, latest, current, expected, text):
    events, messages = await run(ActionSetLanguage(), outside_form(latest, language=current), domain)

    assert slots_set(events) == {"language": expected}
    assert texts(messages) == [text]


async def test_set_language_to_an_unavailable_language_shows_the_menu(domain):
    events, messages = await run(ActionSetLanguage(), outside_form(set_language(UNAVAILABLE, text="arabiska")),
                                 domain)

    assert texts(messages) == ["Det språket finns inte än. Välj ett språk i listan.", MENU["text"]]
    assert messages[1]["buttons"] == MENU["buttons"]
    assert slots_set(events) == {"language": None}


async def test_unavailable_language_outside_the_form_keeps_the_current_language(domain):
    tracker = outside_form(set_language(UNAVAILABLE, text="can you write in Arabic?"), language="en")

    events, messages = await run(ActionSetLanguage(), tracker, domain)

    assert messages[0]["text"] == "That language is not ready yet. Choose a language from the list."
    assert slots_set(events) == {"language": "en"}
