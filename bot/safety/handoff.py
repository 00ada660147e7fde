"""Handing a conversation to a person, and back.

The participant asks for a person (or writes something that shows a crisis): a handoff opens,
the assistant is paused for them (the ``handoff`` slot, :mod:`bot.safety.policy`), and what
they write is kept here for the caseworkers, who answer from the dashboard. A reply goes into the
participant's own channel: through the outbox on Telegram and SMS, and with the next answer the
tablet or REST client fetches otherwise. Handing back tells the participant that the assistant
answers again.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.channels import PUSH_CHANNELS, store
from bot.channels.sms_text import count_segments
from bot.db.models import Handoff, HandoffMessage, Participant
from bot.db.types import utcnow
from bot.intake.audit import audit

OPEN = ("waiting", "active")


def open_handoff(session: Session, participant_id: int) -> Optional[Handoff]:
    return session.execute(
        select(Handoff)
        .where(Handoff.participant_id == participant_id, Handoff.status.in_(OPEN))
        .order_by(Handoff.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def start_handoff(
    session: Session,
    participant: Participant,
    reason: str,
    channel: str,
    language: str,
    address: Optional[str],
    history: Sequence[Tuple[str, str]] = (),
) -> Handoff:
    """Open a handoff (or return the open one). ``history``: (sender, text) said before it."""
    handoff = open_handoff(session, participant.id)
    if handoff is not None:
        if reason == "crisis" and handoff.reason != "crisis":
            handoff.reason = "crisis"
        return handoff
    handoff = Handoff(
        participant_id=participant.id, reason=reason, status="waiting", channel=channel,
        language=language, address=address if channel in PUSH_CHANNELS else None,
    )
    handoff.messages = [
        HandoffMessage(sender=sender, text=text, before_handoff=True) for sender, text in history if text
    ]
    session.add(handoff)
    session.flush()
    audit(session, "assistant", "handoff.started", "handoff", handoff.id, reason=reason, channel=channel)
    return handoff


def add_message(session: Session, handoff: Handoff, sender: str, text: str, author: Optional[str] = None) -> HandoffMessage:
    message = HandoffMessage(handoff_id=handoff.id, sender=sender, author=author, text=text)
    session.add(message)
    session.flush()
    return message


def staff_reply(session: Session, handoff: Handoff, username: str, shown_name: str, text: str) -> HandoffMessage:
    """A caseworker writes to the participant. The first reply takes the handoff."""
    if handoff.status == "closed":
        raise ValueError("the handoff is closed")
    if handoff.status == "waiting":
        take(session, handoff, username)
    message = add_message(session, handoff, "staff", text, author=username)
    deliver(session, handoff, message, f"{shown_name}: {text}")
    audit(session, username, "handoff.replied", "handoff", handoff.id)
    return message


def take(session: Session, handoff: Handoff, username: str) -> None:
    if handoff.status == "waiting":
        handoff.status = "active"
        handoff.taken_by = username
        handoff.taken_at = utcnow()
        audit(session, username, "handoff.taken", "handoff", handoff.id)


def close(session: Session, handoff: Handoff, actor: str, goodbye: Optional[str] = None) -> None:
    """Hand back to the assistant. ``goodbye``: the text that tells the participant so."""
    if handoff.status == "closed":
        return
    handoff.status = "closed"
    handoff.closed_at = utcnow()
    handoff.closed_by = actor
    if goodbye:
        message = add_message(session, handoff, "assistant", goodbye)
        deliver(session, handoff, message, goodbye)
    audit(session, actor, "handoff.closed", "handoff", handoff.id)


def deliver(session: Session, handoff: Handoff, message: HandoffMessage, body: str) -> None:
    """Push channels: queue it in the outbox now. Others: the next fetch takes it."""
    if handoff.channel in PUSH_CHANNELS and handoff.address:
        participant = session.get(Participant, handoff.participant_id)
        segments = count_segments(body)
        store.enqueue(session, handoff.channel, participant.pseudonym, handoff.address, body,
                      segments.parts if handoff.channel != "telegram" else 1,
                      segments.encoding if handoff.channel != "telegram" else None)
        message.delivered_at = utcnow()


def take_undelivered(session: Session, handoff: Handoff) -> List[str]:
    """Replies not yet shown to a participant on a fetching channel, oldest first; now shown."""
    rows = session.execute(
        select(HandoffMessage)
        .where(
            HandoffMessage.handoff_id == handoff.id,
            HandoffMessage.sender.in_(("staff", "assistant")),
            HandoffMessage.before_handoff.is_(False),
            HandoffMessage.delivered_at.is_(None),
        )
        .order_by(HandoffMessage.id)
    ).scalars().all()
    now = utcnow()
    texts = []
    for row in rows:
        row.delivered_at = now
        texts.append(row.text if row.sender == "assistant" or not row.author else f"{_shown(session, row.author)}: {row.text}")
    return texts


def _shown(session: Session, username: str) -> str:
    from bot.db.models import StaffUser

    user = session.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one_or_none()
    return user.display_name if user is not None else username


def latest_for_pseudonym(session: Session, pseudonym: str) -> Optional[Handoff]:
    """The participant's latest handoff, open or closed (for a fetching channel's undelivered replies)."""
    return session.execute(
        select(Handoff)
        .join(Participant, Participant.id == Handoff.participant_id)
        .where(Participant.pseudonym == pseudonym)
        .order_by(Handoff.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def waiting_count(session: Session) -> int:
    return int(session.execute(select(func.count(Handoff.id)).where(Handoff.status == "waiting")).scalar_one())
