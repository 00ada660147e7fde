"""A crisis, a person to talk to, and going back to the questions."""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    catalog_of,
    channel_of,
    common_values,
    contact_address,
    format_day,
    in_transaction,
    language_of,
    participant_key,
    participant_of,
    program,
    say,
    send,
    settings,
)
from bot.db.types import utcnow
from bot.i18n import Catalog
from bot.intake.participants import find_participant
from bot.intake.transcript import from_events
from bot.safety.alerts import raise_alert
from bot.channels import PUSH_CHANNELS
from bot.safety.handoff import (
    add_message,
    close,
    latest_for_pseudonym,
    open_handoff,
    start_handoff,
    take_undelivered,
)
from bot.safety.hours import next_staffed, staffed_now
from bot.safety.notify import send_alert

logger = logging.getLogger(__name__)

HISTORY = 40  # messages before a handoff shown to the caseworker


def resume_button(catalog: Catalog) -> Dict[str, str]:
    return {"title": catalog.text("resume_button"), "payload": "/resume"}


def when_text(catalog: Catalog) -> str:
    """When a person answers: soon, or the next staffed day and hour."""
    prog, timezone, now = program(), settings().timezone, utcnow()
    if staffed_now(prog, now, timezone):
        return catalog.text("handoff_when_open")
    start = next_staffed(prog, now, timezone)
    if start is None:
        return ""
    return catalog.text("handoff_when_later", **format_day(catalog, start, timezone))


def history(tracker: Tracker) -> List[tuple]:
    return [(m["from"], m["text"]) for m in from_events(tracker.events)][-HISTORY:]


def resume_events(tracker: Tracker, unpause: bool = True) -> List[EventType]:
    """Back to where the participant was: the intake, the booking, or nothing left to do.

    While a person has the conversation (and ``unpause`` is False) nothing resumes.
    """
    if not unpause and tracker.get_slot("handoff"):
        return []
    events: List[EventType] = [SlotSet("handoff", False), SlotSet("handoff_acknowledged", False)] if unpause else []
    if tracker.get_slot("referral_id") is None:
        return events + [FollowupAction("intake_form")]
    if tracker.get_slot("can_book") and not tracker.get_slot("booking_outcome"):
        return events + [FollowupAction("booking_form")]
    return events


def _notify(handoff_id: int, kind: str, urgent: bool) -> None:
    """E-mail the caseworkers in the background: the participant's answer never waits for it."""
    task = asyncio.ensure_future(asyncio.to_thread(send_alert, handoff_id, kind, urgent))
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set = set()


class ActionCrisis(Action):
    """Help at once (112, 90101, 1177), an urgent flag and an alert, and a person in the chat.

    The form is not continued until the participant chooses to ("Fortsätt med frågorna"). A
    message that only the classifier took for a crisis (no phrase of the lists) is checked first
    with a gentle question (``action_crisis_check``), so that "my child fell and hit his head"
    does not raise an alarm, while a real crisis gets help after one tap.
    """

    def name(self) -> Text:
        return "action_crisis"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        found = tracker.latest_message.get("crisis") or {"category": "other", "detected_by": "nlu"}
        if found.get("detected_by") != "phrase":
            return [FollowupAction("action_crisis_check")]
        return await crisis_help(dispatcher, tracker, found)


class ActionCrisisCheck(Action):
    """ "Are you in danger? Are you thinking of hurting yourself?" Yes/no go to action_confirm."""

    def name(self) -> Text:
        return "action_crisis_check"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        send(dispatcher, catalog, catalog.text("crisis_check"), [
            {"title": catalog.text("crisis_check_yes"), "payload": "/affirm"},
            {"title": catalog.text("crisis_check_no"), "payload": "/deny"},
        ])
        return []


async def crisis_help(dispatcher: CollectingDispatcher, tracker: Tracker, found: Dict[str, str]) -> List[EventType]:
    """The crisis answer, the alert and the handoff (see ActionCrisis)."""
    catalog = catalog_of(tracker)
    text = catalog.text("crisis", **common_values())
    in_language = (catalog.messages.get("crisis_1177_language") or "").strip()
    send(dispatcher, catalog, text + ("\n" + in_language if in_language else ""))
    language, channel, address, said = language_of(tracker), channel_of(tracker), contact_address(tracker), history(tracker)

    def store(session) -> int:
        participant = participant_of(session, tracker)
        handoff = start_handoff(session, participant, "crisis", channel, language, address, said)
        raise_alert(session, participant, str(found.get("category") or "other"),
                    str(found.get("detected_by") or "nlu"), handoff)
        return handoff.id

    try:
        handoff_id = await in_transaction(store)
    except Exception:  # noqa: BLE001 - the help above is sent whatever happens here
        logger.exception("a crisis alert could not be stored")
        return []
    _notify(handoff_id, str(found.get("category") or "other"), urgent=True)
    send(dispatcher, catalog, catalog.text("crisis_handoff", when=when_text(catalog)), [resume_button(catalog)])
    return [SlotSet("handoff", True), SlotSet("handoff_acknowledged", True)]


class ActionTalkToHuman(Action):
    """Pause the assistant; a caseworker answers in the chat."""

    def name(self) -> Text:
        return "action_talk_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        language, channel, address, said = language_of(tracker), channel_of(tracker), contact_address(tracker), history(tracker)

        def store(session) -> int:
            participant = participant_of(session, tracker)
            return start_handoff(session, participant, "asked", channel, language, address, said).id

        try:
            handoff_id = await in_transaction(store)
        except Exception:  # noqa: BLE001 - then the phone number, as before handoffs existed
            logger.exception("a handoff could not be stored")
            say(dispatcher, catalog, "talk_to_human")
            return []
        _notify(handoff_id, "asked", urgent=False)
        send(dispatcher, catalog, catalog.text("handoff_started", when=when_text(catalog)), [resume_button(catalog)])
        return [SlotSet("handoff", True), SlotSet("handoff_acknowledged", False)]


class ActionHandoffRelay(Action):
    """A message while a person has the conversation: kept for them; their replies shown here."""

    def name(self) -> Text:
        return "action_handoff_relay"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        key, text = participant_key(tracker), tracker.latest_message.get("text") or ""
        fetching = channel_of(tracker) not in PUSH_CHANNELS

        def relay(session):
            participant = find_participant(session, key)
            handoff = open_handoff(session, participant.id) if participant is not None else None
            if handoff is None:  # handed back meanwhile: show what is left to show, then resume
                latest = latest_for_pseudonym(session, key)
                return None, (take_undelivered(session, latest) if latest is not None and fetching else [])
            add_message(session, handoff, "participant", text)
            return handoff.status, (take_undelivered(session, handoff) if fetching else [])

        status, replies = await in_transaction(relay)
        for reply in replies:
            send(dispatcher, catalog, reply)
        if status is None:
            return resume_events(tracker)
        if status == "waiting" and not replies and not tracker.get_slot("handoff_acknowledged"):
            say(dispatcher, catalog, "handoff_received")
            return [SlotSet("handoff_acknowledged", True)]
        return []


class ActionResume(Action):
    """The participant goes back to the questions (after a crisis, or from a handoff)."""

    def name(self) -> Text:
        return "action_resume"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        key = participant_key(tracker)

        def hand_back(session) -> None:
            participant = find_participant(session, key)
            handoff = open_handoff(session, participant.id) if participant is not None else None
            if handoff is not None:
                close(session, handoff, "participant")

        await in_transaction(hand_back)
        say(dispatcher, catalog_of(tracker), "resumed")
        return resume_events(tracker)
