"""The booking form: pick one of the next sessions; a full session offers the waiting list.

The same form moves an existing booking ("another time", slot ``rescheduling``): it offers the
other sessions, and a full one is refused instead of queued, so the participant keeps their seat
until a new one is theirs.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    ask,
    catalog_of,
    channel_of,
    choice_payload,
    format_day,
    funnel_key,
    in_transaction,
    is_interruption,
    latest_entity,
    latest_intent,
    program,
    say,
    send,
    settings,
    skip_button,
)
from actions.forms import INVALID, QuestionFormValidation, read_answer
from bot.db.models import ActivitySession, Booking
from bot.intake import booking as seats
from bot.intake.answers import first_number, normalize
from bot.intake.funnel import record_step
from bot.intake.program import booking_rules
from bot.intake.questions import CHOICE, SKIPPED, Question
from bot.intake.transcript import from_events, save_transcript

BOOKING_SESSION = Question("booking_session", "session")
WAITLIST_ACCEPT = Question("waitlist_accept", CHOICE, ("yes", "no"), skippable=False)
BOOKING_QUESTIONS = {q.key: q for q in (BOOKING_SESSION, WAITLIST_ACCEPT)}


def _session_view(s: ActivitySession) -> Dict[str, Any]:
    return {"id": s.id, "starts_at": s.starts_at, "place": s.place, "address": s.address, "free": s.seats_free}


def _booking_view(session, booking: Booking) -> Dict[str, Any]:
    view = _session_view(booking.session)
    view["status"] = booking.status
    view["position"] = seats.waitlist_position(session, booking) if booking.status == seats.WAITLISTED else None
    return view


def rules():
    """The programme's booking rules, in the configured time zone."""
    return booking_rules(settings())


class ActionAskBookingSession(Action):
    def name(self) -> Text:
        return "action_ask_booking_session"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        limit = 2 if catalog.variant == "sms" else 3  # in an SMS every line costs
        moving = bool(tracker.get_slot("rescheduling"))
        referral_id = tracker.get_slot("referral_id")
        min_lead = rules().min_lead

        def sessions(session):
            current = seats.active_booking(session, int(referral_id)) if moving and referral_id is not None else None
            found = seats.upcoming_sessions(session, limit=limit, min_lead=min_lead,
                                            exclude=current.session_id if current is not None else None)
            return [_session_view(s) for s in found]

        offered = await in_transaction(sessions)
        if not offered:
            say(dispatcher, catalog, "sessions_none_left")
        buttons = []
        for view in offered:
            key = {0: "session_option_full", 1: "session_option_last"}.get(view["free"], "session_option")
            title = catalog.text(key, place=view["place"], free=view["free"],
                                 **format_day(catalog, view["starts_at"], settings().timezone))
            buttons.append({"title": title, "payload": choice_payload(str(view["id"]))})
        buttons.append(skip_button(catalog))
        send(dispatcher, catalog, catalog.question_text("booking_session"), buttons)
        return [SlotSet("offered_sessions", [str(v["id"]) for v in offered])]


class ActionAskWaitlistAccept(Action):
    def name(self) -> Text:
        return "action_ask_waitlist_accept"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        ask(dispatcher, catalog_of(tracker), WAITLIST_ACCEPT)
        return []


def read_session_choice(tracker: Tracker) -> Optional[str]:
    offered = [str(x) for x in tracker.get_slot("offered_sessions") or []]
    intent, _ = latest_intent(tracker)
    if intent == "skip":
        return SKIPPED
    choice = latest_entity(tracker, "choice") if intent == "choose" else None
    if choice is not None:
        return choice if choice in offered or choice == SKIPPED else None
    text = tracker.latest_message.get("text") or ""
    number = first_number(text)
    if number is not None and normalize(text) == str(number) and 1 <= number <= len(offered):
        return offered[number - 1]
    return None


