"""Read-only queries of the dashboard. Each takes the caller's session and changes nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, exists, func, select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import (
    FUNNEL_STEPS,
    REFERRAL_STATUSES,
    ActivitySession,
    AuditEvent,
    Booking,
    BookingAttendance,
    FunnelEvent,
    Participant,
    Referral,
    ReferralNote,
    ReferralTranscript,
)
from bot.intake.questions import INTAKE_QUESTIONS

DEFAULT_TIMEZONE = "Europe/Stockholm"
ANSWERED = "answered:"
UNKNOWN_LANGUAGE = "unknown"  # conversations that never had a language, in ``by_language``
BEFORE_FIRST_QUESTION = None  # the drop-off key of conversations that answered nothing


@dataclass(frozen=True)
class ReferralFilter:
    """What the list is narrowed to. Dates are calendar days in the local time zone, both included."""

    status: Optional[str] = None
    language: Optional[str] = None
    channel: Optional[str] = None
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    barrier: Optional[str] = None
    booked: Optional[bool] = None  # True: holds a seat; False: no seat (none, waiting list or cancelled)

    def details(self) -> Dict[str, object]:
        """The filters that are set, as codes and ISO dates (for the audit log: no personal data)."""
        found = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            found[key] = value.isoformat() if isinstance(value, date) else value
        return found


def local_day_start(day: date, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """Midnight of ``day`` in ``timezone``, as an aware datetime."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone))


# a booking that holds (or held) a seat: booked, offered and waiting for an answer, or marked after
SEAT_STATUSES = ("booked", "offered", "attended", "no_show")


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_seat():
    return exists().where(Booking.referral_id == Referral.id, Booking.status.in_(SEAT_STATUSES))


def _matching(stmt, filters: ReferralFilter, timezone: str):
    """``stmt`` narrowed to the referrals that match ``filters``."""
    if filters.status:
        stmt = stmt.where(Referral.status == filters.status)
    if filters.language:
        stmt = stmt.where(Referral.language == filters.language)
    if filters.channel:
        stmt = stmt.where(Referral.channel == filters.channel)
    if filters.date_from:
        stmt = stmt.where(Referral.created_at >= local_day_start(filters.date_from, timezone))
    if filters.date_to:
        stmt = stmt.where(Referral.created_at < local_day_start(filters.date_to + timedelta(days=1), timezone))
    if filters.barrier:
        # the JSON list as text holds the code in quotes, e.g. ["SWEDISH_LIMITED", "HOMELESS"]
        pattern = f'%"{_like_literal(filters.barrier)}"%'
        stmt = stmt.where(cast(Referral.barriers, String).like(pattern, escape="\\"))
    if filters.booked is True:
        stmt = stmt.where(_has_seat())
    elif filters.booked is False:
        stmt = stmt.where(~_has_seat())
    return stmt


