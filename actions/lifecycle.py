"""After the booking: "I will come", another time, cancelling, answers to offers and follow-ups.

Participants come back days later, often from a reminder's button, sometimes typing "ja". The
tracker may have started a new session since; the database knows the booking, so every action
here looks it up by the participant's pseudonym (:func:`find_booking`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    catalog_of,
    format_day,
    in_transaction,
    latest_intent,
    participant_key,
    program,
    say,
    send,
    settings,
)
from actions.booking import rules
from actions.conversation import ActionFallback
from bot.db.models import Booking, Referral
from bot.db.types import utcnow
from bot.i18n import Catalog
from bot.intake import booking as seats
from bot.intake import reminders
from bot.intake.participants import find_participant

# Referral statuses with which a participant may still book
BOOKABLE = ("new", "contacted", "accepted", "started")


@dataclass(frozen=True)
class BookingView:
    referral_id: int
    booking_id: Optional[int]
    status: Optional[str]
    starts_at: Optional[datetime]
    place: str = ""
    address: str = ""


def find_booking(session, pseudonym: str) -> Optional[BookingView]:
    """The participant's newest bookable referral, with its active booking or else its latest."""
    participant = find_participant(session, pseudonym)
    if participant is None:
        return None
    referrals = sorted((r for r in participant.referrals if r.status in BOOKABLE), key=lambda r: r.id, reverse=True)
    if not referrals:
        return None
    for referral in referrals:
        booking = seats.active_booking(session, referral.id)
        if booking is not None:
            return _view(referral, booking)
    referral = referrals[0]
    return _view(referral, seats.latest_booking(session, referral.id))


def _view(referral: Referral, booking: Optional[Booking]) -> BookingView:
    if booking is None:
        return BookingView(referral.id, None, None, None)
    target = booking.session
    return BookingView(referral.id, booking.id, booking.status, target.starts_at, target.place, target.address)


def when(catalog: Catalog, view: BookingView) -> Dict[str, str]:
    return format_day(catalog, view.starts_at, settings().timezone)


def yes_no_buttons(catalog: Catalog, yes_key: str, no_key: str) -> List[Dict[str, str]]:
    return [{"title": catalog.text(yes_key), "payload": "/affirm"}, {"title": catalog.text(no_key), "payload": "/deny"}]


async def my_booking(tracker: Tracker) -> Optional[BookingView]:
    """The booking of the participant of this conversation (see :func:`find_booking`)."""
    key = participant_key(tracker)
    return await in_transaction(lambda session: find_booking(session, key))


class ActionCancelBooking(Action):
    """ "Cancel": asks first (the yes or no goes to action_confirm, see bot/safety/policy.py)."""

    def name(self) -> Text:
        return "action_cancel_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        view = await my_booking(tracker)
        if tracker.active_loop_name == "intake_form":
            say(dispatcher, catalog, "no_booking")  # the questions go on
            return []
        if view is None or view.status not in (seats.BOOKED, seats.WAITLISTED, seats.OFFERED):
            say(dispatcher, catalog, "no_booking")
            return []
        # during the booking form, a rule ends the form next (data/rules/interruptions.yml)
        question = "cancel_waitlist_question" if view.status == seats.WAITLISTED else "cancel_question"
        send(dispatcher, catalog, catalog.text(question, **when(catalog, view)),
             yes_no_buttons(catalog, "button_yes_cancel", "button_no_keep"))
        return []


async def cancel_now(dispatcher: CollectingDispatcher, tracker: Tracker, catalog: Catalog, yes: bool) -> List[EventType]:
    """The yes or no to "cancel your time?"."""
    key, booking_rules = participant_key(tracker), rules()

    def work(session):
        view = find_booking(session, key)
        if view is None or view.status not in (seats.BOOKED, seats.WAITLISTED, seats.OFFERED):
            return None, None
        if yes:
            seats.cancel_booking(session, session.get(Booking, view.booking_id), actor="participant",
                                 reason="participant", rules=booking_rules)
        return view.status, view

    status, view = await in_transaction(work)
    if status is None:
        say(dispatcher, catalog, "no_booking")
    elif yes:
        say(dispatcher, catalog, "waitlist_left" if status == seats.WAITLISTED else "booking_cancelled")
    else:
        say(dispatcher, catalog, "waitlist_kept" if status == seats.WAITLISTED else "booking_kept",
            **when(catalog, view))
    return []


