"""What staff change from the dashboard: status and notes, sessions, capacity, attendance.

Each function does one piece of the caller's unit of work (the caller commits) and writes its
own audit event: ids and codes only, never names, numbers or note texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Optional

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import (
    ATTENDANCE,
    Activity,
    ActivitySession,
    Booking,
    BookingAttendance,
    FunnelEvent,
    Referral,
    ReferralNote,
)
from bot.db.types import utcnow
from bot.intake import reminders
from bot.intake.audit import audit
from bot.intake.funnel import record_step
from bot.intake.referrals import change_status

MAX_NOTE = 4000
MAX_CAPACITY = 1000


class DashboardError(ValueError):
    """A change that is refused; the message is Swedish and may be shown to the user."""


def update_referral(session: Session, referral: Referral, new_status: Optional[str], note: str,
                    actor: str) -> ReferralNote:
    """Move the status (when ``new_status`` is given) and keep a note of it; a note alone is fine too."""
    note = (note or "").strip()
    new_status = (new_status or "").strip() or None
    if new_status is None and not note:
        raise DashboardError("Välj en ny status eller skriv en anteckning.")
    if len(note) > MAX_NOTE:
        raise DashboardError(f"Anteckningen är för lång (högst {MAX_NOTE} tecken).")
    old = referral.status
    if new_status is not None and new_status != old:
        try:
            change_status(session, referral, new_status, actor=actor)
        except ValueError as exc:
            raise DashboardError("Den statusen går inte att välja för den här remissen nu.") from exc
    else:
        new_status = None
    row = ReferralNote(referral_id=referral.id, author=actor, text=note,
                       status_from=old if new_status else None, status_to=new_status)
    session.add(row)
    session.flush()
    audit(session, actor, "referral.note_added", "referral", referral.id, note_id=row.id,
          status_changed=new_status is not None, has_text=bool(note))
    return row


def programme_activity(session: Session, activity: Mapping[str, str]) -> Activity:
    """The programme's activity (``program.yml``), created on first use like ``intake demo load`` does."""
    found = session.execute(select(Activity).where(Activity.code == activity["code"])).scalar_one_or_none()
    if found is None:
        found = Activity(code=activity["code"], name=activity["name"], provider=activity["provider"],
                         municipality=activity["municipality"])
        session.add(found)
        session.flush()
    return found


@dataclass(frozen=True)
class NewSession:
    starts_at: datetime  # aware
    minutes: int
    place: str
    address: str
    capacity: int


def create_session(session: Session, activity: Activity, new: NewSession, actor: str) -> ActivitySession:
    if new.starts_at.tzinfo is None:
        raise DashboardError("Tiden saknar tidszon.")
    place, address = new.place.strip(), new.address.strip()
    if not place or len(place) > 200:
        raise DashboardError("Skriv en plats (högst 200 tecken).")
    if not address or len(address) > 300:
        raise DashboardError("Skriv en adress (högst 300 tecken).")
    if not 0 <= new.capacity <= MAX_CAPACITY:
        raise DashboardError(f"Antal platser ska vara 0–{MAX_CAPACITY}.")
    if not 1 <= new.minutes <= 24 * 60:
        raise DashboardError("Längden ska vara 1–1440 minuter.")
    row = ActivitySession(activity_id=activity.id, starts_at=new.starts_at,
                          ends_at=new.starts_at + timedelta(minutes=new.minutes),
                          place=place, address=address, capacity=new.capacity)
    session.add(row)
    session.flush()
    audit(session, actor, "session.created", "session", row.id, capacity=new.capacity)
    return row


def set_capacity(session: Session, session_id: int, capacity: int, actor: str) -> ActivitySession:
    """Change the number of seats; never below the seats already booked (one conditional UPDATE)."""
    target = session.get(ActivitySession, session_id)
    if target is None:
        raise DashboardError("Passet finns inte.")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise DashboardError(f"Antal platser ska vara 0–{MAX_CAPACITY}.")
    old = target.capacity
    changed = session.execute(
        update(ActivitySession)
        .where(ActivitySession.id == session_id, ActivitySession.seats_booked <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(target)
    if changed != 1:
        raise DashboardError(
            f"Antal platser kan inte bli färre än de {target.seats_booked} som redan är bokade."
        )
    audit(session, actor, "session.capacity_changed", "session", session_id, old=old, new=capacity)
    return target


def _record_attended(session: Session, referral: Referral) -> bool:
    if not referral.funnel_key:
        return False
    return record_step(session, referral.funnel_key, "attended", referral.channel, referral.language)


def _forget_attended(session: Session, referral: Referral, booking_id: int) -> None:
    """A correction from "came" to "did not come": the funnel's "attended" goes, unless another
    booking of the same conversation was marked as attended."""
    if not referral.funnel_key:
        return
    other = session.execute(
        select(BookingAttendance.booking_id)
        .join(Booking, Booking.id == BookingAttendance.booking_id)
        .join(Referral, Referral.id == Booking.referral_id)
        .where(Referral.funnel_key == referral.funnel_key, BookingAttendance.outcome == "attended",
               BookingAttendance.booking_id != booking_id)
        .limit(1)
    ).first()
    if other is None:
        session.execute(delete(FunnelEvent).where(FunnelEvent.conversation == referral.funnel_key,
                                                  FunnelEvent.step == "attended"))


def mark_attendance(session: Session, session_id: int, booking_id: int, outcome: str, actor: str,
                    now: Optional[datetime] = None) -> bool:
    """Whether a booked participant came. Returns False when nothing changed.

    The booking takes the outcome as its status, which frees the participant to book again; a
    participant who did not come gets one friendly follow-up offering a new time (a booking
    message ``no_show``, sent by the scheduler), withdrawn again if staff correct the mark.
    """
    if outcome not in ATTENDANCE:
        raise DashboardError("Välj kom eller kom inte.")
    booking = session.get(Booking, booking_id)
    if booking is None or booking.session_id != session_id or booking.status not in ("booked",) + ATTENDANCE:
        raise DashboardError("Bokningen finns inte på det här passet.")
    row = session.get(BookingAttendance, booking_id)
    if row is not None and row.outcome == outcome:
        return False
    previous = row.outcome if row is not None else None
    if row is None:
        row = BookingAttendance(booking_id=booking_id, outcome=outcome, marked_by=actor)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # marked at the same moment by someone else: ours wins
            row = session.get(BookingAttendance, booking_id)
            previous = row.outcome
    row.outcome, row.marked_by, row.marked_at = outcome, actor, utcnow()
    booking.status = outcome
    reminders.cancel_pending(session, booking)  # a reminder not sent yet is moot now
    session.flush()
    referral = session.get(Referral, booking.referral_id)
    if outcome == "attended":
        _record_attended(session, referral)
        reminders.cancel_kind(session, booking, reminders.NO_SHOW)
    else:
        if previous == "attended":
            _forget_attended(session, referral, booking_id)
        reminders.revive(session, booking, reminders.NO_SHOW, now or utcnow())
    audit(session, actor, "booking.attendance_marked", "booking", booking_id, session_id=session_id,
          referral_id=booking.referral_id, outcome=outcome, previous=previous)
    return True
