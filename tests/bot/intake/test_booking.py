"""Seats and waiting lists, on SQLite and PostgreSQL, including concurrent bookings."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import ActivitySession, AuditEvent, Booking
from bot.db.types import utcnow
from bot.intake.booking import (
    BOOKED,
    CLOSED,
    FULL,
    WAITLISTED,
    active_booking,
    book_seat,
    cancel_booking,
    join_waitlist,
    upcoming_sessions,
    waitlist_position,
)


def seats_booked(db, session_id: int) -> int:
    with db.transaction() as session:
        return session.get(ActivitySession, session_id).seats_booked


def bookings_of(db, session_id: int) -> list:
    with db.transaction() as session:
        stmt = select(Booking.referral_id, Booking.status).where(Booking.session_id == session_id).order_by(Booking.id)
        return [tuple(row) for row in session.execute(stmt)]


def book(db, referral_id: int, session_id: int, **kwargs):
    with db.transaction() as session:
        result = book_seat(session, referral_id, session_id, **kwargs)
        return result.outcome, (result.booking.id if result.booking is not None else None)


def test_book_seat_books_and_counts_the_seat(db, make):
    session_id = make.session(make.activity(), capacity=3)
    referral_id = make.referral()
    outcome, booking_id = book(db, referral_id, session_id)
    assert outcome == BOOKED
    assert booking_id is not None
    assert seats_booked(db, session_id) == 1
    assert bookings_of(db, session_id) == [(referral_id, "booked")]
    with db.transaction() as session:
        assert active_booking(session, referral_id).id == booking_id
        actions = session.execute(select(AuditEvent.action, AuditEvent.entity_id)).all()
        assert ("booking.booked", str(booking_id)) in [tuple(a) for a in actions]


def test_book_seat_is_idempotent_per_referral(db, make):
    activity = make.activity()
    first_session = make.session(activity, capacity=3)
    other_session = make.session(activity, capacity=3)
    referral_id = make.referral()
    first = book(db, referral_id, first_session)
    assert book(db, referral_id, first_session) == first
    # also when asked for another session: the referral keeps its one seat
    assert book(db, referral_id, other_session) == first
    assert seats_booked(db, first_session) == 1
    assert seats_booked(db, other_session) == 0
    assert bookings_of(db, first_session) == [(referral_id, "booked")]


def test_full_at_capacity(db, make):
    session_id = make.session(make.activity(), capacity=2)
    a, b, c = make.referrals(3)
    assert book(db, a, session_id)[0] == BOOKED
    assert book(db, b, session_id)[0] == BOOKED
    assert book(db, c, session_id) == (FULL, None)
    assert seats_booked(db, session_id) == 2
    with db.transaction() as session:
        assert active_booking(session, c) is None


def test_zero_capacity_session_is_full(db, make):
    session_id = make.session(make.activity(), capacity=0)
    assert book(db, make.referral(), session_id) == (FULL, None)


@pytest.mark.parametrize("starts_in", [timedelta(hours=1, minutes=59), timedelta(hours=2), timedelta(minutes=-30)])
def test_closed_when_the_session_starts_within_two_hours(db, make, starts_in):
    now = utcnow()
    session_id = make.session(make.activity(), starts_at=now + starts_in, capacity=5)
    assert book(db, make.referral(), session_id, now=now) == (CLOSED, None)
    assert seats_booked(db, session_id) == 0


def test_open_just_after_the_lead_time(db, make):
    now = utcnow()
    session_id = make.session(make.activity(), starts_at=now + timedelta(hours=2, minutes=1), capacity=5)
    assert book(db, make.referral(), session_id, now=now)[0] == BOOKED


def test_closed_beats_full(db, make):
    now = utcnow()
    session_id = make.session(make.activity(), starts_at=now + timedelta(minutes=30), capacity=1, seats_booked=1)
    assert book(db, make.referral(), session_id, now=now) == (CLOSED, None)


def test_closed_when_the_session_does_not_exist(db, make):
    referral_id = make.referral()
    assert book(db, referral_id, 987654) == (CLOSED, None)
    with db.transaction() as session:
        assert join_waitlist(session, referral_id, 987654).outcome == CLOSED
        assert active_booking(session, referral_id) is None


def test_waitlist_positions(db, make):
    session_id = make.session(make.activity(), capacity=1)
    booked, first, second, third = make.referrals(4)
    assert book(db, booked, session_id)[0] == BOOKED
    with db.transaction() as session:
        results = [join_waitlist(session, r, session_id) for r in (first, second, third)]
        assert [r.outcome for r in results] == [WAITLISTED] * 3
        assert [waitlist_position(session, r.booking) for r in results] == [1, 2, 3]
    # joining again changes nothing
    with db.transaction() as session:
        again = join_waitlist(session, second, session_id)
        assert (again.outcome, again.booking.id) == (WAITLISTED, results[1].booking.id)
    # the waiting list does not take seats
    assert seats_booked(db, session_id) == 1
    # when the first leaves the list, everyone behind moves up
    with db.transaction() as session:
        cancel_booking(session, session.get(Booking, results[0].booking.id))
    with db.transaction() as session:
        assert waitlist_position(session, session.get(Booking, results[1].booking.id)) == 1
        assert waitlist_position(session, session.get(Booking, results[2].booking.id)) == 2
    assert seats_booked(db, session_id) == 1


def test_waitlist_positions_are_per_session(db, make):
    activity = make.activity()
    one, two = make.session(activity, capacity=0), make.session(activity, capacity=0)
    a, b = make.referrals(2)
    with db.transaction() as session:
        first = join_waitlist(session, a, one)
        other = join_waitlist(session, b, two)
        assert waitlist_position(session, first.booking) == 1
        assert waitlist_position(session, other.booking) == 1


def test_a_referral_with_a_seat_is_not_put_on_a_waitlist(db, make):
    session_id = make.session(make.activity(), capacity=1)
    referral_id = make.referral()
    _, booking_id = book(db, referral_id, session_id)
    with db.transaction() as session:
        result = join_waitlist(session, referral_id, session_id)
        assert (result.outcome, result.booking.id) == (BOOKED, booking_id)
    assert bookings_of(db, session_id) == [(referral_id, "booked")]


def test_cancel_booking_frees_the_seat(db, make):
    session_id = make.session(make.activity(), capacity=1)
    first, second = make.referrals(2)
    _, booking_id = book(db, first, session_id)
    assert book(db, second, session_id)[0] == FULL
    with db.transaction() as session:
        cancel_booking(session, session.get(Booking, booking_id), actor="caseworker")
    assert seats_booked(db, session_id) == 0
    # cancelling twice does not free a second seat
    with db.transaction() as session:
        cancel_booking(session, session.get(Booking, booking_id))
    assert seats_booked(db, session_id) == 0
    assert book(db, second, session_id)[0] == BOOKED
    assert seats_booked(db, session_id) == 1
    assert bookings_of(db, session_id) == [(first, "cancelled"), (second, "booked")]
    with db.transaction() as session:
        actors = session.execute(
            select(AuditEvent.actor).where(AuditEvent.action == "booking.cancelled")
        ).scalars().all()
        assert actors == ["caseworker"]


def test_a_cancelled_referral_can_book_again(db, make):
    session_id = make.session(make.activity(), capacity=2)
    referral_id = make.referral()
    _, booking_id = book(db, referral_id, session_id)
    with db.transaction() as session:
        cancel_booking(session, session.get(Booking, booking_id))
    outcome, new_id = book(db, referral_id, session_id)
    assert outcome == BOOKED and new_id != booking_id
    assert seats_booked(db, session_id) == 1


def test_cancelling_a_waitlist_place_takes_no_seat_back(db, make):
    session_id = make.session(make.activity(), capacity=1)
    booked, waiting = make.referrals(2)
    book(db, booked, session_id)
    with db.transaction() as session:
        result = join_waitlist(session, waiting, session_id)
        cancel_booking(session, result.booking)
    assert seats_booked(db, session_id) == 1
    assert bookings_of(db, session_id) == [(booked, "booked"), (waiting, "cancelled")]


def test_upcoming_sessions_order_lead_time_and_limit(db, make):
    now = utcnow()
    activity = make.activity()
    ids = {
        "past": make.session(activity, starts_at=now - timedelta(days=1)),
        "in_1h": make.session(activity, starts_at=now + timedelta(hours=1)),
        "in_2d": make.session(activity, starts_at=now + timedelta(days=2)),
        "in_3h": make.session(activity, starts_at=now + timedelta(hours=3)),
        "in_1d": make.session(activity, starts_at=now + timedelta(days=1)),
        "in_5d_full": make.session(activity, starts_at=now + timedelta(days=5), capacity=1, seats_booked=1),
    }
    name = {v: k for k, v in ids.items()}
    with db.transaction() as session:
        assert [name[s.id] for s in upcoming_sessions(session, now=now)] == ["in_3h", "in_1d", "in_2d"]
        assert [name[s.id] for s in upcoming_sessions(session, now=now, limit=10)] == [
            "in_3h", "in_1d", "in_2d", "in_5d_full"]  # full sessions are listed: they have a waiting list
        assert [name[s.id] for s in upcoming_sessions(session, now=now, limit=1)] == ["in_3h"]
        assert [name[s.id] for s in upcoming_sessions(session, now=now, limit=10, min_lead=timedelta(0))] == [
            "in_1h", "in_3h", "in_1d", "in_2d", "in_5d_full"]
        assert [name[s.id] for s in upcoming_sessions(session, now=now, limit=10, min_lead=timedelta(hours=30))] == [
            "in_2d", "in_5d_full"]


# -- concurrency ------------------------------------------------------------------------------

def run_together(count: int, work):
    """Run ``work(i)`` in ``count`` threads released at the same moment; results and errors."""
    barrier = threading.Barrier(count)
    results = [None] * count
    errors = []

    def target(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results, errors


@pytest.mark.parametrize("capacity", [1, 3])
def test_concurrent_bookings_never_overbook(db, make, capacity):
    session_id = make.session(make.activity(), capacity=capacity)
    referrals = make.referrals(20)

    def work(i):
        return book(db, referrals[i], session_id)[0]

    outcomes, errors = run_together(20, work)
    assert errors == []
    assert outcomes.count(BOOKED) == capacity
    assert outcomes.count(FULL) == 20 - capacity
    assert seats_booked(db, session_id) == capacity
    rows = bookings_of(db, session_id)
    assert len(rows) == capacity
    assert all(status == "booked" for _, status in rows)
    winners = {referrals[i] for i, outcome in enumerate(outcomes) if outcome == BOOKED}
    assert {referral for referral, _ in rows} == winners


def test_concurrent_double_booking_of_one_referral(db, make):
    session_id = make.session(make.activity(), capacity=5)
    referral_id = make.referral()

    def work(_i):
        return book(db, referral_id, session_id)

    results, errors = run_together(10, work)
    assert errors == []
    assert {outcome for outcome, _ in results} == {BOOKED}
    assert len({booking_id for _, booking_id in results}) == 1
    with db.transaction() as session:
        active = session.execute(
            select(func.count(Booking.id)).where(Booking.referral_id == referral_id, Booking.status.in_(("booked", "waitlisted")))
        ).scalar_one()
        assert active == 1
    assert seats_booked(db, session_id) == 1
