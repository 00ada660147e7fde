"""The participant's own data, from the chat: see it, take consent back, erase it."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import AllSlotsReset, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    catalog_of,
    format_day,
    funnel_key,
    in_transaction,
    participant_key,
    say,
    send,
    settings,
    tracker_key_of,
)
from actions.safety import crisis_help, resume_events
from bot.i18n import Catalog
from bot.intake.participants import find_participant
from bot.intake.privacy import (
    consent_withdrawn,
    erase_conversation,
    stored_data,
    withdraw_consent,
)
from bot.intake.questions import INTAKE_QUESTIONS, QUESTIONS, SKIPPED
from bot.safety.policy import ASKS_CONFIRMATION

logger = logging.getLogger(__name__)


def _value_text(catalog: Catalog, key: str, value: Any, free_text: Optional[str] = None) -> str:
    if value is None or value == SKIPPED:
        return "–"
    question = QUESTIONS.get(key)
    labels = catalog.option_labels(key) if question is not None and question.options else {}
    shown = labels.get(str(value), str(value))
    return f"{shown} ({free_text})" if free_text and free_text != shown else shown


def describe(catalog: Catalog, answers: Dict[str, Any], notes: Dict[str, str]) -> List[str]:
    lines = [f"{catalog.label('language')}: {catalog.name}"]
    for question in INTAKE_QUESTIONS:
        if question.key in answers:
            text = _value_text(catalog, question.key, answers[question.key], notes.get(question.key))
            lines.append(f"{catalog.label(question.key)}: {text}")
    return lines


class ActionShowMyData(Action):
    """ "What do you know about me?": the stored answers (or those given so far), and a booking."""

    def name(self) -> Text:
        return "action_show_my_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog, key = catalog_of(tracker), participant_key(tracker)

        def load(session):
            found = stored_data(session, key)
            answers = {"name": found.name, "phone": found.phone} if found.answers else {}
            for a in found.answers:
                answers[a.question_key] = SKIPPED if a.skipped else (a.value if a.value is not None else a.free_text)
            answers = {k: v for k, v in answers.items() if v is not None}
            notes = {a.question_key: a.free_text for a in found.answers if a.free_text and a.value is not None}
            booked = None
            if found.session is not None:
                booked = (found.booking.status, found.session.starts_at, found.session.place)
            return answers, notes, booked

        answers, notes, booked = await in_transaction(load)
        if not answers:  # no referral yet: what the conversation holds so far
            answers = {q.key: tracker.get_slot(q.key) for q in INTAKE_QUESTIONS if tracker.get_slot(q.key) is not None}
            notes = dict(tracker.get_slot("answer_notes") or {})
        if not answers:
            say(dispatcher, catalog, "my_data_none")
            return []
        lines = [catalog.text("my_data_intro")] + describe(catalog, answers, notes)
        if booked is not None:
            status, starts_at, place = booked
            day = format_day(catalog, starts_at, settings().timezone)
            key_ = "my_data_booking" if status == "booked" else "my_data_waitlist"
            lines.append(catalog.text(key_, place=place, **day))
        lines.append(catalog.text("my_data_footer"))
        send(dispatcher, catalog, "\n".join(lines))
        return []


def confirm_buttons(catalog: Catalog, yes: str, no: str) -> List[Dict[str, str]]:
    return [{"title": catalog.text(yes), "payload": "/affirm"}, {"title": catalog.text(no), "payload": "/deny"}]


class ActionEraseData(Action):
    """ "Erase my data": asks first (``action_confirm`` takes the answer)."""

    def name(self) -> Text:
        return "action_erase_data"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        send(dispatcher, catalog, catalog.text("erase_confirm"), confirm_buttons(catalog, "erase_yes", "erase_no"))
        return []


class ActionWithdrawConsent(Action):
    """ "I take back my consent": asks first, when there is a consent to take back."""

    def name(self) -> Text:
        return "action_withdraw_consent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog, key = catalog_of(tracker), participant_key(tracker)

        def state(session) -> str:
            participant = find_participant(session, key)
            if participant is None or not any(c.given for c in participant.consents):
                return "none"
            return "withdrawn" if consent_withdrawn(session, key) else "given"

        found = await in_transaction(state)
        if found == "none":
            say(dispatcher, catalog, "my_data_none")
            return resume_events(tracker, unpause=False)
        if found == "withdrawn":
            say(dispatcher, catalog, "withdrawn_earlier")
            return []
        send(dispatcher, catalog, catalog.text("withdraw_confirm"), confirm_buttons(catalog, "withdraw_yes", "withdraw_no"))
        return []


def asked(tracker: Tracker) -> Optional[str]:
    """The confirmation question the latest message answers (see bot.safety.policy)."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and kind == "action" and event.get("name") not in ("action_listen", "action_deactivate_loop"):
            name = event.get("name")
            return name if name in ASKS_CONFIRMATION else None
    return None


class ActionConfirm(Action):
    """The yes or no to "erase everything?" or "take back your consent?"."""

    def name(self) -> Text:
        return "action_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        question = asked(tracker)
        yes = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        if question == "action_erase_data":
            return await self.erase(dispatcher, tracker, catalog) if yes else self.keep(dispatcher, tracker, catalog, "erase_cancelled")
        if question == "action_crisis_check":
            if yes:  # the participant confirmed: the whole crisis answer
                return await crisis_help(dispatcher, tracker, {"category": "other", "detected_by": "confirmed"})
            return self.keep(dispatcher, tracker, catalog, "resumed")
        if question == "action_withdraw_consent":
            return await self.withdraw(dispatcher, tracker, catalog) if yes else self.keep(dispatcher, tracker, catalog, "withdraw_cancelled")
        if question == "action_cancel_booking":
            from actions.lifecycle import cancel_now

            return await cancel_now(dispatcher, tracker, catalog, yes)
        say(dispatcher, catalog, "fallback")
        return []

    @staticmethod
    def keep(dispatcher: CollectingDispatcher, tracker: Tracker, catalog: Catalog, key: str) -> List[EventType]:
        say(dispatcher, catalog, key)
        return resume_events(tracker, unpause=False)

    @staticmethod
    async def erase(dispatcher: CollectingDispatcher, tracker: Tracker, catalog: Catalog) -> List[EventType]:
        key, conversation, funnel = participant_key(tracker), tracker_key_of(tracker), funnel_key(tracker)
        await in_transaction(lambda session: erase_conversation(session, key, conversation, funnel=funnel))
        # the reply is the last trace: an SMS channel deletes its record once the gateway has it
        send(dispatcher, catalog, catalog.text("erased"))
        dispatcher.utter_message(json_message={"forget_after_send": True})
        # the tracker store deletes the conversation when it saves this turn (bot/tracker.py)
        return [AllSlotsReset(), SlotSet("data_erased", True)]

    @staticmethod
    async def withdraw(dispatcher: CollectingDispatcher, tracker: Tracker, catalog: Catalog) -> List[EventType]:
        key, funnel = participant_key(tracker), funnel_key(tracker)

        def work(session) -> None:
            participant = find_participant(session, key)
            if participant is not None:
                withdraw_consent(session, participant, funnel=funnel)

        await in_transaction(work)
        say(dispatcher, catalog, "consent_withdrawn")
        # what the conversation held rests on the consent too: the tracker store deletes it
        return [AllSlotsReset(), SlotSet("data_erased", True)]
