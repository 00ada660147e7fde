"""The participant's own data: access, consent withdrawal, erasure and retention.

Erasure removes the participant's row and everything hanging from it (consents, referrals with
their answers, notes, transcripts and bookings, handoffs, safety alerts), the messages queued to
them, their pending SMS options, and the assistant's conversation events. The funnel statistics
keep their steps, cut loose from the conversation (:func:`bot.intake.funnel.unlink_conversation`).
The audit log keeps that an erasure happened, with the row's number only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.models import (
    ACTIVE_BOOKING,
    ActivitySession,
    Booking,
    ConsentRecord,
    InboundMessage,
    OutboundMessage,
    Participant,
    PendingChoice,
    Referral,
    ReferralTranscript,
    ScreeningAnswer,
)
from bot.db.types import utcnow
from bot.intake.audit import audit
from bot.intake.booking import cancel_booking
from bot.intake.reminders import NO_SHOW, OFFER_EXPIRED, cancel_kind
from bot.intake.funnel import unlink_conversation
from bot.intake.participants import find_participant
from bot.tracker import delete_conversation, purge_conversations


@dataclass
class Erased:
    participant_id: Optional[int] = None
    referrals: int = 0
    tracker_events: int = 0
    messages: int = 0

    def as_dict(self) -> Dict[str, int]:
        return {"referrals": self.referrals, "tracker_events": self.tracker_events, "messages": self.messages}


def _release_bookings(session: Session, referral: Referral, actor: str) -> None:
    """Give up the referral's seat (it goes to the waiting list) and its planned messages."""
    for booking in referral.bookings:
        if booking.status in ACTIVE_BOOKING:
            cancel_booking(session, booking, actor=actor, reason="withdrawn")
        cancel_kind(session, booking, NO_SHOW)
        cancel_kind(session, booking, OFFER_EXPIRED)


def erase_participant(session: Session, participant: Participant, actor: str) -> Erased:
    """Erase one participant and everything stored about them (see the module's text)."""
    result = Erased(participant_id=participant.id)
    for referral in participant.referrals:
        _release_bookings(session, referral, actor)
        if referral.funnel_key:
            unlink_conversation(session, referral.funnel_key)
        result.referrals += 1
    if participant.tracker_key:
        result.tracker_events = delete_conversation(session, participant.tracker_key)
    result.messages = _forget_messages(session, participant.pseudonym)
    participant_id = participant.id
    session.delete(participant)
    session.flush()
    audit(session, actor, "participant.erased", "participant", participant_id, **result.as_dict())
    return result


def _forget_messages(session: Session, pseudonym: str) -> int:
    deleted = session.execute(delete(OutboundMessage).where(OutboundMessage.pseudonym == pseudonym)).rowcount or 0
    session.execute(delete(PendingChoice).where(PendingChoice.pseudonym == pseudonym))
    return deleted


def erase_conversation(
    session: Session, pseudonym: str, tracker_key: str, actor: str = "participant", funnel: Optional[str] = None
) -> Erased:
    """Erasure asked for in the chat: the participant, if there is one, and the conversation.

    The conversation's own events are deleted by the tracker store when it saves the turn that
    asked (it sees the ``data_erased`` slot); deleting them here as well does no harm.
    """
    if funnel:  # the conversation's statistics stay, cut loose from it
        unlink_conversation(session, funnel)
    participant = find_participant(session, pseudonym)
    if participant is not None:
        if participant.tracker_key is None:
            participant.tracker_key = tracker_key
        return erase_participant(session, participant, actor)
    result = Erased(tracker_events=delete_conversation(session, tracker_key))
    result.messages = _forget_messages(session, pseudonym)
    audit(session, actor, "conversation.erased", "conversation", None, **result.as_dict())
    return result


