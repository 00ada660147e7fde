"""Referrals: created once per intake, with answers, barriers and priority; status workflow."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.db.models import ACTIVE_BOOKING, Participant, Referral, ScreeningAnswer
from bot.db.types import utcnow
from bot.intake.audit import audit
from bot.intake.program import Assessment, Program
from bot.intake.questions import HEALTH_KEYS, SCREENING_QUESTIONS, SKIPPED, TEXT
from bot.safety.alerts import attach_to_referral

# Allowed moves of the status workflow: new -> contacted -> accepted -> started, or out to
# declined / withdrawn from any open state.
TRANSITIONS: Dict[str, Sequence[str]] = {
    "new": ("contacted", "declined", "withdrawn"),
    "contacted": ("accepted", "declined", "withdrawn"),
    "accepted": ("started", "declined", "withdrawn"),
    "started": ("withdrawn",),
    "declined": (),
    "withdrawn": (),
}
CONTACT_KEYS = ("name", "phone")  # kept on the participant, not among the screening answers


class StatusError(ValueError):
    pass


@dataclass(frozen=True)
class Submitted:
    referral: Referral
    created: bool
    assessment: Optional[Assessment]


def referral_by_key(session: Session, intake_key: str) -> Optional[Referral]:
    return session.execute(select(Referral).where(Referral.intake_key == intake_key)).scalar_one_or_none()


def has_active_referral(session: Session, participant_id: int, statuses: Sequence[str], except_key: str) -> bool:
    stmt = select(Referral.id).where(
        Referral.participant_id == participant_id,
        Referral.status.in_(statuses),
        Referral.eligible.isnot(False),
        Referral.intake_key != except_key,
    )
    return session.execute(stmt.limit(1)).first() is not None


def _answers_from_slots(slots: Mapping[str, object], free_texts: Mapping[str, str], health_consent: bool) -> List[ScreeningAnswer]:
    rows = []
    for question in SCREENING_QUESTIONS:
        if question.key in CONTACT_KEYS:
            continue
        if question.health and not health_consent:
            continue
        value = slots.get(question.key)
        if value is None:
            continue
        if value == SKIPPED:
            rows.append(ScreeningAnswer(question_key=question.key, value=None, skipped=True))
        elif question.kind == TEXT:
            rows.append(ScreeningAnswer(question_key=question.key, value=None, free_text=str(value)))
        else:
            rows.append(ScreeningAnswer(question_key=question.key, value=str(value), free_text=free_texts.get(question.key)))
    return rows


def submit_referral(
    session: Session,
    *,
    participant: Participant,
    intake_key: str,
    language: str,
    channel: str,
    slots: Mapping[str, object],
    free_texts: Mapping[str, str],
    program: Program,
    assisted_by: Optional[str] = None,
    screening: str = "full",
    contact_phone: Optional[str] = None,
) -> Submitted:
    """Store the referral of one finished intake. A second call for the same intake returns the first."""
    existing = referral_by_key(session, intake_key)
    if existing is not None:
        return Submitted(existing, False, None)
    health_consent = slots.get("consent_health") == "yes"
    answers = {k: v for k, v in slots.items() if health_consent or k not in HEALTH_KEYS}
    already = has_active_referral(session, participant.id, program.active_statuses, intake_key)
    assessment = program.assess(answers, already_active=already)

    name = slots.get("name")
    if name and name != SKIPPED:
        participant.display_name = str(name)[:200]
    phone = slots.get("phone")
    if phone and phone != SKIPPED:
        participant.phone_e164 = str(phone)
    elif contact_phone:  # the number the participant writes from (SMS)
        participant.phone_e164 = contact_phone
    participant.language = language

    referral = Referral(
        participant_id=participant.id,
        intake_key=intake_key,
        status="new" if assessment.eligible is not False else "declined",
        language=language,
        channel=channel,
        eligible=assessment.eligible,
        eligibility_reasons=assessment.reasons,
        barriers=assessment.barriers,
        priority=assessment.priority,
        urgent=assessment.urgent,
        phq4_score=assessment.phq4_score,
        phq4_band=assessment.phq4_band,
        assisted_by=assisted_by,
        screening=screening,
    )
    referral.answers = _answers_from_slots(slots, free_texts, health_consent)
    try:
        with session.begin_nested():
            session.add(referral)
            session.flush()
    except IntegrityError:  # the same intake submitted concurrently
        existing = referral_by_key(session, intake_key)
        if existing is None:
            raise
        return Submitted(existing, False, None)
    if attach_to_referral(session, participant.id, referral):  # a crisis during this intake
        session.flush()
    audit(session, "assistant", "referral.created", "referral", referral.id,
          eligible=assessment.eligible, priority=assessment.priority, urgent=referral.urgent)
    return Submitted(referral, True, assessment)


def change_status(session: Session, referral: Referral, new_status: str, actor: str) -> None:
    if new_status not in TRANSITIONS.get(referral.status, ()):
        raise StatusError(f"cannot move a referral from {referral.status} to {new_status}")
    old = referral.status
    referral.status = new_status
    referral.status_changed_at = utcnow()
    session.flush()
    audit(session, actor, "referral.status_changed", "referral", referral.id, old=old, new=new_status)


def list_referrals(session: Session, status: Optional[str] = None, limit: Optional[int] = None) -> List[Referral]:
    stmt = (
        select(Referral)
        .options(selectinload(Referral.bookings), selectinload(Referral.participant))
        .order_by(Referral.urgent.desc(), Referral.priority, Referral.created_at, Referral.id)
    )
    if status:
        stmt = stmt.where(Referral.status == status)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


def current_booking(referral: Referral):
    active = [b for b in referral.bookings if b.status in ACTIVE_BOOKING]
    if active:
        return active[-1]
    return referral.bookings[-1] if referral.bookings else None


def export_row(referral: Referral) -> dict:
    """The fields a case system needs. No health answers, no free text, no contact details."""
    booking = current_booking(referral)
    return {
        "id": referral.id,
        "created_at": referral.created_at.isoformat(),
        "language": referral.language,
        "channel": referral.channel,
        "status": referral.status,
        "eligible": referral.eligible,
        "eligibility_reasons": list(referral.eligibility_reasons or []),
        "urgent": referral.urgent,
        "priority": referral.priority,
        "barriers": list(referral.barriers or []),
        "assisted_by": referral.assisted_by,
        "screening": referral.screening,
        "booking": None
        if booking is None
        else {"session_id": booking.session_id, "session_start": booking.session.starts_at.isoformat(), "status": booking.status},
    }


EXPORT_COLUMNS = ["id", "created_at", "language", "channel", "status", "eligible", "eligibility_reasons",
                  "urgent", "priority", "barriers", "assisted_by", "screening", "booking_status",
                  "booking_session_start"]


def export_csv(rows: Iterable[dict]) -> str:
    """Rows of :func:`export_row` as CSV for a case system: lists joined with ";", the booking flat."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        row = dict(row)
        booking = row.pop("booking")
        row["eligibility_reasons"] = ";".join(row["eligibility_reasons"])
        row["barriers"] = ";".join(row["barriers"])
        row["booking_status"] = booking["status"] if booking else ""
        row["booking_session_start"] = booking["session_start"] if booking else ""
        writer.writerow({k: row.get(k) for k in EXPORT_COLUMNS})
    return buffer.getvalue()