class ValidateBookingForm(QuestionFormValidation):
    def name(self) -> Text:
        return "validate_booking_form"

    def form_questions(self) -> Dict[str, Question]:
        return BOOKING_QUESTIONS

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot("booking_outcome") == "full":
            return ["booking_session", "waitlist_accept"]
        return ["booking_session"]

    def read(self, question: Question, tracker: Tracker) -> Optional[Dict[Text, Any]]:
        if question is BOOKING_SESSION:
            choice = read_session_choice(tracker)
            if choice is None and is_interruption(tracker):
                return None
            return {"booking_session": choice if choice is not None else INVALID}
        return read_answer(question, tracker)

    async def validate_booking_session(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {}
        if value == SKIPPED:
            kept = "kept" if tracker.get_slot("rescheduling") else "skipped"
            return {"booking_session": SKIPPED, "booking_outcome": kept}
        referral_id = int(tracker.get_slot("referral_id"))
        session_id = int(value)
        booking_rules = rules()
        catalog = catalog_of(tracker)
        if tracker.get_slot("rescheduling"):
            return await self.move(dispatcher, catalog, referral_id, session_id, booking_rules)

        def book(session):
            return seats.book_seat(session, referral_id, session_id, rules=booking_rules).outcome

        outcome = await in_transaction(book)
        if outcome in (seats.BOOKED, seats.WAITLISTED):
            return {"booking_session": value, "booking_outcome": outcome}
        if outcome == seats.FULL:
            say(dispatcher, catalog, "session_full")
            return {"booking_session": value, "booking_outcome": "full"}
        say(dispatcher, catalog, "session_closed")
        return {"booking_session": None, "booking_outcome": None}

    @staticmethod
    async def move(dispatcher: CollectingDispatcher, catalog, referral_id: int, session_id: int,
                   booking_rules) -> Dict[Text, Any]:
        outcome = await in_transaction(
            lambda session: seats.move_booking(session, referral_id, session_id, rules=booking_rules).outcome
        )
        if outcome == seats.BOOKED:
            return {"booking_session": str(session_id), "booking_outcome": "moved"}
        say(dispatcher, catalog, "reschedule_full" if outcome == seats.FULL else "session_closed")
        return {"booking_session": None, "booking_outcome": None}

    async def validate_waitlist_accept(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value is None:
            return {}
        if value == "no":
            return {"booking_session": None, "waitlist_accept": None, "booking_outcome": None}
        referral_id = int(tracker.get_slot("referral_id"))
        session_id = int(tracker.get_slot("booking_session"))
        booking_rules = rules()

        def queue(session):
            result = seats.join_waitlist(session, referral_id, session_id, rules=booking_rules)
            if result.outcome == seats.OFFERED:  # a seat came free just now: it is theirs, they are here
                return seats.accept_offer(session, result.booking, rules=booking_rules)
            return result.outcome

        outcome = await in_transaction(queue)
        return {"waitlist_accept": "yes", "booking_outcome": outcome}


class ActionConfirmBooking(Action):
    """After the booking form: the confirmation (or waiting-list place), then the closing summary."""

    def name(self) -> Text:
        return "action_confirm_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        referral_id = tracker.get_slot("referral_id")
        moving = bool(tracker.get_slot("rescheduling"))
        view = None
        if referral_id is not None:
            conversation, channel, language = funnel_key(tracker), channel_of(tracker), tracker.get_slot("language")
            transcript = from_events(tracker.events)

            def load(session):
                booking = seats.active_booking(session, int(referral_id))
                save_transcript(session, int(referral_id), transcript)  # now with the booking
                if booking is not None and booking.status == seats.BOOKED:
                    record_step(session, conversation, "booked", channel, language)
                return _booking_view(session, booking) if booking else None

            view = await in_transaction(load)
        outcome = tracker.get_slot("booking_outcome")
        if view is None:
            say(dispatcher, catalog, "no_booking" if moving else "booking_skipped")
        else:
            day = format_day(catalog, view["starts_at"], settings().timezone)
            if moving and outcome == "kept":
                key = "booking_kept" if view["status"] == seats.BOOKED else "waitlist_kept"
                say(dispatcher, catalog, key, **day)
            elif view["status"] == seats.BOOKED:
                bring = catalog.text("bring_" + program().activity.get("what_to_bring", "id_or_lma"))
                say(dispatcher, catalog, "booking_confirmed", place=view["place"], address=view["address"], bring=bring, **day)
                if outcome == "moved":
                    say(dispatcher, catalog, "old_booking_cancelled")
            else:
                say(dispatcher, catalog, "waitlisted", position=view["position"], **day)
        if not moving:
            say(dispatcher, catalog, "summary")
        return [SlotSet("can_book", False), SlotSet("rescheduling", False)]
