"""After the booking, in the chat: cancelling (asks first), another time, "I will come", and a
yes or no that answers the latest reminder, waiting-list offer or follow-up."""

from __future__ import annotations

from datetime import timedelta

from actions.lifecycle import ActionCancelBooking, ActionConfirmAttendance, ActionRescheduleBooking, ActionYesNo
from actions.privacy import ActionConfirm
from bot.config import Config
from bot.db.models import Booking, Participant, Referral
from bot.db.types import utcnow
from bot.intake import reminders
from bot.intake.booking import book_seat, cancel_booking, join_waitlist
from bot.intake.participants import pseudonym
from tests.actions.conftest import SENDER, all_slots, make_tracker, message, run, slots_set, texts
from tests.actions.test_booking import local_start, swedish_day

CANCEL_QUESTION = "Vill du avboka din tid {day} klockan 10:00?"


def mine(db, make, session_id):
    """This conversation's participant with a booking in ``session_id``; (referral id, booking id)."""
    with db.transaction() as session:
        key = pseudonym(Config.from_env().secret, "rest", SENDER)
        participant = Participant(pseudonym=key, channel="rest", language="sv")
        session.add(participant)
        session.flush()
        referral = Referral(participant_id=participant.id, intake_key="intake-mine", status="new", language="sv",
                            channel="rest", eligible=True, priority=2)
        session.add(referral)
        session.flush()
        result = book_seat(session, referral.id, session_id)
        if result.booking is None:
            result = join_waitlist(session, referral.id, session_id)
        return referral.id, result.booking.id


def tracker(latest, after=(), **slots):
    return make_tracker(all_slots(language="sv", **slots), latest, form=None, after_user=after)


def status(db, booking_id):
    with db.transaction() as session:
        return session.get(Booking, booking_id).status


def mark_sent(db, booking_id, kind):
    with db.transaction() as session:
        booking = session.get(Booking, booking_id)
        row = reminders.schedule(session, booking, kind, utcnow()) or next(m for m in booking.messages if m.kind == kind)
        reminders.finish(session, row, "sent", utcnow())


async def test_cancel_asks_first_then_cancels_and_the_seat_goes_to_the_queue(env, db, domain, make):
    start = local_start(4, 10)
    session_id = make.session(make.activity(), starts_at=start, capacity=1)
    _referral, booking_id = mine(db, make, session_id)
    waiting = make.referral()
    with db.transaction() as session:
        queued = join_waitlist(session, waiting, session_id).booking.id

    events, messages = await run(ActionCancelBooking(), tracker(message("avboka", "cancel_booking")), domain)
    assert texts(messages) == [CANCEL_QUESTION.format(day=swedish_day(start))]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    assert status(db, booking_id) == "booked"  # nothing yet

    yes = tracker(message("/affirm", "affirm"))
    yes.events.insert(-1, {"event": "action", "name": "action_cancel_booking", "timestamp": 0})
    events, messages = await run(ActionConfirm(), yes, domain)
    assert texts(messages)[0].startswith("Din tid är avbokad.")
    assert status(db, booking_id) == "cancelled"
    assert status(db, queued) == "offered"


async def test_a_no_to_cancelling_keeps_the_booking(env, db, domain, make):
    start = local_start(4, 10)
    _referral, booking_id = mine(db, make, make.session(make.activity(), starts_at=start))
    no = tracker(message("nej", "deny"))
    no.events.insert(-1, {"event": "action", "name": "action_cancel_booking", "timestamp": 0})
    events, messages = await run(ActionConfirm(), no, domain)
    assert texts(messages) == [f"Bra. Du behåller din tid {swedish_day(start)} klockan 10:00."]
    assert status(db, booking_id) == "booked"


async def test_nothing_to_cancel(env, db, domain):
    events, messages = await run(ActionCancelBooking(), tracker(message("avboka", "cancel_booking")), domain)
    assert texts(messages) == ["Du har ingen bokad tid just nu."]


async def test_another_time_opens_the_booking_form_for_a_move(env, db, domain, make):
    referral_id, _ = mine(db, make, make.session(make.activity(), starts_at=local_start(4, 10)))
    events, messages = await run(ActionRescheduleBooking(), tracker(message("byt tid", "reschedule_booking")), domain)
    assert slots_set(events) == {"referral_id": float(referral_id), "rescheduling": True, "booking_session": None,
                                 "waitlist_accept": None, "booking_outcome": None}
    assert events[-1] == {"event": "followup", "name": "booking_form", "timestamp": None}


