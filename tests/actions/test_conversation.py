"""Help, stop, a person to talk to, goodbye and not understood: catalogue texts."""

from __future__ import annotations

import pytest

from actions.conversation import ActionFallback, ActionGoodbye, ActionHelp, ActionStop
from tests.actions.conftest import all_slots, make_tracker, message, run, texts

PHONE = "08-570 470 00"
HOURS = "måndag–fredag 9–16"

SWEDISH = {
    ActionHelp: (
        "Jag ställer några frågor, en i taget.\n"
        "Tryck på ett svar eller skriv.\n"
        'Vet du inte? Skriv "hoppa över".\n'
        'Vill du sluta? Skriv "stopp".\n'
        'Vill du byta språk? Skriv "språk".'
    ),
    ActionGoodbye: "Tack för i dag. Hej då!",
    ActionFallback: "Jag förstod inte.\nSkriv hej för att börja.\nSkriv hjälp om du behöver hjälp.",
}
ENGLISH = {
    ActionHelp: (
        "I ask a few questions, one at a time.\n"
        "Tap an answer or type.\n"
        'If you do not know, type "skip".\n'
        'If you want to stop, type "stop".\n'
        'To change the language, type "language".'
    ),
    ActionGoodbye: "Thank you for today. Goodbye!",
    ActionFallback: "I did not understand.\nType hello to start.\nType help if you need help.",
}
STOPPED = "Okej, vi slutar här.\nDina svar skickas inte in.\nSkriv hej om du vill fortsätta senare."
STOPPED_AFTER = "Okej, vi slutar här.\nDina svar är redan skickade.\nSkriv hej om du vill boka en tid senare."


def tracker(language="sv", form=None, **slots):
    return make_tracker(all_slots(language=language, **slots), message("hm", "help", 0.9), form=form)


@pytest.mark.parametrize("action", list(SWEDISH))
async def test_swedish_texts(domain, action):
    events, messages = await run(action(), tracker("sv"), domain)

    assert events == []
    assert texts(messages) == [SWEDISH[action]]


@pytest.mark.parametrize("action", list(ENGLISH))
async def test_english_texts(domain, action):
    events, messages = await run(action(), tracker("en"), domain)

    assert events == []
    assert texts(messages) == [ENGLISH[action]]


@pytest.mark.parametrize("language", [None, "xx"])
async def test_no_or_unknown_language_speaks_swedish(domain, language):
    _, messages = await run(ActionGoodbye(), tracker(language), domain)

    assert texts(messages) == [SWEDISH[ActionGoodbye]]


async def test_help_inside_the_form_does_not_touch_slots(domain):
    events, messages = await run(ActionHelp(), tracker("sv", form="intake_form", requested_slot="age_band"), domain)

    assert events == []
    assert texts(messages) == [SWEDISH[ActionHelp]]


async def test_stop_before_a_referral(domain):
    events, messages = await run(ActionStop(), tracker("sv", consent_data="yes", name="Amina"), domain)

    assert events == []
    assert texts(messages) == [STOPPED]


async def test_stop_after_a_referral(domain):
    events, messages = await run(ActionStop(), tracker("sv", referral_id=3.0), domain)

    assert events == []
    assert texts(messages) == [STOPPED_AFTER]


async def test_stop_in_english(domain):
    _, before = await run(ActionStop(), tracker("en"), domain)
    _, after = await run(ActionStop(), tracker("en", referral_id=1.0), domain)

    assert texts(before) == ["Okay, we stop here.\nWe do not send your answers.\nType hello if you want to continue later."]
    assert texts(after) == ["Okay, we stop here.\nWe have already sent your answers.\n"
                            "Type hello if you want to book a time later."]


def test_action_names_are_in_the_domain(domain):
    names = {cls().name() for cls in (ActionHelp, ActionGoodbye, ActionFallback, ActionStop)}
    assert names == {"action_help", "action_goodbye", "action_fallback", "action_stop"}
    assert names <= set(domain["actions"])
