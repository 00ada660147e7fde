"""Sessions and seats: booking, the waiting list, offers of freed seats, moving and cancelling.

Taking a seat is one conditional UPDATE, so a session is never overbooked, whatever number of
processes book at once. A freed seat goes to the waiting list first: it is offered to the first
person in the queue and held for them until the offer expires (:func:`promote`); nobody can book
past the queue while it holds people. Every booked seat gets its reminders scheduled
(:mod:`bot.intake.reminders`); a cancelled or moved booking loses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.db.models import ACTIVE_BOOKING, HOLDS_SEAT, ActivitySession, Booking
from bot.db.types import utcnow
from bot.intake import reminders
from bot.intake.audit import audit

# Booked when a seat was taken, waitlisted when placed on the list, offered when a freed seat is
# held for a waiting-list place, full when the session has no free seat (the caller may offer
# the waiting list), closed when it cannot be booked at all.
BOOKED, WAITLISTED, OFFERED, FULL, CLOSED = "booked", "waitlisted", "offered", "full", "closed"
CANCELLED, ATTENDED, NO_SHOW = "cancelled", "attended", "no_show"


def _hours(value: object) -> timedelta:
    """``"24h"``, ``"90m"``, ``2`` (hours) as a timedelta."""
    text = str(value).strip().lower()
    if text.endswith("m"):
        return timedelta(minutes=float(text[:-1]))
    return timedelta(hours=float(text.rstrip("h")))


@dataclass(frozen=True)
class BookingRules:
    """The programme's booking rules (``program.yml``, ``booking:``)."""

    # sessions can be booked until this long before they start
    min_lead: timedelta = timedelta(hours=2)
    # reminders go this long before a booked session
    reminders_before: Tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    # a waiting-list offer holds the seat this long (never past the booking lead time)
    offer_window: timedelta = timedelta(hours=12)
    # nothing is sent between these local hours; what falls due waits for the morning
    quiet_from: Tuple[int, int] = (21, 0)
    quiet_to: Tuple[int, int] = (8, 0)
    # a reminder later than this before the session is not sent at all
    too_late: timedelta = timedelta(minutes=30)
    timezone: str = "Europe/Stockholm"
    # how long after a message a bare "yes" or "no" still answers it
    answer_window: timedelta = timedelta(hours=48)

    @classmethod
    def from_mapping(cls, raw: Optional[Mapping], timezone: str = "Europe/Stockholm") -> "BookingRules":
        raw = raw or {}

        def clock(value: object, default: Tuple[int, int]) -> Tuple[int, int]:
            if value is None:
                return default
            hours, minutes = str(value).split(":")
            return int(hours), int(minutes)

        quiet = raw.get("quiet_hours") or {}
        before = raw.get("reminders_before")
        rules = cls(
            min_lead=_hours(raw.get("min_lead", "2h")),
            reminders_before=tuple(sorted((_hours(v) for v in before), reverse=True)) if before is not None
            else cls.reminders_before,
            offer_window=_hours(raw.get("offer_window", "12h")),
            quiet_from=clock(quiet.get("from"), cls.quiet_from),
            quiet_to=clock(quiet.get("to"), cls.quiet_to),
            too_late=_hours(raw.get("too_late", "30m")),
            timezone=timezone,
            answer_window=_hours(raw.get("answer_window", "48h")),
        )
        if any(r <= timedelta(0) for r in rules.reminders_before) or rules.offer_window <= timedelta(0):
            raise ValueError("booking: reminders_before and offer_window must be positive")
        return rules


    def quiet(self, when: datetime) -> bool:
        """True in the quiet hours (local time), when nothing is sent."""
        local = when.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        start, end = self.quiet_from[0] * 60 + self.quiet_from[1], self.quiet_to[0] * 60 + self.quiet_to[1]
        if start == end:
            return False
        return start <= minute or minute < end if start > end else start <= minute < end

    def sendable_from(self, when: datetime) -> datetime:
        """``when``, or the end of the quiet hours it falls in."""
        if not self.quiet(when):
            return when
        local = when.astimezone(ZoneInfo(self.timezone))
        end = local.replace(hour=self.quiet_to[0], minute=self.quiet_to[1], second=0, microsecond=0)
        if end <= local:
            end = (local + timedelta(days=1)).replace(hour=self.quiet_to[0], minute=self.quiet_to[1],
                                                      second=0, microsecond=0)
        return end.astimezone(when.tzinfo)