def filter_referrals(session: Session, filters: ReferralFilter, timezone: str = DEFAULT_TIMEZONE,
                     by_priority: bool = True, limit: Optional[int] = None, offset: int = 0) -> List[Referral]:
    """The referrals that match ``filters``: urgent first, then by priority, then the oldest first.

    ``by_priority=False``: the oldest first only (for staff who may not see what urgency and
    priority are made of). ``limit``/``offset``: one page of them.
    """
    stmt = _matching(select(Referral).options(
        selectinload(Referral.participant),
        selectinload(Referral.bookings).selectinload(Booking.session),
    ), filters, timezone)
    if by_priority:
        stmt = stmt.order_by(Referral.urgent.desc(), Referral.priority, Referral.created_at, Referral.id)
    else:
        stmt = stmt.order_by(Referral.created_at, Referral.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return list(session.execute(stmt).scalars())


def count_referrals(session: Session, filters: ReferralFilter, timezone: str = DEFAULT_TIMEZONE) -> int:
    """How many referrals match ``filters`` (all pages)."""
    return int(session.execute(_matching(select(func.count(Referral.id)), filters, timezone)).scalar_one())


def status_counts(session: Session) -> Dict[str, int]:
    """How many referrals there are in each status (every status, zeros included)."""
    counts = {status: 0 for status in REFERRAL_STATUSES}
    rows = session.execute(select(Referral.status, func.count(Referral.id)).group_by(Referral.status))
    for status, n in rows:
        counts[status] = int(n)
    return counts


def referral_channels(session: Session) -> List[str]:
    """The channels referrals came from."""
    return [c for (c,) in session.execute(select(Referral.channel).distinct().order_by(Referral.channel))]


def get_referral(session: Session, referral_id: int) -> Optional[Referral]:
    stmt = (
        select(Referral)
        .where(Referral.id == referral_id)
        .options(
            selectinload(Referral.participant),
            selectinload(Referral.answers),
            selectinload(Referral.bookings).selectinload(Booking.session),
            selectinload(Referral.bookings).selectinload(Booking.messages),
        )
    )
    return session.execute(stmt).scalar_one_or_none()


def attendance_of(session: Session, booking_ids) -> Dict[int, BookingAttendance]:
    ids = list(booking_ids)
    if not ids:
        return {}
    rows = session.execute(select(BookingAttendance).where(BookingAttendance.booking_id.in_(ids))).scalars()
    return {row.booking_id: row for row in rows}


def referral_notes(session: Session, referral_id: int) -> List[ReferralNote]:
    """The notes on a referral, newest first."""
    stmt = (
        select(ReferralNote)
        .where(ReferralNote.referral_id == referral_id)
        .order_by(ReferralNote.created_at.desc(), ReferralNote.id.desc())
    )
    return list(session.execute(stmt).scalars())


def transcript_messages(session: Session, referral_id: int) -> List[dict]:
    row = session.get(ReferralTranscript, referral_id)
    if row is None or not isinstance(row.messages, list):
        return []
    return [m for m in row.messages if isinstance(m, dict)]


# -- the funnel ---------------------------------------------------------------------------------

def _zero_steps() -> Dict[str, int]:
    return {step: 0 for step in FUNNEL_STEPS}


def funnel(session: Session, date_from: Optional[date] = None, date_to: Optional[date] = None,
           timezone: str = DEFAULT_TIMEZONE) -> Dict[str, object]:
    """How far conversations got, from ``funnel_events``.

    With dates, the conversations that *started* on those days (local calendar days, both
    included), with every step they reached since. A conversation counts under the language it
    last used and its channel.

    ``dropoff``: of the conversations that started and never got to "screened", how many stopped
    after each question, i.e. whose furthest answered question (in the order the questions are
    asked) is that one; ``BEFORE_FIRST_QUESTION`` (None) first, for those that answered nothing.
    """
    stmt = select(FunnelEvent.conversation, FunnelEvent.step, FunnelEvent.channel, FunnelEvent.language,
                  FunnelEvent.at, FunnelEvent.id)
    if date_from or date_to:
        started = select(FunnelEvent.conversation).where(FunnelEvent.step == "started")
        if date_from:
            started = started.where(FunnelEvent.at >= local_day_start(date_from, timezone))
        if date_to:
            started = started.where(FunnelEvent.at < local_day_start(date_to + timedelta(days=1), timezone))
        stmt = stmt.where(FunnelEvent.conversation.in_(started))
    stmt = stmt.order_by(FunnelEvent.at, FunnelEvent.id)

    steps: Dict[str, set] = defaultdict(set)
    channel: Dict[str, str] = {}
    language: Dict[str, str] = {}
    for conversation, step, chan, lang, _at, _id in session.execute(stmt):
        steps[conversation].add(step)
        channel.setdefault(conversation, chan)
        if lang:
            language[conversation] = lang  # ordered by time: the last one wins

    total = _zero_steps()
    by_language: Dict[str, Dict[str, int]] = {}
    by_channel: Dict[str, Dict[str, int]] = {}
    for conversation, reached in steps.items():
        lang = language.get(conversation, UNKNOWN_LANGUAGE)
        chan = channel[conversation]
        for step in FUNNEL_STEPS:
            if step in reached:
                total[step] += 1
                by_language.setdefault(lang, _zero_steps())[step] += 1
                by_channel.setdefault(chan, _zero_steps())[step] += 1

    order = [q.key for q in INTAKE_QUESTIONS]
    stopped: Dict[Optional[str], int] = {BEFORE_FIRST_QUESTION: 0, **{key: 0 for key in order}}
    for reached in steps.values():
        if "started" not in reached or "screened" in reached:
            continue
        answered = [order.index(s[len(ANSWERED):]) for s in reached
                    if s.startswith(ANSWERED) and s[len(ANSWERED):] in order]
        stopped[order[max(answered)] if answered else BEFORE_FIRST_QUESTION] += 1

    return {
        "total": total,
        "by_language": dict(sorted(by_language.items())),
        "by_channel": dict(sorted(by_channel.items())),
        "dropoff": list(stopped.items()),
    }


# -- sessions -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionRow:
    session: ActivitySession
    waitlisted: int


def list_sessions(session: Session, now: datetime) -> Tuple[List[SessionRow], List[SessionRow]]:
    """(upcoming sessions, soonest first; past sessions, latest first), with waiting-list counts."""
    waiting = dict(
        session.execute(
            select(Booking.session_id, func.count(Booking.id))
            .where(Booking.status == "waitlisted")
            .group_by(Booking.session_id)
        ).all()
    )
    rows = session.execute(select(ActivitySession).order_by(ActivitySession.starts_at, ActivitySession.id)).scalars()
    upcoming, past = [], []
    for row in rows:
        item = SessionRow(row, int(waiting.get(row.id, 0)))
        (upcoming if row.starts_at >= now else past).append(item)
    past.reverse()
    return upcoming, past


@dataclass(frozen=True)
class RosterEntry:
    booking: Booking
    referral: Referral
    participant: Participant
    attendance: Optional[BookingAttendance] = None
    position: Optional[int] = None  # on the waiting list, from 1


@dataclass(frozen=True)
class Roster:
    session: ActivitySession
    booked: List[RosterEntry] = field(default_factory=list)
    waitlisted: List[RosterEntry] = field(default_factory=list)


def session_roster(session: Session, session_id: int) -> Optional[Roster]:
    """Who holds a seat (with attendance, when marked) and who waits (with their place in the queue)."""
    target = session.get(ActivitySession, session_id)
    if target is None:
        return None
    stmt = (
        select(Booking, Referral, Participant, BookingAttendance)
        .join(Referral, Booking.referral_id == Referral.id)
        .join(Participant, Referral.participant_id == Participant.id)
        .outerjoin(BookingAttendance, BookingAttendance.booking_id == Booking.id)
        .where(and_(Booking.session_id == session_id, Booking.status.in_(SEAT_STATUSES + ("waitlisted",))))
        .order_by(Booking.id)
    )
    booked, waitlisted = [], []
    for booking, referral, participant, attendance in session.execute(stmt):
        if booking.status in SEAT_STATUSES:
            booked.append(RosterEntry(booking, referral, participant, attendance))
        else:
            waitlisted.append(RosterEntry(booking, referral, participant, attendance, position=len(waitlisted) + 1))
    return Roster(target, booked, waitlisted)


# -- the audit log ------------------------------------------------------------------------------

def audit_log(session: Session, limit: int = 50, offset: int = 0) -> List[AuditEvent]:
    """Audit events, newest first."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit).offset(offset)
    return list(session.execute(stmt).scalars())


def audit_count(session: Session) -> int:
    return int(session.execute(select(func.count(AuditEvent.id))).scalar_one())
