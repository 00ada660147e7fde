"""Safety alerts: a message that showed a crisis makes the participant's referral urgent."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.db.models import Handoff, Participant, Referral, SafetyAlert
from bot.db.types import utcnow
from bot.intake.audit import audit

# referrals that are still being worked on: a crisis makes them urgent
LIVE_STATUSES = ("new", "contacted", "accepted", "started")


def raise_alert(
    session: Session,
    participant: Participant,
    category: str,
    detected_by: str,
    handoff: Optional[Handoff] = None,
) -> SafetyAlert:
    referral = session.execute(
        select(Referral)
        .where(Referral.participant_id == participant.id, Referral.status.in_(LIVE_STATUSES))
        .order_by(Referral.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if referral is not None:
        referral.urgent = True
    alert = SafetyAlert(
        participant_id=participant.id,
        referral_id=referral.id if referral is not None else None,
        handoff_id=handoff.id if handoff is not None else None,
        category=category,
        detected_by=detected_by,
    )
    session.add(alert)
    session.flush()
    audit(session, "assistant", "safety.alert", "participant", participant.id, category=category,
          detected_by=detected_by, referral_id=alert.referral_id)
    return alert


def attach_to_referral(session: Session, participant_id: int, referral: Referral) -> bool:
    """A referral submitted after a crisis in the same intake is urgent. True when it was."""
    result = session.execute(
        update(SafetyAlert)
        .where(SafetyAlert.participant_id == participant_id, SafetyAlert.referral_id.is_(None))
        .values(referral_id=referral.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        referral.urgent = True
        return True
    return False


def acknowledge(session: Session, alert: SafetyAlert, username: str) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by = username
        audit(session, username, "safety.acknowledged", "safety_alert", alert.id)


def open_count(session: Session) -> int:
    return int(
        session.execute(select(func.count(SafetyAlert.id)).where(SafetyAlert.acknowledged_at.is_(None))).scalar_one()
    )
