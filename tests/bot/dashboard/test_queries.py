"""The dashboard's queries on a real (migrated) SQLite and PostgreSQL database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from bot.dashboard.queries import (
    BEFORE_FIRST_QUESTION,
    UNKNOWN_LANGUAGE,
    ReferralFilter,
    audit_log,
    audit_count,
    filter_referrals,
    funnel,
    list_sessions,
    session_roster,
    status_counts,
)
from bot.db.models import FUNNEL_STEPS, AuditEvent, BookingAttendance
from bot.db.types import utcnow
from bot.intake.audit import audit
from bot.intake.questions import INTAKE_QUESTIONS
from tests.bot.dashboard.factory import SLOTS, activity_session, book, events, referral, referral_ids

# few barriers: priority 3, not urgent
LOW = {**SLOTS, "consent_health": "no", "swedish_level": "good", "sfi_status": "finished", "schooling": "13_plus",
       "work_experience": "sweden", "support": "salary_or_study", "care_duties": "none", "housing": "own_contract",
       "authority_help": "no", "digital_help": "has_both", "interpreter": "no"}
del LOW["interpreter_language"]
MEDIUM = {**LOW, "swedish_level": "none", "schooling": "0"}  # priority 2
URGENT = {**LOW, "housing": "homeless"}  # urgent, priority 2

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def query(db, **filters):
    with db.transaction() as session:
        return referral_ids(filter_referrals(session, ReferralFilter(**filters)))


def test_urgent_first_then_priority_then_oldest(db):
    low_old = referral(db, LOW, created_at=T0)
    high = referral(db, SLOTS, created_at=T0 + timedelta(hours=3))  # priority 1
    low_new = referral(db, LOW, created_at=T0 + timedelta(hours=1))
    medium = referral(db, MEDIUM, created_at=T0 + timedelta(hours=2))
    urgent = referral(db, URGENT, created_at=T0 + timedelta(hours=4))
    assert query(db) == [urgent, high, medium, low_old, low_new]
    with db.transaction() as session:  # without priority (the NGO's staff): the oldest first
        found = filter_referrals(session, ReferralFilter(), by_priority=False)
        assert referral_ids(found) == [low_old, low_new, medium, high, urgent]


def test_filter_by_status_language_and_channel(db):
    new = referral(db, LOW)
    contacted = referral(db, LOW, status="contacted")
    arabic = referral(db, LOW, language="ar")
    sms = referral(db, LOW, channel="46elks")
    assert set(query(db, status="contacted")) == {contacted}
    assert set(query(db, status="new")) == {new, arabic, sms}
    assert query(db, language="ar") == [arabic]
    assert query(db, channel="46elks") == [sms]
    assert query(db, language="ar", channel="46elks") == []


def test_filter_by_local_calendar_days(db):
    # 23:30 UTC on 1 March is 00:30 on 2 March in Stockholm
    late = referral(db, LOW, created_at=datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc))
    early = referral(db, LOW, created_at=datetime(2026, 3, 1, 22, 30, tzinfo=timezone.utc))  # 23:30 on 1 March
    later = referral(db, LOW, created_at=datetime(2026, 3, 5, 12, 0, tzinfo=timezone.utc))
    assert query(db, date_from=date(2026, 3, 2)) == [late, later]
    assert query(db, date_to=date(2026, 3, 1)) == [early]
    assert query(db, date_from=date(2026, 3, 2), date_to=date(2026, 3, 2)) == [late]
    assert query(db, date_from=date(2026, 3, 1), date_to=date(2026, 3, 5)) == [early, late, later]


def test_filter_by_barrier(db):
    full = referral(db, SLOTS)  # SWEDISH_LIMITED, NO_SWEDISH_WORK_EXPERIENCE, MENTAL_HEALTH, ...
    never_worked = referral(db, LOW, work_experience="none")  # NO_WORK_EXPERIENCE
    low = referral(db, LOW)  # no barriers
    assert query(db, barrier="SWEDISH_LIMITED") == [full]
    assert query(db, barrier="NO_WORK_EXPERIENCE") == [never_worked]  # not NO_SWEDISH_WORK_EXPERIENCE
    assert query(db, barrier="NO_SWEDISH_WORK_EXPERIENCE") == [full]
    assert query(db, barrier="HOMELESS") == []
    assert low not in query(db, barrier="MENTAL_HEALTH")


def test_filter_by_booked(db):
    session_id = activity_session(db, capacity=1)
    seat = referral(db, LOW, created_at=T0)
    waiting = referral(db, LOW, created_at=T0 + timedelta(minutes=1))
    nothing = referral(db, LOW, created_at=T0 + timedelta(minutes=2))
    book(db, seat, session_id)
    book(db, waiting, session_id)  # full: the waiting list
    assert query(db, booked=True) == [seat]
    assert query(db, booked=False) == [waiting, nothing]
    assert query(db) == [seat, waiting, nothing]


def test_status_counts(db):
    referral(db, LOW)
    referral(db, LOW)
    referral(db, LOW, status="accepted")
    referral(db, LOW, municipality="nacka")  # not eligible: declined
    with db.transaction() as session:
        counts = status_counts(session)
    assert counts == {"new": 2, "contacted": 0, "accepted": 1, "started": 0, "declined": 1, "withdrawn": 0}


# -- the funnel --------------------------------------------------------------------------------

def answered(*keys):
    return [f"answered:{key}" for key in keys]


def test_funnel_counts_per_step_language_and_channel(db):
    events(db, "c1", ["started", "consented", "screened", "eligible", "booked", "attended"], language="ar")
    events(db, "c2", ["started", "consented", "screened"], language="sv")
    events(db, "c3", ["started", "consented"], channel="46elks", language="so")
    events(db, "c4", ["started"], language=None)
    with db.transaction() as session:
        result = funnel(session)
    assert result["total"] == {"started": 4, "consented": 3, "screened": 2, "eligible": 1, "booked": 1,
                               "attended": 1}
    assert result["by_language"]["ar"] == {step: 1 for step in FUNNEL_STEPS}
    assert result["by_language"]["sv"] == {"started": 1, "consented": 1, "screened": 1, "eligible": 0,
                                           "booked": 0, "attended": 0}
    assert result["by_language"][UNKNOWN_LANGUAGE]["started"] == 1
    assert result["by_channel"]["telegram"]["started"] == 3
    assert result["by_channel"]["46elks"] == {"started": 1, "consented": 1, "screened": 0, "eligible": 0,
                                              "booked": 0, "attended": 0}


def test_a_conversation_counts_under_the_language_it_last_used(db):
    at = utcnow()
    events(db, "c1", ["started"], language=None, at=at)
    events(db, "c1", ["consented"], language="sv", at=at + timedelta(seconds=5))
    events(db, "c1", ["screened"], language="ti", at=at + timedelta(seconds=10))
    with db.transaction() as session:
        result = funnel(session)
    assert list(result["by_language"]) == ["ti"]
    assert result["by_language"]["ti"]["started"] == 1 and result["by_language"]["ti"]["screened"] == 1


def test_dropoff_is_the_furthest_question_answered_before_stopping(db):
    # answered in another order than asked (an answer changed): counts where it is in the questionnaire
    events(db, "c1", ["started", "consented"] + answered("consent_data", "housing", "age_band"))
    events(db, "c2", ["started"] + answered("consent_data", "consent_health", "name", "municipality", "age_band"))
    events(db, "c3", ["started"] + answered("consent_data", "consent_health", "name", "municipality", "age_band"))
    events(db, "c4", ["started"])  # nothing answered
    events(db, "c5", ["started", "consented", "screened"] + answered("consent_data", "name"))  # finished
    events(db, "c6", answered("consent_data"))  # no "started": not counted
    events(db, "c7", ["started"] + answered("no_such_question"))
    with db.transaction() as session:
        dropoff = funnel(session)["dropoff"]
    keys = [key for key, _ in dropoff]
    assert keys == [BEFORE_FIRST_QUESTION] + [q.key for q in INTAKE_QUESTIONS]
    counts = dict(dropoff)
    assert counts[BEFORE_FIRST_QUESTION] == 2  # c4, c7
    assert counts["housing"] == 1  # c1
    assert counts["age_band"] == 2  # c2, c3
    assert counts["consent_data"] == 0 and counts["name"] == 0
    assert sum(counts.values()) == 5


def test_funnel_dates_take_the_conversations_that_started_on_those_days(db):
    day = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    events(db, "before", ["started", "consented"], at=day - timedelta(days=1))
    events(db, "inside", ["started"], at=day)
    events(db, "inside", ["consented", "screened"], at=day + timedelta(days=2))  # later steps still count
    events(db, "after", ["started"], at=day + timedelta(days=1))
    with db.transaction() as session:
        result = funnel(session, date(2026, 3, 10), date(2026, 3, 10))
        everything = funnel(session)
    assert result["total"]["started"] == 1
    assert result["total"]["consented"] == 1 and result["total"]["screened"] == 1
    assert everything["total"]["started"] == 3


def test_funnel_of_nothing(db):
    with db.transaction() as session:
        result = funnel(session)
    assert result["total"] == {step: 0 for step in FUNNEL_STEPS}
    assert result["by_language"] == {} and result["by_channel"] == {}
    assert all(n == 0 for _, n in result["dropoff"])


# -- sessions ------------------------------------------------------------------------------------

def test_roster_lists_seats_with_attendance_and_the_waiting_list_in_order(db):
    session_id = activity_session(db, capacity=2)
    first, second, third, fourth = (referral(db, LOW) for _ in range(4))
    first_booking = book(db, first, session_id)
    book(db, second, session_id)
    book(db, third, session_id)
    book(db, fourth, session_id)
    with db.transaction() as session:
        session.add(BookingAttendance(booking_id=first_booking, outcome="attended", marked_by="nora"))
    with db.transaction() as session:
        roster = session_roster(session, session_id)
        assert [e.referral.id for e in roster.booked] == [first, second]
        assert [e.attendance.outcome if e.attendance else None for e in roster.booked] == ["attended", None]
        assert [(e.referral.id, e.position) for e in roster.waitlisted] == [(third, 1), (fourth, 2)]
        assert roster.booked[0].participant.display_name == "Amina Hassan"
        assert session_roster(session, session_id + 1000) is None


def test_sessions_split_into_upcoming_and_past(db):
    now = utcnow()
    past = activity_session(db, starts_at=now - timedelta(days=2))
    older = activity_session(db, starts_at=now - timedelta(days=9))
    soon = activity_session(db, starts_at=now + timedelta(days=1))
    later = activity_session(db, starts_at=now + timedelta(days=5), capacity=0)
    book(db, referral(db, LOW), later)  # full: waits
    with db.transaction() as session:
        upcoming, gone = list_sessions(session, now)
        assert [r.session.id for r in upcoming] == [soon, later]
        assert [r.session.id for r in gone] == [past, older]  # the latest first
        assert [r.waitlisted for r in upcoming] == [0, 1]


# -- the audit log -------------------------------------------------------------------------------

def test_audit_log_newest_first_in_pages(db):
    earlier = utcnow() - timedelta(days=1)
    with db.transaction() as session:
        start = audit_count(session)
        for i in range(5):
            session.add(AuditEvent(actor="maria", action=f"test.{i}", entity_type="referral", entity_id=str(i),
                                   details={}, at=earlier + timedelta(minutes=i)))
        audit(session, "maria", "test.now", "referral", 99)
    with db.transaction() as session:
        assert audit_count(session) == start + 6
        first = audit_log(session, limit=3, offset=0)
        assert [e.action for e in first] == ["test.now", "test.4", "test.3"]
        rest = [e.action for e in audit_log(session, limit=100, offset=3) if e.action.startswith("test.")]
        assert rest == ["test.2", "test.1", "test.0"]

