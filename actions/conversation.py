"""Small talk around the intake: help, stop, a person to talk to, goodbye, not understood."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import catalog_of, catalogs, detection, first_contact_language, say
from actions.language import send_language_menu
from bot.language.detect import UNDETERMINED


class _Say(Action, ABC):
    """Sends one catalogue message. Abstract: rasa_sdk registers only the subclasses."""

    key = ""

    @abstractmethod
    def name(self) -> Text:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        say(dispatcher, catalog_of(tracker), self.key)
        return []


class ActionHelp(_Say):
    key = "help"

    def name(self) -> Text:
        return "action_help"


class ActionGoodbye(_Say):
    key = "goodbye"

    def name(self) -> Text:
        return "action_goodbye"


class ActionFallback(Action):
    """Not understood. Before a language is chosen, or in a language we do not speak, the menu."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        current = tracker.get_slot("language")
        found = detection(tracker, current=current)
        foreign = found.language not in catalogs() and found.language != UNDETERMINED and found.confidence >= 0.9
        if not current and first_contact_language(tracker) is None or foreign:
            if foreign and current:
                say(dispatcher, catalog_of(tracker), "language_unavailable")
            send_language_menu(dispatcher)
            return []
        say(dispatcher, catalog_of(tracker), "fallback")
        return []


class ActionStop(Action):
    def name(self) -> Text:
        return "action_stop"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        key = "stopped_after_referral" if tracker.get_slot("referral_id") is not None else "stopped"
        say(dispatcher, catalog_of(tracker), key)
        return []


class ActionChangeAnswer(_Say):
    """Outside the intake form, answers are changed with the NGO's help."""

    key = "change_answer_call"

    def name(self) -> Text:
        return "action_change_answer"