async def test_i_will_come_is_noted(env, db, domain, make):
    start = local_start(4, 10)
    _referral, booking_id = mine(db, make, make.session(make.activity(), starts_at=start))
    events, messages = await run(ActionConfirmAttendance(), tracker(message("/confirm_booking", "confirm_booking")),
                                 domain)
    assert texts(messages) == [f"Bra! Vi ses {swedish_day(start)} klockan 10:00."]
    with db.transaction() as session:
        assert session.get(Booking, booking_id).confirmed_at is not None


def offered_to_me(db, make, queue_behind=0):
    """A one-seat session whose seat was freed and offered to this participant (the offer sent);
    (session id, my booking id, the bookings queued behind me)."""
    session_id = make.session(make.activity(), starts_at=local_start(4, 10), capacity=1)
    with db.transaction() as session:
        held = book_seat(session, make.referral(), session_id).booking.id
    _referral, booking_id = mine(db, make, session_id)  # on the waiting list
    behind = []
    with db.transaction() as session:
        for _ in range(queue_behind):
            behind.append(join_waitlist(session, make.referral(), session_id).booking.id)
        cancel_booking(session, session.get(Booking, held))
    assert status(db, booking_id) == "offered"
    mark_sent(db, booking_id, reminders.OFFER)
    return session_id, booking_id, behind


async def test_yes_to_an_offer_books_the_seat(env, db, domain, make):
    _session_id, booking_id, _ = offered_to_me(db, make)

    events, messages = await run(ActionYesNo(), tracker(message("ja", "affirm")), domain)
    assert texts(messages)[0].startswith("Du är bokad!")
    assert status(db, booking_id) == "booked"


async def test_no_to_an_offer_asks_the_next(env, db, domain, make):
    _session_id, booking_id, (after,) = offered_to_me(db, make, queue_behind=1)

    events, messages = await run(ActionYesNo(), tracker(message("/deny", "deny")), domain)
    assert texts(messages)[0].startswith("Okej. Platsen går till någon annan.")
    assert (status(db, booking_id), status(db, after)) == ("cancelled", "offered")


async def test_yes_to_an_expired_offer_says_the_seat_is_gone(env, db, domain, make):
    _session_id, booking_id, _ = offered_to_me(db, make)
    with db.transaction() as session:
        session.get(Booking, booking_id).offer_expires_at = utcnow() - timedelta(minutes=1)
    events, messages = await run(ActionYesNo(), tracker(message("ja", "affirm")), domain)
    assert texts(messages) == ["Platsen är tyvärr inte ledig längre."]


async def test_answers_to_a_reminder(env, db, domain, make):
    start = local_start(4, 10)
    _referral, booking_id = mine(db, make, make.session(make.activity(), starts_at=start))
    mark_sent(db, booking_id, "reminder:1440")
    events, messages = await run(ActionYesNo(), tracker(message("nej", "deny")), domain)
    assert texts(messages) == ["Vill du byta tid eller avboka?"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/reschedule_booking", "/cancel_booking"]
    events, messages = await run(ActionYesNo(), tracker(message("ja", "affirm")), domain)
    assert texts(messages) == [f"Bra! Vi ses {swedish_day(start)} klockan 10:00."]


async def test_yes_to_a_no_show_follow_up_offers_a_new_time(env, db, domain, make):
    session_id = make.session(make.activity(), starts_at=local_start(4, 10))
    _referral, booking_id = mine(db, make, session_id)
    with db.transaction() as session:
        session.get(Booking, booking_id).status = "no_show"
    mark_sent(db, booking_id, reminders.NO_SHOW)
    events, _messages = await run(ActionYesNo(), tracker(message("ja", "affirm")), domain)
    assert events[-1]["name"] == "action_reschedule_booking"
    events, messages = await run(ActionYesNo(), tracker(message("nej", "deny")), domain)
    assert texts(messages) == ["Okej. Skriv till mig när du vill."]


async def test_a_yes_with_nothing_to_answer_is_not_understood(env, db, domain):
    events, messages = await run(ActionYesNo(), tracker(message("ja", "affirm")), domain)
    assert texts(messages)[0].startswith("Jag förstod inte.")