class ActionRescheduleBooking(Action):
    """ "Another time": the booking form again, offering the other sessions."""

    def name(self) -> Text:
        return "action_reschedule_booking"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        view = await my_booking(tracker)
        if view is None:
            say(dispatcher, catalog, "no_referral_to_book")
            return []
        return [
            SlotSet("referral_id", float(view.referral_id)),
            SlotSet("rescheduling", True),
            SlotSet("booking_session", None),
            SlotSet("waitlist_accept", None),
            SlotSet("booking_outcome", None),
            FollowupAction("booking_form"),
        ]


class ActionConfirmAttendance(Action):
    """ "I will come" (a reminder's button): noted on the booking for the NGO."""

    def name(self) -> Text:
        return "action_confirm_attendance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return await confirm_attendance(dispatcher, tracker, catalog_of(tracker))


async def confirm_attendance(dispatcher: CollectingDispatcher, tracker: Tracker, catalog: Catalog) -> List[EventType]:
    key = participant_key(tracker)

    def work(session):
        view = find_booking(session, key)
        if view is None or view.status != seats.BOOKED:
            return None
        seats.confirm_attendance(session, session.get(Booking, view.booking_id))
        return view

    view = await in_transaction(work)
    if view is None:
        say(dispatcher, catalog, "no_booking")
    else:
        say(dispatcher, catalog, "attendance_confirmed", **when(catalog, view))
    return []


class ActionYesNo(Action):
    """A yes or no with no question open: the answer to the latest reminder, offer or follow-up.

    Buttons of those messages send /affirm and /deny; a typed "ja" within the answer window
    (``program.yml``) means the same. With nothing to answer, the usual fallback.
    """

    def name(self) -> Text:
        return "action_yes_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        intent, _ = latest_intent(tracker)
        yes = intent == "affirm"
        key, booking_rules = participant_key(tracker), rules()
        now = utcnow()

        def work(session) -> Dict[str, Any]:
            view = find_booking(session, key)
            if view is None or view.booking_id is None:
                return {"kind": None}
            referral = session.get(Referral, view.referral_id)
            ids = [b.id for b in referral.bookings]
            latest = reminders.latest_sent(session, ids, now - booking_rules.answer_window)
            if latest is None:
                return {"kind": None}
            kind = "reminder" if reminders.is_reminder(latest.kind) else latest.kind
            booking = session.get(Booking, latest.booking_id)
            if kind == reminders.OFFER:
                if booking.status != seats.OFFERED and booking.status != seats.BOOKED:
                    return {"kind": kind, "outcome": "gone"}
                if yes:
                    outcome = seats.accept_offer(session, booking, now, booking_rules)
                    return {"kind": kind, "outcome": outcome, "view": _view(referral, booking)}
                seats.decline_offer(session, booking, now, booking_rules)
                return {"kind": kind, "outcome": "declined"}
            if kind == reminders.REMINDER:
                if booking.status != seats.BOOKED:
                    return {"kind": None}
                if yes:
                    seats.confirm_attendance(session, booking, now)
                return {"kind": kind, "view": _view(referral, booking)}
            return {"kind": kind}  # no_show, offer_expired: "a new time?"

        found = await in_transaction(work)
        kind = found["kind"]
        if kind is None:
            return await ActionFallback().run(dispatcher, tracker, domain)
        if kind == reminders.OFFER:
            outcome = found["outcome"]
            if outcome == seats.BOOKED:
                view = found["view"]
                bring = catalog.text("bring_" + program().activity.get("what_to_bring", "id_or_lma"))
                say(dispatcher, catalog, "booking_confirmed", place=view.place, address=view.address, bring=bring,
                    **when(catalog, view))
            elif outcome == "declined":
                say(dispatcher, catalog, "offer_declined")
            else:
                say(dispatcher, catalog, "offer_gone")
            return []
        if kind == reminders.REMINDER:
            if yes:
                say(dispatcher, catalog, "attendance_confirmed", **when(catalog, found["view"]))
            else:
                send(dispatcher, catalog, catalog.text("reminder_what_now"), [
                    {"title": catalog.text("button_change_time"), "payload": "/reschedule_booking"},
                    {"title": catalog.text("button_cancel_booking"), "payload": "/cancel_booking"},
                ])
            return []
        if yes:
            return [FollowupAction("action_reschedule_booking")]
        say(dispatcher, catalog, "no_thanks")
        return []
