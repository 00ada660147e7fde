"""Sessions and seats. Taking a seat is one conditional UPDATE: it can never overbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ACTIVE_BOOKING, ActivitySession, Booking
from bot.db.types import utcnow
from bot.intake.audit import audit

# Booked when a seat was taken, waitlisted when placed on the list, full when the session has
# no free seat (the caller may offer the waiting list), closed when it cannot be booked at all.
BOOKED, WAITLISTED, FULL, CLOSED = "booked", "waitlisted", "full", "closed"


@dataclass(frozen=True)
class BookingResult:
    outcome: str
    booking: Optional[Booking] = None


def upcoming_sessions(session: Session, now: Optional[datetime] = None, limit: int = 3,
                      min_lead: timedelta = timedelta(hours=2)) -> List[ActivitySession]:
    """The next sessions that can still be booked or waitlisted, soonest first."""
    now = now or utcnow()
    stmt = (
        select(ActivitySession)
        .where(ActivitySession.starts_at > now + min_lead)
        .order_by(ActivitySession.starts_at, ActivitySession.id)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def active_booking(session: Session, referral_id: int) -> Optional[Booking]:
    stmt = select(Booking).where(Booking.referral_id == referral_id, Booking.status.in_(ACTIVE_BOOKING))
    return session.execute(stmt).scalar_one_or_none()


def _insert_booking(session: Session, referral_id: int, session_id: int, status: str) -> Optional[Booking]:
    try:
        with session.begin_nested():
            booking = Booking(referral_id=referral_id, session_id=session_id, status=status)
            session.add(booking)
            session.flush()
        return booking
    except IntegrityError:
        return None


def book_seat(session: Session, referral_id: int, session_id: int, now: Optional[datetime] = None,
              min_lead: timedelta = timedelta(hours=2)) -> BookingResult:
    """Take one seat for a referral, or say the session is full. Idempotent per referral."""
    now = now or utcnow()
    existing = active_booking(session, referral_id)
    if existing is not None:
        return BookingResult(existing.status, existing)
    with session.begin_nested():
        taken = session.execute(
            update(ActivitySession)
            .where(
                ActivitySession.id == session_id,
                ActivitySession.seats_booked < ActivitySession.capacity,
                ActivitySession.starts_at > now + min_lead,
            )
            .values(seats_booked=ActivitySession.seats_booked + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1:
            target = session.get(ActivitySession, session_id)
            if target is None or target.starts_at <= now + min_lead:
                return BookingResult(CLOSED)
            return BookingResult(FULL)
        booking = _insert_booking(session, referral_id, session_id, BOOKED)
        if booking is None:  # a concurrent request booked for this referral: give the seat back
            session.execute(
                update(ActivitySession)
                .where(ActivitySession.id == session_id)
                .values(seats_booked=ActivitySession.seats_booked - 1)
                .execution_options(synchronize_session=False)
            )
            existing = active_booking(session, referral_id)
            return BookingResult(existing.status if existing else CLOSED, existing)
    session.expire_all()
    audit(session, "assistant", "booking.booked", "booking", booking.id, session_id=session_id, referral_id=referral_id)
    return BookingResult(BOOKED, booking)


def join_waitlist(session: Session, referral_id: int, session_id: int) -> BookingResult:
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
    return BookingResult(WAITLISTED, booking)


def waitlist_position(session: Session, booking: Booking) -> int:
    stmt = select(func.count(Booking.id)).where(
        Booking.session_id == booking.session_id,
        Booking.status == WAITLISTED,
        Booking.id <= booking.id,
    )
    return int(session.execute(stmt).scalar_one())


def cancel_booking(session: Session, booking: Booking, actor: str = "assistant") -> None:
    if booking.status == "cancelled":
        return
    if booking.status == BOOKED:
        session.execute(
            update(ActivitySession)
            .where(ActivitySession.id == booking.session_id, ActivitySession.seats_booked > 0)
            .values(seats_booked=ActivitySession.seats_booked - 1)
            .execution_options(synchronize_session=False)
        )
    booking.status = "cancelled"
    session.flush()
    audit(session, actor, "booking.cancelled", "booking", booking.id, session_id=booking.session_id)
