"""The scheduler with a controllable clock, on SQLite and PostgreSQL: reminders go once at their
times, survive a restart, skip cancelled bookings, and the waiting list is offered freed seats."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.store import load_choices
from bot.db.models import Booking, BookingMessage, OutboundMessage, Participant, Referral
from bot.i18n import load_catalogs
from bot.intake.booking import book_seat, cancel_booking, join_waitlist
from bot.intake.program import load_program
from bot.intake.reminders import CLAIM_TIMEOUT, claim
from bot.scheduler import Scheduler
from tests.bot.intake.conftest import Factory
from tests.conftest import PROJECT_ROOT

STOCKHOLM = ZoneInfo("Europe/Stockholm")
CATALOGS = load_catalogs(PROJECT_ROOT / "locales")
PROGRAM = load_program(PROJECT_ROOT / "program.yml")
# a Tuesday, and a session on the Friday at 10:00 local time
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM).astimezone(timezone.utc)
STARTS = datetime(2026, 12, 4, 10, 0, tzinfo=STOCKHOLM).astimezone(timezone.utc)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make(db) -> Factory:
    return Factory(db)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def scheduler(db, clock) -> Scheduler:
    return Scheduler(db, CATALOGS, PROGRAM, clock)


def booked(db, make, channel="telegram", language="sv", address="424242", starts=STARTS, capacity=8):
    session_id = make.session(make.activity(), starts_at=starts, capacity=capacity)
    referral = make.referral(channel=channel, language=language, contact_address=address)
    with db.transaction() as session:
        return book_seat(session, referral, session_id, NOW).booking.id


def outbox(db):
    with db.transaction() as session:
        rows = session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars().all()
        return [(r.channel, r.recipient, r.body, r.buttons) for r in rows]


def statuses(db, booking_id):
    with db.transaction() as session:
        rows = session.execute(select(BookingMessage.kind, BookingMessage.status)
                               .where(BookingMessage.booking_id == booking_id).order_by(BookingMessage.id))
        return dict(tuple(r) for r in rows)


def test_reminders_are_sent_once_each_at_their_time(db, scheduler, clock, make):
    booking_id = booked(db, make)
    assert scheduler.run_once().sent == []  # three days ahead: nothing due
    clock.now = STARTS - timedelta(hours=24, minutes=1)
    assert scheduler.run_once().sent == []
    clock.now = STARTS - timedelta(hours=24)
    assert len(scheduler.run_once().sent) == 1
    assert scheduler.run_once().sent == []  # not twice
    clock.now = STARTS - timedelta(hours=3)
    assert scheduler.run_once().sent == []
    clock.now = STARTS - timedelta(hours=2)
    assert len(scheduler.run_once().sent) == 1
    clock.now = STARTS - timedelta(minutes=10)
    assert scheduler.run_once().sent == []
    sent = outbox(db)
    assert [(channel, recipient) for channel, recipient, _, _ in sent] == [("telegram", "424242")] * 2
    first, second = sent[0][2], sent[1][2]
    assert first == CATALOGS.get("sv").text("reminder", day="fredag 4 december", time="10:00",
                                             place="Träffpunkten Gustavsberg", address="Odelbergs väg 11")
    assert "i dag klockan 10:00" in second
    assert [b["payload"] for b in sent[0][3]] == ["/confirm_booking", "/reschedule_booking", "/cancel_booking"]
    assert [b["title"] for b in sent[0][3]] == ["Ja, jag kommer", "Byt tid", "Avboka"]
    assert statuses(db, booking_id) == {"reminder:1440": "sent", "reminder:120": "sent"}


def test_reminders_survive_a_restart_of_the_scheduler(db, clock, make):
    booking_id = booked(db, make)
    clock.now = STARTS - timedelta(hours=24)
    # a scheduler claims the reminder and dies before sending it
    with db.transaction() as session:
        message_id = session.execute(select(BookingMessage.id).where(
            BookingMessage.booking_id == booking_id, BookingMessage.kind == "reminder:1440")).scalar_one()
        assert claim(session, message_id, clock.now) is not None
    restarted = Scheduler(db, CATALOGS, PROGRAM, clock)
    assert restarted.run_once().sent == []  # another may still be sending it
    clock.now += CLAIM_TIMEOUT
    assert restarted.run_once().sent == [message_id]
    assert restarted.run_once().sent == []
    assert len(outbox(db)) == 1


def test_two_schedulers_at_once_send_each_reminder_once(db, clock, make):
    ids = [booked(db, make, address=str(1000 + i)) for i in range(10)]
    clock.now = STARTS - timedelta(hours=24)
    schedulers = [Scheduler(db, CATALOGS, PROGRAM, clock) for _ in range(3)]
    barrier = threading.Barrier(3)
    results = []

    def work(s):
        barrier.wait()
        results.append(s.run_once().sent)

    threads = [threading.Thread(target=work, args=(s,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    sent = [m for r in results for m in r]
    assert len(sent) == len(set(sent)) == 10
    assert sorted(r for _, r, _, _ in outbox(db)) == sorted(str(1000 + i) for i in range(10))
    assert all(statuses(db, b)["reminder:1440"] == "sent" for b in ids)


def test_no_reminder_for_a_cancelled_booking(db, scheduler, clock, make):
    booking_id = booked(db, make)
    with db.transaction() as session:
        cancel_booking(session, session.get(Booking, booking_id), now=NOW)
    for hours in (24, 2):
        clock.now = STARTS - timedelta(hours=hours)
        assert scheduler.run_once().sent == []
    assert outbox(db) == []
    assert statuses(db, booking_id) == {"reminder:1440": "cancelled", "reminder:120": "cancelled"}


def test_a_booking_cancelled_after_it_was_claimed_is_not_sent(db, scheduler, clock, make):
    booking_id = booked(db, make)
    clock.now = STARTS - timedelta(hours=24)
    with db.transaction() as session:
        session.get(Booking, booking_id).status = "cancelled"  # e.g. by staff, bypassing the queue
    tick = scheduler.run_once()
    assert tick.sent == [] and len(tick.dropped) == 1
    assert outbox(db) == []


def test_sms_reminders_are_short_numbered_and_answerable_by_number(db, scheduler, clock, make):
    booking_id = booked(db, make, channel="46elks", address="+46701234567")
    clock.now = STARTS - timedelta(hours=24)
    scheduler.run_once()
    [(channel, recipient, body, buttons)] = outbox(db)
    assert (channel, recipient, buttons) == ("46elks", "+46701234567", None)
    assert body.startswith("Påminnelse: 4 december kl 10:00, Odelbergs väg 11. Kommer du?")  # SMS: no weekday
    assert body.endswith("1 Ja, jag kommer\n2 Byt tid\n3 Avboka")
    with db.transaction() as session:
        pseudonym = session.execute(select(Participant.pseudonym).join(Referral).join(Booking)
                                    .where(Booking.id == booking_id)).scalar_one()
        assert [o["payload"] for o in load_choices(session, pseudonym)] == [
            "/confirm_booking", "/reschedule_booking", "/cancel_booking"]


def test_reminders_in_the_participants_language(db, scheduler, clock, make):
    booked(db, make, language="ar")
    clock.now = STARTS - timedelta(hours=24)
    scheduler.run_once()
    [(_, _, body, buttons)] = outbox(db)
    ar = CATALOGS.get("ar")
    assert body.startswith("\u200f")  # laid out right to left
    assert ar.text("button_will_come") == buttons[0]["title"]
    assert "10:00" in body


def test_the_tablet_cannot_be_written_to_so_the_reminder_is_held_for_staff(db, scheduler, clock, make):
    booking_id = booked(db, make, channel="tablet", address=None)
    clock.now = STARTS - timedelta(hours=24)
    tick = scheduler.run_once()
    assert tick.sent == [] and len(tick.held) == 1
    assert outbox(db) == []
    assert statuses(db, booking_id)["reminder:1440"] == "held"


def test_nothing_is_sent_in_the_quiet_hours(db, scheduler, clock, make):
    early = datetime(2026, 12, 4, 9, 0, tzinfo=STOCKHOLM).astimezone(timezone.utc)  # reminder at 07:00 local
    booking_id = booked(db, make, starts=early)
    clock.now = early - timedelta(hours=2)
    assert scheduler.run_once().quiet
    assert statuses(db, booking_id)["reminder:120"] == "pending"
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=STOCKHOLM).astimezone(timezone.utc)
    tick = scheduler.run_once()
    # the day-before reminder was missed (no tick then): only the latest goes, not both at once
    assert len(tick.sent) == 1 and len(tick.dropped) == 1
    assert statuses(db, booking_id) == {"reminder:1440": "skipped", "reminder:120": "sent"}


def test_a_reminder_too_late_to_help_is_skipped(db, scheduler, clock, make):
    booking_id = booked(db, make)
    clock.now = STARTS - timedelta(minutes=20)  # the scheduler was down for two hours
    tick = scheduler.run_once()
    assert tick.sent == [] and len(tick.dropped) == 2
    assert statuses(db, booking_id) == {"reminder:1440": "skipped", "reminder:120": "skipped"}


def test_a_freed_seat_is_offered_and_an_unanswered_offer_passes_on(db, scheduler, clock, make):
    session_id = make.session(make.activity(), starts_at=STARTS, capacity=1)
    holder = make.referral(contact_address="1")
    first = make.referral(contact_address="2")
    second = make.referral(contact_address="3")
    with db.transaction() as session:
        held = book_seat(session, holder, session_id, NOW).booking.id
        first_id = join_waitlist(session, first, session_id, NOW).booking.id
        second_id = join_waitlist(session, second, session_id, NOW).booking.id
        cancel_booking(session, session.get(Booking, held), now=NOW)
    tick = scheduler.run_once()
    assert len(tick.sent) == 1
    [(_, recipient, body, buttons)] = outbox(db)
    assert recipient == "2"
    assert "fredag 4 december klockan 10:00" in body and "Svara senast tisdag 1 december klockan 21:00" in body
    assert [(b["title"], b["payload"]) for b in buttons] == [("Ja, jag tar platsen", "/affirm"), ("Nej tack", "/deny")]
    with db.transaction() as session:
        expires = session.get(Booking, first_id).offer_expires_at
    clock.now = expires
    tick = scheduler.run_once()
    assert tick.expired == [first_id]
    assert tick.quiet and tick.sent == []  # 21:00: the quiet hours begin
    with db.transaction() as session:
        assert session.get(Booking, first_id).status == "cancelled"
        assert session.get(Booking, second_id).status == "offered"
    # the quiet hours began at 21:00: the "too late" note and the next offer wait for 08:00
    clock.now = datetime(2026, 12, 2, 8, 0, tzinfo=STOCKHOLM).astimezone(timezone.utc)
    tick = scheduler.run_once()
    assert len(tick.sent) == 2
    assert sorted(r for _, r, _, _ in outbox(db)) == ["2", "2", "3"]
    assert outbox(db)[1:][[r for _, r, _, _ in outbox(db)[1:]].index("2")][2] == CATALOGS.get("sv").text("offer_expired")
    assert statuses(db, first_id) == {"offer": "sent", "offer_expired": "sent"}
