"""Messages about a booking that the assistant sends unasked: reminders, offers, follow-ups.

Each is a row of ``booking_messages``, made when the booking gets it (booked: its reminders;
offered a seat: the offer; a missed session: the follow-up) and sent by the scheduler
(:mod:`bot.scheduler`) when it falls due. (booking, kind) is unique and a due row is claimed
with one conditional UPDATE, so a message is never sent twice, however many schedulers run or
restart. Rows hold no text: the text is rendered when sent, in the participant's language.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, List, Optional

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Booking, BookingMessage
from bot.db.types import utcnow

if TYPE_CHECKING:  # pragma: no cover
    from bot.intake.booking import BookingRules

REMINDER = "reminder"
OFFER, OFFER_EXPIRED, NO_SHOW = "offer", "offer_expired", "no_show"
# A row claimed by a scheduler that then died is claimed again after this long.
CLAIM_TIMEOUT = timedelta(minutes=5)


def reminder_kind(before: timedelta) -> str:
    """``reminder:1440`` for the reminder a day before."""
    return f"{REMINDER}:{int(before.total_seconds() // 60)}"


def is_reminder(kind: str) -> bool:
    return kind.startswith(REMINDER + ":")


def schedule(session: Session, booking: Booking, kind: str, due_at: datetime) -> Optional[BookingMessage]:
    """Plan one message; None when the booking already has one of this kind."""
    try:
        with session.begin_nested():
            row = BookingMessage(booking_id=booking.id, kind=kind, due_at=due_at, status="pending")
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        return None


def schedule_reminders(session: Session, booking: Booking, rules: "BookingRules",
                       now: Optional[datetime] = None) -> List[BookingMessage]:
    """The reminders of a booked seat; those whose time has passed are not made."""
    now = now or utcnow()
    starts_at = booking.session.starts_at
    made = []
    for before in rules.reminders_before:
        due = starts_at - before
        if due > now:
            row = schedule(session, booking, reminder_kind(before), due)
            if row is not None:
                made.append(row)
    return made


def cancel_pending(session: Session, booking: Booking) -> int:
    """A cancelled or moved booking: its reminders and offer that were not sent are not sent."""
    result = session.execute(
        update(BookingMessage)
        .where(
            BookingMessage.booking_id == booking.id,
            BookingMessage.status == "pending",
            or_(BookingMessage.kind.like(REMINDER + ":%"), BookingMessage.kind == OFFER),
        )
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def revive(session: Session, booking: Booking, kind: str, due_at: datetime) -> Optional[BookingMessage]:
    """Plan a message of this kind again if it was withdrawn before it went (a corrected mark)."""
    row = schedule(session, booking, kind, due_at)
    if row is not None:
        return row
    session.execute(
        update(BookingMessage)
        .where(BookingMessage.booking_id == booking.id, BookingMessage.kind == kind,
               BookingMessage.status == "cancelled", BookingMessage.sent_at.is_(None))
        .values(status="pending", due_at=due_at)
        .execution_options(synchronize_session=False)
    )
    return None


def cancel_kind(session: Session, booking: Booking, kind: str) -> int:
    result = session.execute(
        update(BookingMessage)
        .where(BookingMessage.booking_id == booking.id, BookingMessage.kind == kind,
               BookingMessage.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _due(now: datetime):
    pending = (BookingMessage.status == "pending") & (BookingMessage.due_at <= now)
    stale = (BookingMessage.status == "sending") & (BookingMessage.claimed_at <= now - CLAIM_TIMEOUT)
    return pending | stale


def due_ids(session: Session, now: Optional[datetime] = None, limit: int = 200) -> List[int]:
    """Messages that are due (and claims left by a stopped scheduler), oldest first."""
    now = now or utcnow()
    rows = session.execute(
        select(BookingMessage.id).where(_due(now)).order_by(BookingMessage.due_at, BookingMessage.id).limit(limit)
    )
    return [row[0] for row in rows]


def claim(session: Session, message_id: int, now: Optional[datetime] = None) -> Optional[BookingMessage]:
    """Take one due message for sending; None when another scheduler has it or it is not due."""
    now = now or utcnow()
    result = session.execute(
        update(BookingMessage)
        .where(BookingMessage.id == message_id, _due(now))
        .values(status="sending", claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.get(BookingMessage, message_id, populate_existing=True)


def finish(session: Session, message: BookingMessage, status: str, now: Optional[datetime] = None,
           outbound_id: Optional[int] = None) -> None:
    message.status = status
    if status in ("sent", "held"):
        message.sent_at = now or utcnow()
    message.outbound_id = outbound_id
    session.flush()


def latest_sent(session: Session, booking_ids: List[int], since: datetime) -> Optional[BookingMessage]:
    """The newest message sent for these bookings since ``since``: what a bare yes or no answers."""
    if not booking_ids:
        return None
    return session.execute(
        select(BookingMessage)
        .where(BookingMessage.booking_id.in_(booking_ids), BookingMessage.status.in_(("sent", "held")),
               BookingMessage.sent_at >= since)
        .order_by(BookingMessage.sent_at.desc(), BookingMessage.id.desc())
        .limit(1)
    ).scalar_one_or_none()
