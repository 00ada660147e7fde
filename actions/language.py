"""The language menu and switching language at any time."""

from __future__ import annotations

import json
from typing import List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    FIRST_CONTACT_CONFIDENCE,
    SWITCH_CONFIDENCE,
    catalogs,
    chosen_on_page,
    detection,
    is_interruption,
    latest_entity,
    say,
    send,
)
from bot.i18n.catalog import RLM
from bot.intake.answers import first_number, normalize
from bot.language.detect import UNDETERMINED
from bot.language.model import dominant_script, words


def send_language_menu(dispatcher: CollectingDispatcher) -> None:
    """One message: the prompt in every language, a button per language in its own script."""
    all_catalogs = catalogs().all()
    text = "\n".join((RLM if c.direction == "rtl" else "") + c.text("language_menu_prompt") for c in all_catalogs)
    buttons = [
        {"title": c.name, "payload": menu_payload(c.code)}
        for c in all_catalogs
    ]
    dispatcher.utter_message(text=text, buttons=buttons)


def switch_language(wanted: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Slot events for a language the participant asked for (inside a form).

    An unavailable language keeps the current one, says so, and the form asks its question again.
    """
    available = catalogs()
    current = tracker.get_slot("language")
    if wanted not in available:
        say(dispatcher, available.get(current), "language_unavailable")
        return [SlotSet("language", current)]
    if current and wanted != current:
        say(dispatcher, available.get(wanted), "language_changed")
    return [SlotSet("language", wanted)]


def read_language_choice(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The answer to the language menu: a tapped or named language, or its number."""
    if is_interruption(tracker):  # "stopp" or "hjälp" at the menu: let the rules handle it
        return []
    available = catalogs()
    text = tracker.latest_message.get("text") or ""
    number = first_number(text)
    if number is not None and normalize(text) == str(number) and 1 <= number <= len(available.languages):
        return [SlotSet("language", available.languages[number - 1])]
    by_name = {normalize(c.name): c.code for c in available.all()}
    code = by_name.get(normalize(text))
    if code:
        return [SlotSet("language", code)]
    if chosen_on_page(tracker):
        return [SlotSet("language", chosen_on_page(tracker))]
    # a word written in a language instead of a tap ("salaan" at the menu: Somali)
    found = detection(tracker)
    if found.language in available and found.confidence >= FIRST_CONTACT_CONFIDENCE:
        return [SlotSet("language", found.language)]
    say(dispatcher, available.get(None), "not_understood")
    return [SlotSet("language", None)]


def switch_offer(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[List[EventType]]:
    """When a message is clearly in another language, offer to continue in it (once).

    The conversation's language sticks: it weighs in the detection, and the participant
    decides. For a language the assistant does not speak, the language menu is offered.
    Returns the events when an offer was made, else None.
    """
    text = tracker.latest_message.get("text") or ""
    current = tracker.get_slot("language")
    if not current or text.startswith("/"):
        return None
    available = catalogs()
    # Another script than the conversation's is clear from one word; within the same script
    # (Swedish, English, Somali, Kurmanji ...) it takes three words to be sure.
    other_script = dominant_script(text) not in (None, dominant_script(available.get(current).text("switch_offer")))
    if len(words(text)) < (1 if other_script else 3):
        return None
    found = detection(tracker, current=current)
    offered = list(tracker.get_slot("languages_offered") or [])
    if found.language in (current, UNDETERMINED) or found.confidence < SWITCH_CONFIDENCE or found.language in offered:
        return None
    if found.language in available:
        other, mine = available.get(found.language), available.get(current)
        buttons = [
            {"title": other.text("switch_accept"), "payload": menu_payload(other.code)},
            {"title": mine.text("switch_keep"), "payload": menu_payload(mine.code)},
        ]
        send(dispatcher, other, other.text("switch_offer"), buttons)
    else:
        say(dispatcher, available.get(current), "language_unavailable")
        send_language_menu(dispatcher)
    return [SlotSet("language", current), SlotSet("languages_offered", offered + [found.language])]


def menu_payload(code: str) -> str:
    return "/set_language" + json.dumps({"language": code}, separators=(",", ":"))


class ActionSetLanguage(Action):
    """Outside a form: switch to the language asked for, or show the menu."""

    def name(self) -> Text:
        return "action_set_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        wanted = latest_entity(tracker, "language") or tracker.get_slot("language")
        available = catalogs()
        current = tracker.get_slot("language")
        if wanted not in available:
            say(dispatcher, available.get(current), "language_unavailable")
            send_language_menu(dispatcher)
            return [SlotSet("language", current if current in available else None)]
        say(dispatcher, available.get(wanted), "language_changed")
        return [SlotSet("language", wanted)]
