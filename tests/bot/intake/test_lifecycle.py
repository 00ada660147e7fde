"""The booking lifecycle on SQLite and PostgreSQL: waiting-list offers, moving, cancelling,
reminders planned and withdrawn, and the race for the last seat."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.db.models import ActivitySession, Booking, BookingMessage
from bot.db.types import utcnow
from bot.intake.booking import (
    BOOKED,
    CLOSED,
    DEFAULT_RULES,
    FULL,
    OFFERED,
    WAITLISTED,
    BookingRules,
    accept_offer,
    active_booking,
    book_or_waitlist,
    book_seat,
    cancel_booking,
    decline_offer,
    expire_offers,
    join_waitlist,
    move_booking,
    promote_all,
)
from tests.bot.intake.test_booking import run_together, seats_booked

NOW = utcnow().replace(microsecond=0)


def messages_of(db, booking_id):
    with db.transaction() as session:
        rows = session.execute(select(BookingMessage.kind, BookingMessage.status, BookingMessage.due_at)
                               .where(BookingMessage.booking_id == booking_id).order_by(BookingMessage.id))
        return [tuple(r) for r in rows]


def status_of(db, booking_id):
    with db.transaction() as session:
        return session.get(Booking, booking_id).status


def run(db, work):
    with db.transaction() as session:
        return work(session)


def full_session_with_queue(db, make, queue=2, starts_in=timedelta(days=3)):
    """A one-seat session: one booked referral and ``queue`` waiting; their booking ids."""
    session_id = make.session(make.activity(), capacity=1, starts_at=NOW + starts_in)
    holder, *waiting = make.referrals(1 + queue)
    booked = run(db, lambda s: book_seat(s, holder, session_id, NOW).booking.id)
    queued = [run(db, lambda s, r=r: join_waitlist(s, r, session_id, NOW).booking.id) for r in waiting]
    return session_id, booked, queued


def test_booking_plans_the_reminders_before_the_session(db, make):
    starts = NOW + timedelta(days=3)
    session_id = make.session(make.activity(), starts_at=starts)
    booking_id = run(db, lambda s: book_seat(s, make.referral(), session_id, NOW).booking.id)
    assert messages_of(db, booking_id) == [
        ("reminder:1440", "pending", starts - timedelta(hours=24)),
        ("reminder:120", "pending", starts - timedelta(hours=2)),
    ]


def test_a_late_booking_gets_only_the_reminders_still_ahead(db, make):
    starts = NOW + timedelta(hours=10)
    session_id = make.session(make.activity(), starts_at=starts)
    booking_id = run(db, lambda s: book_seat(s, make.referral(), session_id, NOW).booking.id)
    assert [kind for kind, _, _ in messages_of(db, booking_id)] == ["reminder:120"]


def test_configured_reminders(db, make):
    rules = BookingRules.from_mapping({"reminders_before": ["48h", "90m"]})
    starts = NOW + timedelta(days=5)
    session_id = make.session(make.activity(), starts_at=starts)
    booking_id = run(db, lambda s: book_seat(s, make.referral(), session_id, NOW, rules=rules).booking.id)
    assert [(k, d) for k, _, d in messages_of(db, booking_id)] == [
        ("reminder:2880", starts - timedelta(hours=48)), ("reminder:90", starts - timedelta(minutes=90))]


def test_cancelling_withdraws_the_reminders(db, make):
    session_id = make.session(make.activity())
    booking_id = run(db, lambda s: book_seat(s, make.referral(), session_id, NOW).booking.id)
    run(db, lambda s: cancel_booking(s, s.get(Booking, booking_id), now=NOW))
    assert {status for _, status, _ in messages_of(db, booking_id)} == {"cancelled"}
    assert status_of(db, booking_id) == "cancelled"
    assert seats_booked(db, session_id) == 0


def test_a_cancelled_seat_is_offered_to_the_first_in_the_queue(db, make):
    session_id, booked, (first, second) = full_session_with_queue(db, make)
    offered = run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    assert offered == [first]
    assert status_of(db, first) == OFFERED
    assert status_of(db, second) == WAITLISTED
    assert seats_booked(db, session_id) == 1  # held for the offer
    with db.transaction() as session:
        offer = session.get(Booking, first)
        assert offer.offer_expires_at is not None
        assert [m.kind for m in offer.messages] == ["offer"]


def test_newcomers_do_not_jump_the_queue(db, make):
    session_id, booked, (first,) = full_session_with_queue(db, make, queue=1)
    newcomer = make.referral()
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    # the seat is held for the offer: the newcomer is told it is full and queues behind
    assert run(db, lambda s: book_or_waitlist(s, newcomer, session_id, NOW).outcome) == WAITLISTED


def test_a_raised_capacity_goes_to_the_queue_not_to_newcomers(db, make):
    session_id, _booked, (first,) = full_session_with_queue(db, make, queue=1)
    with db.transaction() as session:
        session.get(ActivitySession, session_id).capacity = 2
    # no scheduler tick yet: a newcomer still cannot take the free seat past the queue
    assert run(db, lambda s: book_seat(s, make.referral(), session_id, NOW).outcome) == FULL
    assert run(db, lambda s: promote_all(s, NOW)) == [first]


def test_accepting_an_offer_books_and_plans_reminders(db, make):
    _session_id, booked, (first, _second) = full_session_with_queue(db, make)
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    assert run(db, lambda s: accept_offer(s, s.get(Booking, first), NOW + timedelta(hours=1))) == BOOKED
    assert status_of(db, first) == BOOKED
    kinds = [kind for kind, _, _ in messages_of(db, first)]
    assert kinds == ["offer", "reminder:1440", "reminder:120"]
    # twice is the same
    assert run(db, lambda s: accept_offer(s, s.get(Booking, first), NOW + timedelta(hours=2))) == BOOKED


def test_declining_an_offer_asks_the_next(db, make):
    session_id, booked, (first, second) = full_session_with_queue(db, make)
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    assert run(db, lambda s: decline_offer(s, s.get(Booking, first), NOW)) == [second]
    assert status_of(db, first) == "cancelled"
    assert status_of(db, second) == OFFERED
    assert seats_booked(db, session_id) == 1


def test_an_unanswered_offer_expires_and_the_next_is_asked(db, make):
    session_id, booked, (first, second) = full_session_with_queue(db, make)
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    with db.transaction() as session:
        expires = session.get(Booking, first).offer_expires_at
    assert run(db, lambda s: expire_offers(s, expires - timedelta(seconds=1))) == []
    assert run(db, lambda s: expire_offers(s, expires)) == [first]
    with db.transaction() as session:
        lapsed = session.get(Booking, first)
        assert (lapsed.status, lapsed.cancel_reason) == ("cancelled", "offer_expired")
        # the offer was never sent (no scheduler ran): it is withdrawn; the participant is told it lapsed
        assert {m.kind: m.status for m in lapsed.messages} == {"offer": "cancelled", "offer_expired": "pending"}
    assert status_of(db, second) == OFFERED
    # too late to take it now
    assert run(db, lambda s: accept_offer(s, s.get(Booking, first), expires)) == CLOSED
    assert seats_booked(db, session_id) == 1


def test_an_offer_never_outlives_the_booking_lead_time(db, make):
    starts = NOW + timedelta(hours=6)
    session_id, booked, (first,) = full_session_with_queue(db, make, queue=1, starts_in=timedelta(hours=6))
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=NOW))
    with db.transaction() as session:
        assert session.get(Booking, first).offer_expires_at <= starts - DEFAULT_RULES.min_lead


def test_an_offer_made_at_night_counts_from_the_morning(db, make):
    rules = BookingRules()  # quiet 21-08 Stockholm
    night = NOW.replace(hour=23, minute=0)  # 23 UTC is 00/01 local: quiet
    session_id = make.session(make.activity(), capacity=1, starts_at=night + timedelta(days=3))
    holder, waiting = make.referrals(2)
    booked = run(db, lambda s: book_seat(s, holder, session_id, night, rules=rules).booking.id)
    queued = run(db, lambda s: join_waitlist(s, waiting, session_id, night, rules).booking.id)
    run(db, lambda s: cancel_booking(s, s.get(Booking, booked), now=night, rules=rules))
    with db.transaction() as session:
        expires = session.get(Booking, queued).offer_expires_at
    assert expires == rules.sendable_from(night) + rules.offer_window
    assert expires > night + rules.offer_window


def test_moving_takes_the_new_seat_and_frees_the_old_one(db, make):
    activity = make.activity()
    old_session = make.session(activity, capacity=1)
    new_session = make.session(activity, capacity=3, starts_at=NOW + timedelta(days=5))
    waiting = make.referral()
    referral = make.referral()
    old = run(db, lambda s: book_seat(s, referral, old_session, NOW).booking.id)
    queued = run(db, lambda s: join_waitlist(s, waiting, old_session, NOW).booking.id)
    result = run(db, lambda s: (lambda r: (r.outcome, r.booking.id, r.promoted))(move_booking(s, referral, new_session, NOW)))
    assert result[0] == BOOKED
    assert status_of(db, old) == "cancelled"
    assert result[2] == [queued]  # the old seat went to the queue
    assert seats_booked(db, new_session) == 1
    with db.transaction() as session:
        assert session.get(Booking, old).cancel_reason == "rescheduled"
        assert active_booking(session, referral).session_id == new_session
    assert {s for _, s, _ in messages_of(db, old)} == {"cancelled"}
    assert len(messages_of(db, result[1])) == 2


def test_moving_to_a_full_session_keeps_the_old_booking(db, make):
    activity = make.activity()
    old_session = make.session(activity, capacity=2)
    full = make.session(activity, capacity=0)
    referral = make.referral()
    old = run(db, lambda s: book_seat(s, referral, old_session, NOW).booking.id)
    assert run(db, lambda s: move_booking(s, referral, full, NOW).outcome) == FULL
    assert status_of(db, old) == BOOKED
    assert seats_booked(db, old_session) == 1


def test_a_no_show_can_book_again(db, make):
    session_id = make.session(make.activity())
    referral = make.referral()
    booking_id = run(db, lambda s: book_seat(s, referral, session_id, NOW).booking.id)
    with db.transaction() as session:
        session.get(Booking, booking_id).status = "no_show"
    other = make.session(make.activity())
    assert run(db, lambda s: move_booking(s, referral, other, NOW).outcome) == BOOKED


# -- the race for the last seat -------------------------------------------------------------

def test_fifty_participants_race_for_the_last_seat(db, make):
    session_id = make.session(make.activity(), capacity=5, seats_booked=4)
    referrals = make.referrals(50)

    def work(i):
        with db.transaction() as session:
            return book_or_waitlist(session, referrals[i], session_id, NOW).outcome

    outcomes, errors = run_together(50, work)
    assert errors == []
    assert outcomes.count(BOOKED) == 1
    assert outcomes.count(WAITLISTED) == 49
    assert seats_booked(db, session_id) == 5
    with db.transaction() as session:
        rows = session.execute(select(Booking.status).where(Booking.session_id == session_id)).scalars().all()
        assert sorted(rows) == ["booked"] + ["waitlisted"] * 49
        positions = session.execute(select(Booking.referral_id).where(
            Booking.session_id == session_id, Booking.status == "waitlisted").order_by(Booking.id)).scalars().all()
        assert len(set(positions)) == 49


def test_concurrent_cancellations_offer_each_seat_once(db, make):
    session_id = make.session(make.activity(), capacity=5)
    holders = make.referrals(5)
    waiting = make.referrals(8)
    booked = [run(db, lambda s, r=r: book_seat(s, r, session_id, NOW).booking.id) for r in holders]
    for r in waiting:
        run(db, lambda s, r=r: join_waitlist(s, r, session_id, NOW))

    def work(i):
        with db.transaction() as session:
            return cancel_booking(session, session.get(Booking, booked[i]), now=NOW)

    results, errors = run_together(5, work)
    assert errors == []
    offered = [b for r in results for b in r]
    assert len(offered) == len(set(offered)) == 5
    assert seats_booked(db, session_id) == 5
    with db.transaction() as session:
        statuses = session.execute(select(Booking.status).where(Booking.session_id == session_id)).scalars().all()
        assert statuses.count("offered") == 5 and statuses.count("waitlisted") == 3