DEFAULT_RULES = BookingRules()


@dataclass(frozen=True)
class BookingResult:
    outcome: str
    booking: Optional[Booking] = None
    promoted: List[int] = field(default_factory=list)  # bookings offered the freed seat


def upcoming_sessions(session: Session, now: Optional[datetime] = None, limit: int = 3,
                      min_lead: timedelta = DEFAULT_RULES.min_lead,
                      exclude: Optional[int] = None) -> List[ActivitySession]:
    """The next sessions that can still be booked or waitlisted, soonest first."""
    now = now or utcnow()
    stmt = select(ActivitySession).where(ActivitySession.starts_at > now + min_lead)
    if exclude is not None:
        stmt = stmt.where(ActivitySession.id != exclude)
    stmt = stmt.order_by(ActivitySession.starts_at, ActivitySession.id).limit(limit)
    return list(session.execute(stmt).scalars())


def active_booking(session: Session, referral_id: int) -> Optional[Booking]:
    stmt = select(Booking).where(Booking.referral_id == referral_id, Booking.status.in_(ACTIVE_BOOKING))
    return session.execute(stmt).scalar_one_or_none()


def latest_booking(session: Session, referral_id: int) -> Optional[Booking]:
    return session.execute(
        select(Booking).where(Booking.referral_id == referral_id).order_by(Booking.id.desc()).limit(1)
    ).scalar_one_or_none()


def _insert_booking(session: Session, referral_id: int, session_id: int, status: str) -> Optional[Booking]:
    try:
        with session.begin_nested():
            booking = Booking(referral_id=referral_id, session_id=session_id, status=status)
            session.add(booking)
            session.flush()
        return booking
    except IntegrityError:
        return None


def _queue_waiting(session_id):
    """True while somebody waits on the session's waiting list (they come first)."""
    waiting = aliased(Booking)
    return exists().where(waiting.session_id == session_id, waiting.status == WAITLISTED)