def withdraw_consent(
    session: Session, participant: Participant, actor: str = "participant", funnel: Optional[str] = None
) -> int:
    """Consent withdrawn: processing stops. Returns how many referrals were withdrawn.

    What rests on the consent goes: answers, transcripts, name, phone number, health scores, the
    conversation's events, handed-over conversations, and the link of the funnel statistics.
    What stays is the record that consent was given and then withdrawn (and when), safety alerts
    (a category and a time: vital interests), and each referral as an empty row with the status
    ``withdrawn``, so that a caseworker does not call.
    """
    now = utcnow()
    for record in participant.consents:
        if record.given and record.withdrawn_at is None:
            record.withdrawn_at = now
    withdrawn = 0
    for referral in participant.referrals:
        _release_bookings(session, referral, actor)
        session.execute(delete(ScreeningAnswer).where(ScreeningAnswer.referral_id == referral.id))
        session.execute(delete(ReferralTranscript).where(ReferralTranscript.referral_id == referral.id))
        referral.phq4_score = None
        referral.phq4_band = None
        referral.contact_address = None
        referral.barriers = []
        if referral.status != "withdrawn":
            referral.status = "withdrawn"
            referral.status_changed_at = now
            withdrawn += 1
        if referral.funnel_key:
            unlink_conversation(session, referral.funnel_key)
            referral.funnel_key = None
    if funnel:
        unlink_conversation(session, funnel)
    if participant.tracker_key:
        delete_conversation(session, participant.tracker_key)
    for handoff in list(participant.handoffs):
        session.delete(handoff)
    _forget_messages(session, participant.pseudonym)
    participant.display_name = None
    participant.phone_e164 = None
    session.flush()
    session.expire(participant, ["referrals", "handoffs"])
    audit(session, actor, "consent.withdrawn", "participant", participant.id, referrals=withdrawn)
    return withdrawn


def consent_withdrawn(session: Session, pseudonym: str) -> bool:
    """True when the participant's latest data consent was withdrawn (processing has stopped)."""
    participant = find_participant(session, pseudonym)
    if participant is None:
        return False
    latest = session.execute(
        select(ConsentRecord)
        .where(ConsentRecord.participant_id == participant.id, ConsentRecord.scope == "data")
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return latest is not None and latest.withdrawn_at is not None


# -- access ---------------------------------------------------------------------------------


@dataclass
class StoredData:
    """What is kept about one participant, for showing it to them."""

    language: Optional[str] = None
    name: Optional[str] = None
    phone: Optional[str] = None
    answers: List[ScreeningAnswer] = field(default_factory=list)
    booking: Optional[Booking] = None
    session: Optional[ActivitySession] = None


def stored_data(session: Session, pseudonym: str) -> StoredData:
    participant = find_participant(session, pseudonym)
    if participant is None:
        return StoredData()
    found = StoredData(language=participant.language, name=participant.display_name, phone=participant.phone_e164)
    referral = session.execute(
        select(Referral).where(Referral.participant_id == participant.id).order_by(Referral.id.desc()).limit(1)
    ).scalar_one_or_none()
    if referral is None:
        return found
    found.answers = list(referral.answers)
    for booking in referral.bookings:
        if booking.status in ACTIVE_BOOKING:
            found.booking, found.session = booking, booking.session
    return found


# -- retention ------------------------------------------------------------------------------


@dataclass
class Purged:
    participants: int = 0
    tracker_events: int = 0
    messages: int = 0


def _last_activity(participant: Participant) -> datetime:
    times = [participant.created_at, participant.updated_at]
    times += [c.recorded_at for c in participant.consents] + [c.withdrawn_at for c in participant.consents]
    for referral in participant.referrals:
        times += [referral.updated_at, referral.status_changed_at]
        times += [b.session.starts_at for b in referral.bookings if b.session is not None]
    for handoff in participant.handoffs:
        times += [handoff.requested_at, handoff.closed_at]
    return max(t for t in times if t is not None)


def purge_expired(
    session: Session,
    retention: timedelta,
    unlinked_retention: timedelta,
    now: Optional[datetime] = None,
    dry_run: bool = False,
) -> Purged:
    """Erase what has been kept longer than the retention period.

    A participant goes when nothing about them (a consent, a referral's change, a booked
    session, a handoff) is newer than ``retention``. A conversation that never became a
    participant (consent declined, or it stopped before) goes after ``unlinked_retention``.
    Sent messages' records go after ``retention`` too.
    """
    now = now or utcnow()
    cutoff = now - retention
    result = Purged()
    candidates = session.execute(select(Participant).where(Participant.updated_at < cutoff)).scalars().all()
    for participant in candidates:
        if _last_activity(participant) < cutoff:
            result.participants += 1
            if not dry_run:
                erased = erase_participant(session, participant, actor="retention")
                result.tracker_events += erased.tracker_events
    keep = set(session.execute(select(Participant.tracker_key).where(Participant.tracker_key.isnot(None))).scalars())
    if not dry_run:
        result.tracker_events += purge_conversations(session, (now - unlinked_retention).timestamp(), keep)
        result.tracker_events += purge_conversations(session, cutoff.timestamp())
        result.messages = session.execute(
            delete(OutboundMessage).where(OutboundMessage.created_at < cutoff)
        ).rowcount or 0
        session.execute(delete(InboundMessage).where(InboundMessage.received_at < now - timedelta(days=7)))
        audit(session, "retention", "retention.purged", "database", None,
              participants=result.participants, tracker_events=result.tracker_events, messages=result.messages)
    return result

