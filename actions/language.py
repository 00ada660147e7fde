"""The language menu and switching language at any time."""

from __future__ import annotations

import json
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import catalogs, latest_entity, say


def send_language_menu(dispatcher: CollectingDispatcher) -> None:
    """One message: the prompt in every language, a button per language in its own script."""
    all_catalogs = catalogs().all()
    text = "\n".join(c.text("language_menu_prompt") for c in all_catalogs)
    buttons = [
        {"title": c.name, "payload": "/set_language" + json.dumps({"language": c.code}, separators=(",", ":"))}
        for c in all_catalogs
    ]
    dispatcher.utter_message(text=text, buttons=buttons)


class ActionSetLanguage(Action):
    """Outside a form: switch to the language asked for, or show the menu."""

    def name(self) -> Text:
        return "action_set_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        wanted = latest_entity(tracker, "language") or tracker.get_slot("language")
        available = catalogs()
        if wanted not in available:
            say(dispatcher, available.get("sv"), "language_unavailable")
            send_language_menu(dispatcher)
            return [SlotSet("language", None)]
        say(dispatcher, available.get(wanted), "language_changed")
        return [SlotSet("language", wanted)]
