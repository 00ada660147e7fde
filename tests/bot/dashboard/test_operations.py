"""What staff change from the dashboard: notes and statuses, sessions, capacity, attendance."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.dashboard.operations import (
    DashboardError,
    NewSession,
    create_session,
    mark_attendance,
    programme_activity,
    set_capacity,
    update_referral,
)
from bot.db.models import ActivitySession, AuditEvent, BookingAttendance, FunnelEvent, Referral, ReferralNote
from tests.bot.dashboard.factory import activity_session, book, program, referral


def count(db, model, *where):
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_a_status_change_keeps_a_note_and_an_audit_without_the_text(db):
    referral_id = referral(db)
    with db.transaction() as session:
        row = update_referral(session, session.get(Referral, referral_id), "contacted", "Ringde  ", actor="maria")
        assert (row.status_from, row.status_to, row.text) == ("new", "contacted", "Ringde")
    with db.transaction() as session:
        assert session.get(Referral, referral_id).status == "contacted"
        added = session.execute(select(AuditEvent).where(AuditEvent.action == "referral.note_added")).scalar_one()
        assert "Ringde" not in str(added.details)


def test_the_same_status_again_is_a_note_only(db):
    referral_id = referral(db)
    with db.transaction() as session:
        row = update_referral(session, session.get(Referral, referral_id), "new", "Inget nytt", actor="maria")
        assert (row.status_from, row.status_to) == (None, None)


@pytest.mark.parametrize("status, note", [(None, ""), ("", "   "), ("started", "hopp"), ("bogus", "x"),
                                          (None, "x" * 4001)])
def test_refused_changes_change_nothing(db, status, note):
    referral_id = referral(db)
    with pytest.raises(DashboardError), db.transaction() as session:
        update_referral(session, session.get(Referral, referral_id), status, note, actor="maria")
    assert count(db, ReferralNote) == 0
    with db.transaction() as session:
        assert session.get(Referral, referral_id).status == "new"


def test_a_session_of_the_programmes_activity(db):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    with db.transaction() as session:
        activity = programme_activity(session, program().activity)
        assert programme_activity(session, program().activity).id == activity.id  # made once
        created = create_session(session, activity, NewSession(start, 60, " Träffpunkten ", "Väg 1", 4), actor="maria")
        assert (created.place, created.ends_at) == ("Träffpunkten", start + timedelta(minutes=60))
    for bad in (NewSession(start, 60, "", "Väg 1", 4), NewSession(start, 60, "P", "Väg 1", -1),
                NewSession(start, 0, "P", "Väg 1", 4), NewSession(start.replace(tzinfo=None), 60, "P", "V", 4)):
        with pytest.raises(DashboardError), db.transaction() as session:
            create_session(session, programme_activity(session, program().activity), bad, actor="maria")
    assert count(db, ActivitySession) == 1


def test_capacity_not_below_the_seats_booked(db):
    session_id = activity_session(db, capacity=3)
    book(db, referral(db), session_id)
    book(db, referral(db), session_id)
    with pytest.raises(DashboardError, match="2 som redan är bokade"), db.transaction() as session:
        set_capacity(session, session_id, 1, actor="maria")
    with db.transaction() as session:
        assert set_capacity(session, session_id, 2, actor="maria").capacity == 2  # exactly full is fine
    with db.transaction() as session:
        assert session.get(ActivitySession, session_id).capacity == 2
    with pytest.raises(DashboardError), db.transaction() as session:
        set_capacity(session, session_id + 1000, 5, actor="maria")


def test_attendance_only_for_seats_of_that_session(db):
    session_id = activity_session(db, capacity=1)
    other_session = activity_session(db)
    seat = book(db, referral(db), session_id)
    waiting = book(db, referral(db), session_id)
    for target, booking_id, outcome in ((session_id, waiting, "attended"), (other_session, seat, "attended"),
                                        (session_id, seat, "maybe")):
        with pytest.raises(DashboardError), db.transaction() as session:
            mark_attendance(session, target, booking_id, outcome, actor="nora")
    assert count(db, BookingAttendance) == 0


def test_attended_without_a_funnel_key_counts_nowhere(db):
    session_id = activity_session(db)
    seat = book(db, referral(db), session_id)  # funnel_key not set
    with db.transaction() as session:
        assert mark_attendance(session, session_id, seat, "attended", actor="nora") is True
        assert mark_attendance(session, session_id, seat, "attended", actor="nora") is False  # no change
    assert count(db, BookingAttendance) == 1
    assert count(db, FunnelEvent) == 0


def test_a_correction_keeps_attended_when_another_booking_of_the_conversation_came(db):
    first_session, second_session = activity_session(db), activity_session(db)
    first = book(db, referral(db, funnel_key="conv"), first_session)
    second = book(db, referral(db, funnel_key="conv"), second_session)
    with db.transaction() as session:
        mark_attendance(session, first_session, first, "attended", actor="nora")
        mark_attendance(session, second_session, second, "attended", actor="nora")
    assert count(db, FunnelEvent, FunnelEvent.step == "attended") == 1  # each step counts once
    with db.transaction() as session:
        mark_attendance(session, second_session, second, "no_show", actor="nora")
    assert count(db, FunnelEvent, FunnelEvent.step == "attended") == 1  # the first one still came
    with db.transaction() as session:
        mark_attendance(session, first_session, first, "no_show", actor="nora")
    assert count(db, FunnelEvent, FunnelEvent.step == "attended") == 0


def test_a_no_show_gets_one_follow_up_and_may_book_again(db):
    from bot.db.models import Booking, BookingMessage
    from bot.intake.booking import BOOKED, active_booking, move_booking

    session_id, later = activity_session(db), activity_session(db)
    referral_id = referral(db, funnel_key="conv-ns")
    seat = book(db, referral_id, session_id)
    with db.transaction() as session:
        assert mark_attendance(session, session_id, seat, "no_show", actor="nora") is True
    with db.transaction() as session:
        booking = session.get(Booking, seat)
        assert booking.status == "no_show"
        assert {m.kind: m.status for m in booking.messages} == {
            "reminder:1440": "cancelled", "reminder:120": "cancelled", "no_show": "pending"}
        assert active_booking(session, referral_id) is None  # free to book again
    # a correction ("came after all") withdraws the follow-up before it is sent
    with db.transaction() as session:
        mark_attendance(session, session_id, seat, "attended", actor="nora")
    with db.transaction() as session:
        assert session.get(Booking, seat).status == "attended"
        assert session.execute(select(BookingMessage.status).where(
            BookingMessage.booking_id == seat, BookingMessage.kind == "no_show")).scalar_one() == "cancelled"
    with db.transaction() as session:  # and back: the one follow-up is planned again, not made twice
        mark_attendance(session, session_id, seat, "no_show", actor="nora")
    assert count(db, BookingMessage, BookingMessage.kind == "no_show", BookingMessage.booking_id == seat) == 1
    assert count(db, BookingMessage, BookingMessage.kind == "no_show", BookingMessage.status == "pending") == 1
    with db.transaction() as session:
        assert move_booking(session, referral_id, later).outcome == BOOKED
