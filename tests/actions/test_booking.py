"""The booking form: offering sessions, taking a seat, the waiting list, the confirmation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ActionAskBookingSession, ActionAskWaitlistAccept, ActionConfirmBooking, ValidateBookingForm
from bot.db.models import ActivitySession, Booking
from bot.db.types import utcnow
from bot.intake.booking import book_seat, join_waitlist
from tests.actions.conftest import all_rows, all_slots, choose, make_tracker, message, run, skip, slot_events, \
    slots_set, texts

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEKDAYS = ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"]
MONTHS = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december"]
PLACE = "Träffpunkten Gustavsberg"
ADDRESS = "Odelbergs väg 11"
SUMMARY = (
    "Vi har sparat dina svar.\n"
    "Handläggare på kommunen ser dem.\n"
    "Vill du byta tid eller avboka? Skriv till mig här.\n"
    'Vill du att vi tar bort dina uppgifter? Skriv "radera".'
)
QUESTION = "Nu kan du välja en tid för ett första möte."


def local_start(days: int, hour: int, minute: int = 0) -> datetime:
    """A start ``days`` ahead at a fixed local (Stockholm) time, as an aware UTC datetime."""
    day = (datetime.now(STOCKHOLM) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(timezone.utc)


def swedish_day(when: datetime) -> str:
    local = when.astimezone(STOCKHOLM)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"


def seats_booked(db, session_id):
    with db.transaction() as session:
        return session.get(ActivitySession, session_id).seats_booked


def bookings(db):
    return [(b.referral_id, b.session_id, b.status) for b in all_rows(db, Booking)]


def booking_tracker(latest, referral_id, requested="booking_session", offered=(), language="sv", **slots):
    values = dict(language="sv", consent_data="yes", referral_id=float(referral_id), can_book=True,
                  offered_sessions=[str(s) for s in offered], requested_slot=requested)
    values["language"] = language
    values.update(slots)
    return make_tracker(all_slots(**values), latest, form="booking_form")


async def validate(tracker, domain):
    return await run(ValidateBookingForm(), tracker, domain)


async def required(tracker, domain):
    form = ValidateBookingForm()
    return await form.required_slots(form.domain_slots(domain), CollectingDispatcher(), tracker, domain)


# -- offering sessions -------------------------------------------------------------------------

async def test_ask_booking_session_lists_upcoming_sessions(env, db, domain, make):
    activity = make.activity()
    later = local_start(9, 13, 30)
    sooner = local_start(5, 10)
    full_id = make.session(activity, starts_at=later, capacity=2, seats_booked=2)
    free_id = make.session(activity, starts_at=sooner, capacity=8, seats_booked=3)
    make.session(activity, starts_at=utcnow() + timedelta(hours=1))  # too soon to book
    make.session(activity, starts_at=utcnow() - timedelta(days=1))  # past
    referral = make.referral()

    events, messages = await run(ActionAskBookingSession(), booking_tracker(message(""), referral), domain)

    assert slots_set(events) == {"offered_sessions": [str(free_id), str(full_id)]}
    assert len(messages) == 1
    assert messages[0]["text"] == QUESTION
    assert messages[0]["buttons"] == [
        {"title": f"{swedish_day(sooner)} kl 10:00, {PLACE}. 5 platser kvar.",
         "payload": '/choose{"choice":"' + str(free_id) + '"}'},
        {"title": f"{swedish_day(later)} kl 13:30, {PLACE}. Fullt, kölista.",
         "payload": '/choose{"choice":"' + str(full_id) + '"}'},
        {"title": "Hoppa över", "payload": "/skip"},
    ]


async def test_ask_booking_session_offers_at_most_three(env, db, domain, make):
    activity = make.activity()
    ids = [make.session(activity, starts_at=local_start(3 + i, 10)) for i in range(5)]

    events, messages = await run(ActionAskBookingSession(), booking_tracker(message(""), make.referral()), domain)

    assert slots_set(events)["offered_sessions"] == [str(i) for i in ids[:3]]
    assert len(messages[0]["buttons"]) == 4


async def test_ask_booking_session_without_sessions(env, db, domain, make):
    events, messages = await run(ActionAskBookingSession(), booking_tracker(message(""), make.referral()), domain)

    assert slots_set(events) == {"offered_sessions": []}
    assert texts(messages) == ["Det finns inga fler tider att välja.", QUESTION]
    assert messages[1]["buttons"] == [{"title": "Hoppa över", "payload": "/skip"}]


async def test_ask_booking_session_in_english(env, db, domain, make):
    start = local_start(4, 9, 15)
    make.session(make.activity(), starts_at=start, capacity=3, seats_booked=0)

    _, messages = await run(ActionAskBookingSession(), booking_tracker(message(""), make.referral(), language="en"),
                            domain)

    assert messages[0]["text"] == "Now you can choose a time for a first meeting."
    title = messages[0]["buttons"][0]["title"]
    assert title.endswith(f"at 09:15, {PLACE}. 3 places left.")
    assert messages[0]["buttons"][-1] == {"title": "Skip", "payload": "/skip"}


async def test_ask_waitlist_accept(domain):
    tracker = booking_tracker(message(""), 1, requested="waitlist_accept")

    _, messages = await run(ActionAskWaitlistAccept(), tracker, domain)

    assert messages[0]["text"] == "Vill du stå på kölistan för den tiden?"
    assert messages[0]["buttons"] == [
        {"title": "Ja, kölista", "payload": '/choose{"choice":"yes"}'},
        {"title": "Nej, annan tid", "payload": '/choose{"choice":"no"}'},
    ]


# -- choosing ----------------------------------------------------------------------------------

async def test_tapped_session_books_a_seat(env, db, domain, make):
    session_id = make.session(make.activity(), capacity=4, seats_booked=1)
    referral = make.referral()

    events, messages = await validate(booking_tracker(choose(str(session_id)), referral, offered=[session_id]), domain)

    assert slots_set(events) == {"booking_session": str(session_id), "booking_outcome": "booked",
                                 "requested_slot": None}
    assert messages == []
    assert seats_booked(db, session_id) == 2
    assert bookings(db) == [(referral, session_id, "booked")]


async def test_typed_number_picks_the_offered_session(env, db, domain, make):
    activity = make.activity()
    first = make.session(activity, starts_at=local_start(3, 10))
    second = make.session(activity, starts_at=local_start(4, 10))
    referral = make.referral()

    events, _ = await validate(booking_tracker(message("2"), referral, offered=[first, second]), domain)

    assert slots_set(events)["booking_session"] == str(second)
    assert bookings(db) == [(referral, second, "booked")]
    assert (seats_booked(db, first), seats_booked(db, second)) == (0, 1)


async def test_a_session_that_was_not_offered_is_not_booked(env, db, domain, make):
    activity = make.activity()
    offered = make.session(activity)
    other = make.session(activity)
    referral = make.referral()

    events, messages = await validate(booking_tracker(choose(str(other)), referral, offered=[offered]), domain)

    assert texts(messages) == ["Jag förstod inte. Tryck på ett svar eller skriv en siffra."]
    assert slots_set(events) == {"booking_session": None, "requested_slot": "booking_session"}
    assert bookings(db) == []


async def test_full_session_offers_the_waiting_list(env, db, domain, make):
    session_id = make.session(make.activity(), capacity=2, seats_booked=2)
    referral = make.referral()
    tracker = booking_tracker(choose(str(session_id)), referral, offered=[session_id])

    events, messages = await validate(tracker, domain)

    assert texts(messages) == ["Den tiden är tyvärr full."]
    result = slots_set(events)
    assert result["booking_session"] == str(session_id)
    assert result["booking_outcome"] == "full"
    # the validation action leaves requested_slot to Rasa here: its required slots are the domain's
    assert result.get("requested_slot", "waitlist_accept") == "waitlist_accept"
    assert await required(tracker, domain) == ["booking_session", "waitlist_accept"]
    assert bookings(db) == []
    assert seats_booked(db, session_id) == 2


async def test_booking_form_asks_only_for_a_session_unless_full(domain):
    for outcome in (None, "booked", "waitlisted", "skipped"):
        tracker = booking_tracker(message(""), 1, booking_outcome=outcome)
        assert await required(tracker, domain) == ["booking_session"]


async def test_session_too_soon_is_closed(env, db, domain, make):
    session_id = make.session(make.activity(), starts_at=utcnow() + timedelta(hours=1))
    referral = make.referral()

    events, messages = await validate(booking_tracker(choose(str(session_id)), referral, offered=[session_id]), domain)

    assert texts(messages) == ["Den tiden går inte att boka längre. Välj en annan tid."]
    assert slots_set(events) == {"booking_session": None, "booking_outcome": None, "requested_slot": "booking_session"}
    assert bookings(db) == []


async def test_waitlist_yes_puts_the_referral_on_the_list(env, db, domain, make):
    session_id = make.session(make.activity(), capacity=1, seats_booked=1)
    referral = make.referral()
    tracker = booking_tracker(message("ja", "affirm"), referral, requested="waitlist_accept", offered=[session_id],
                              booking_session=str(session_id), booking_outcome="full")

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"waitlist_accept": "yes", "booking_outcome": "waitlisted", "requested_slot": None}
    assert messages == []
    assert bookings(db) == [(referral, session_id, "waitlisted")]
    assert seats_booked(db, session_id) == 1


async def test_waitlist_no_asks_for_another_session(env, db, domain, make):
    session_id = make.session(make.activity(), capacity=1, seats_booked=1)
    referral = make.referral()
    tracker = booking_tracker(choose("no"), referral, requested="waitlist_accept", offered=[session_id],
                              booking_session=str(session_id), booking_outcome="full")

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"booking_session": None, "waitlist_accept": None, "booking_outcome": None,
                                 "requested_slot": "booking_session"}
    assert messages == []
    assert bookings(db) == []


async def test_skip_books_nothing(env, db, domain, make):
    session_id = make.session(make.activity())
    referral = make.referral()

    events, messages = await validate(booking_tracker(skip(), referral, offered=[session_id]), domain)

    assert slots_set(events) == {"booking_session": "skipped", "booking_outcome": "skipped", "requested_slot": None}
    assert messages == []
    assert bookings(db) == []
    assert seats_booked(db, session_id) == 0


@pytest.mark.parametrize("intent, text", [("stop", "stopp"), ("help", "hjälp"), ("talk_to_human", "ring mig")])
async def test_interruption_during_booking_sets_no_slot(domain, intent, text):
    tracker = booking_tracker(message(text, intent, 0.9), 1, offered=["1"])

    events, messages = await validate(tracker, domain)

    assert [name for name, _ in slot_events(events)] == ["requested_slot"]
    assert messages == []


async def test_language_switch_during_booking_keeps_the_language(domain):
    tracker = booking_tracker(message("english please", "set_language", 0.9, [{"entity": "language", "value": "en"}]),
                              1, offered=["1"])

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"language": "en", "requested_slot": "booking_session"}
    assert texts(messages) == ["I will write in English now."]


# -- confirming --------------------------------------------------------------------------------

async def test_confirm_booked(env, db, domain, make):
    start = local_start(6, 10, 30)
    session_id = make.session(make.activity(), starts_at=start)
    referral = make.referral()
    with db.transaction() as session:
        assert book_seat(session, referral, session_id).outcome == "booked"

    events, messages = await run(ActionConfirmBooking(), booking_tracker(message("1"), referral, requested=None,
                                                                         booking_outcome="booked"), domain)

    assert texts(messages) == [
        "Du är bokad!\n"
        f"Dag: {swedish_day(start)}\n"
        "Tid: klockan 10:30\n"
        f"Plats: {PLACE}, {ADDRESS}\n"
        "Ta med: id-kort eller LMA-kort, om du har",
        SUMMARY,
    ]
    assert slots_set(events) == {"can_book": False, "rescheduling": False}


async def test_confirm_booked_in_english(env, db, domain, make):
    start = local_start(6, 14)
    session_id = make.session(make.activity(), starts_at=start)
    referral = make.referral()
    with db.transaction() as session:
        book_seat(session, referral, session_id)

    _, messages = await run(ActionConfirmBooking(), booking_tracker(message("1"), referral, requested=None,
                                                                    language="en"), domain)

    assert messages[0]["text"].startswith("You are booked!\n")
    assert "Time: 14:00\n" in messages[0]["text"]
    assert f"Place: {PLACE}, {ADDRESS}" in messages[0]["text"]
    assert messages[1]["text"].startswith("We have saved your answers.")


async def test_confirm_waitlisted_gives_the_position(env, db, domain, make):
    start = local_start(7, 9)
    session_id = make.session(make.activity(), starts_at=start, capacity=1, seats_booked=1)
    first, second = make.referrals(2)
    with db.transaction() as session:
        assert join_waitlist(session, first, session_id).outcome == "waitlisted"
        assert join_waitlist(session, second, session_id).outcome == "waitlisted"

    events, messages = await run(ActionConfirmBooking(), booking_tracker(message("ja"), second, requested=None,
                                                                         booking_outcome="waitlisted"), domain)

    assert texts(messages) == [
        f"Du står på kölistan för {swedish_day(start)} klockan 09:00.\n"
        "Du är nummer 2 i kön.\n"
        "Vi hör av oss om en plats blir ledig.",
        SUMMARY,
    ]
    assert slots_set(events) == {"can_book": False, "rescheduling": False}


async def test_confirm_without_a_booking(env, db, domain, make):
    referral = make.referral()

    events, messages = await run(ActionConfirmBooking(), booking_tracker(skip(), referral, requested=None,
                                                                         booking_outcome="skipped"), domain)

    assert texts(messages) == ["Okej, ingen tid är bokad. En handläggare kontaktar dig.", SUMMARY]
    assert slots_set(events) == {"can_book": False, "rescheduling": False}


async def test_whole_booking_round(env, db, domain, make):
    """Offer, pick a full session, decline the list, pick a free one, confirm."""
    activity = make.activity()
    full = make.session(activity, starts_at=local_start(3, 10), capacity=1, seats_booked=1)
    free = make.session(activity, starts_at=local_start(4, 11), capacity=5)
    referral = make.referral()

    events, _ = await run(ActionAskBookingSession(), booking_tracker(message(""), referral), domain)
    offered = slots_set(events)["offered_sessions"]
    assert offered == [str(full), str(free)]

    events, _ = await validate(booking_tracker(message("1"), referral, offered=offered), domain)
    assert slots_set(events)["booking_outcome"] == "full"

    events, _ = await validate(booking_tracker(message("nej", "deny"), referral, requested="waitlist_accept",
                                               offered=offered, booking_session=str(full), booking_outcome="full"),
                               domain)
    assert slots_set(events)["requested_slot"] == "booking_session"

    events, _ = await validate(booking_tracker(message("2"), referral, offered=offered), domain)
    assert slots_set(events)["booking_outcome"] == "booked"

    _, messages = await run(ActionConfirmBooking(), booking_tracker(message("2"), referral, requested=None), domain)
    assert messages[0]["text"].startswith("Du är bokad!")
    assert "Tid: klockan 11:00" in messages[0]["text"]
    assert bookings(db) == [(referral, free, "booked")]
    assert (seats_booked(db, full), seats_booked(db, free)) == (1, 1)