def _take_seat(session: Session, session_id: int, now: datetime, min_lead: timedelta, past_queue: bool) -> bool:
    """One conditional UPDATE: a free seat of a bookable session, or nothing."""
    conditions = [
        ActivitySession.id == session_id,
        ActivitySession.seats_booked < ActivitySession.capacity,
        ActivitySession.starts_at > now + min_lead,
    ]
    if not past_queue:
        conditions.append(~_queue_waiting(session_id))
    taken = session.execute(
        update(ActivitySession)
        .where(*conditions)
        .values(seats_booked=ActivitySession.seats_booked + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def _give_back_seat(session: Session, session_id: int) -> None:
    session.execute(
        update(ActivitySession)
        .where(ActivitySession.id == session_id, ActivitySession.seats_booked > 0)
        .values(seats_booked=ActivitySession.seats_booked - 1)
        .execution_options(synchronize_session=False)
    )


def _why_not(session: Session, session_id: int, now: datetime, min_lead: timedelta) -> str:
    target = session.get(ActivitySession, session_id, populate_existing=True)
    if target is None or target.starts_at <= now + min_lead:
        return CLOSED
    return FULL


def book_seat(session: Session, referral_id: int, session_id: int, now: Optional[datetime] = None,
              min_lead: Optional[timedelta] = None, rules: BookingRules = DEFAULT_RULES) -> BookingResult:
    """Take one seat for a referral, or say the session is full. Idempotent per referral.

    A session with people on its waiting list is full for newcomers: a seat freed there is
    theirs first.
    """
    now = now or utcnow()
    min_lead = rules.min_lead if min_lead is None else min_lead
    existing = active_booking(session, referral_id)
    if existing is not None:
        return BookingResult(existing.status, existing)
    with session.begin_nested():
        if not _take_seat(session, session_id, now, min_lead, past_queue=False):
            return BookingResult(_why_not(session, session_id, now, min_lead))
        booking = _insert_booking(session, referral_id, session_id, BOOKED)
        if booking is None:  # a concurrent request booked for this referral: give the seat back
            _give_back_seat(session, session_id)
            existing = active_booking(session, referral_id)
            return BookingResult(existing.status if existing else CLOSED, existing)
    session.expire_all()
    reminders.schedule_reminders(session, booking, rules, now)
    audit(session, "assistant", "booking.booked", "booking", booking.id, session_id=session_id, referral_id=referral_id)
    return BookingResult(BOOKED, booking)


def join_waitlist(session: Session, referral_id: int, session_id: int, now: Optional[datetime] = None,
                  rules: BookingRules = DEFAULT_RULES) -> BookingResult:
    existing = active_booking(session, referral_id)
    if existing is not None:
        return BookingResult(existing.status, existing)
    if session.get(ActivitySession, session_id) is None:
        return BookingResult(CLOSED)
    booking = _insert_booking(session, referral_id, session_id, WAITLISTED)
    if booking is None:
        existing = active_booking(session, referral_id)
        return BookingResult(existing.status if existing else CLOSED, existing)
    audit(session, "assistant", "booking.waitlisted", "booking", booking.id, session_id=session_id, referral_id=referral_id)
    # a seat may have been freed while nobody waited: it is this person's now
    promoted = promote(session, session_id, now, rules)
    if booking.id in promoted:
        return BookingResult(OFFERED, booking, promoted)
    return BookingResult(WAITLISTED, booking, promoted)


def book_or_waitlist(session: Session, referral_id: int, session_id: int, now: Optional[datetime] = None,
                     rules: BookingRules = DEFAULT_RULES) -> BookingResult:
    """A seat if there is one, else a waiting-list place (closed sessions give neither)."""
    result = book_seat(session, referral_id, session_id, now, rules=rules)
    if result.outcome == FULL:
        return join_waitlist(session, referral_id, session_id, now, rules)
    return result


def waitlist_position(session: Session, booking: Booking) -> int:
    stmt = select(func.count(Booking.id)).where(
        Booking.session_id == booking.session_id,
        Booking.status == WAITLISTED,
        Booking.id <= booking.id,
    )
    return int(session.execute(stmt).scalar_one())


def cancel_booking(session: Session, booking: Booking, actor: str = "assistant", reason: str = "participant",
                   now: Optional[datetime] = None, rules: BookingRules = DEFAULT_RULES,
                   promote_next: bool = True) -> List[int]:
    """Cancel a seat, an offer or a waiting-list place. A freed seat is offered to the queue.

    Returns the ids of the bookings that were offered the seat.
    """
    if booking.status not in ACTIVE_BOOKING:
        return []
    held_seat = booking.status in HOLDS_SEAT
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == booking.status)
        .values(status=CANCELLED, cancel_reason=reason, offer_expires_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(booking)
    if changed != 1:  # a concurrent change got there first
        return []
    if held_seat:
        _give_back_seat(session, booking.session_id)
    reminders.cancel_pending(session, booking)
    audit(session, actor, "booking.cancelled", "booking", booking.id, session_id=booking.session_id, reason=reason)
    if held_seat and promote_next:
        return promote(session, booking.session_id, now, rules)
    return []


def promote(session: Session, session_id: int, now: Optional[datetime] = None,
            rules: BookingRules = DEFAULT_RULES) -> List[int]:
    """Offer the session's free seats to its waiting list, first come first served.

    Each offer holds a seat until it expires; the participant is told by the scheduler
    (a booking message ``offer``). Returns the ids of the bookings offered a seat.
    """
    now = now or utcnow()
    offered: List[int] = []
    while True:
        target = session.get(ActivitySession, session_id, populate_existing=True)
        if target is None or target.starts_at <= now + rules.min_lead:
            return offered
        first = session.execute(
            select(Booking.id)
            .where(Booking.session_id == session_id, Booking.status == WAITLISTED)
            .order_by(Booking.id)
            .limit(1)
        ).scalar_one_or_none()
        if first is None:
            return offered
        with session.begin_nested():
            if not _take_seat(session, session_id, now, rules.min_lead, past_queue=True):
                return offered
            # the time to answer counts from when the offer can be sent (not in the night)
            expires = min(rules.sendable_from(now) + rules.offer_window, target.starts_at - rules.min_lead)
            changed = session.execute(
                update(Booking)
                .where(Booking.id == first, Booking.status == WAITLISTED)
                .values(status=OFFERED, offer_expires_at=expires, updated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed != 1:  # taken off the list meanwhile: give the seat back, look again
                _give_back_seat(session, session_id)
                continue
        booking = session.get(Booking, first, populate_existing=True)
        reminders.schedule(session, booking, reminders.OFFER, now)
        audit(session, "assistant", "booking.offered", "booking", first, session_id=session_id,
              expires_at=expires.isoformat())
        offered.append(first)


def accept_offer(session: Session, booking: Booking, now: Optional[datetime] = None,
                 rules: BookingRules = DEFAULT_RULES, actor: str = "assistant") -> str:
    """The participant takes an offered seat: BOOKED, or CLOSED when the offer is gone."""
    now = now or utcnow()
    if booking.status == BOOKED:
        return BOOKED
    if booking.status != OFFERED or booking.offer_expires_at is None or booking.offer_expires_at <= now:
        return CLOSED
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == OFFERED)
        .values(status=BOOKED, offer_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(booking)
    if changed != 1:
        return BOOKED if booking.status == BOOKED else CLOSED
    reminders.schedule_reminders(session, booking, rules, now)
    audit(session, actor, "booking.offer_accepted", "booking", booking.id, session_id=booking.session_id)
    return BOOKED


def decline_offer(session: Session, booking: Booking, now: Optional[datetime] = None,
                  rules: BookingRules = DEFAULT_RULES, actor: str = "assistant") -> List[int]:
    """The participant says no to an offered seat: it goes to the next in the queue."""
    if booking.status != OFFERED:
        return []
    return cancel_booking(session, booking, actor=actor, reason="offer_declined", now=now, rules=rules)


def expire_offers(session: Session, now: Optional[datetime] = None, rules: BookingRules = DEFAULT_RULES) -> List[int]:
    """Offers nobody answered in time: the seat goes to the next in the queue.

    The participant is told (a booking message ``offer_expired``). Returns the expired ids.
    """
    now = now or utcnow()
    ids = session.execute(
        select(Booking.id).where(Booking.status == OFFERED, Booking.offer_expires_at <= now).order_by(Booking.id)
    ).scalars().all()
    expired = []
    for booking_id in ids:
        booking = session.get(Booking, booking_id, populate_existing=True)
        if booking is None or booking.status != OFFERED:
            continue
        cancel_booking(session, booking, reason="offer_expired", now=now, rules=rules)
        reminders.schedule(session, booking, reminders.OFFER_EXPIRED, now)
        expired.append(booking_id)
    return expired


def promote_all(session: Session, now: Optional[datetime] = None, rules: BookingRules = DEFAULT_RULES) -> List[int]:
    """Offer every free seat to its queue (after staff raised a capacity, or a missed promotion)."""
    now = now or utcnow()
    waiting = aliased(Booking)
    session_ids = session.execute(
        select(ActivitySession.id).where(
            ActivitySession.seats_booked < ActivitySession.capacity,
            ActivitySession.starts_at > now + rules.min_lead,
            exists().where(waiting.session_id == ActivitySession.id, waiting.status == WAITLISTED),
        ).order_by(ActivitySession.starts_at)
    ).scalars().all()
    offered: List[int] = []
    for session_id in session_ids:
        offered += promote(session, session_id, now, rules)
    return offered


def move_booking(session: Session, referral_id: int, session_id: int, now: Optional[datetime] = None,
                 rules: BookingRules = DEFAULT_RULES) -> BookingResult:
    """Another time: a seat in ``session_id`` first, then the old seat or place is given up.

    FULL or CLOSED leave the old booking as it was. Without an old booking this books.
    """
    now = now or utcnow()
    old = active_booking(session, referral_id)
    if old is None:
        return book_seat(session, referral_id, session_id, now, rules=rules)
    if old.session_id == session_id:
        return BookingResult(old.status, old)
    with session.begin_nested():
        if not _take_seat(session, session_id, now, rules.min_lead, past_queue=False):
            return BookingResult(_why_not(session, session_id, now, rules.min_lead))
        promoted = cancel_booking(session, old, reason="rescheduled", now=now, rules=rules)
        booking = _insert_booking(session, referral_id, session_id, BOOKED)
        if booking is None:
            raise RuntimeError("a concurrent booking for the same referral")  # rolls the move back
    reminders.schedule_reminders(session, booking, rules, now)
    audit(session, "assistant", "booking.moved", "booking", booking.id, session_id=session_id,
          referral_id=referral_id, previous=old.id)
    return BookingResult(BOOKED, booking, promoted)


def confirm_attendance(session: Session, booking: Booking, now: Optional[datetime] = None) -> bool:
    """The participant answered a reminder: they will come."""
    if booking.status != BOOKED:
        return False
    if booking.confirmed_at is None:
        booking.confirmed_at = now or utcnow()
        audit(session, "assistant", "booking.confirmed", "booking", booking.id, session_id=booking.session_id)
    return True
