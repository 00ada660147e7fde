"""Participants are pseudonymous: a channel's sender id is kept only as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ConsentRecord, ConsentText, Participant
from bot.intake.audit import audit

CONSENT_TEXT_VERSION = "2026-11-v1"


def pseudonym(secret: bytes, channel: str, sender_id: str) -> str:
    message = f"{channel}\x1f{sender_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def find_participant(session: Session, pseudonym_: str) -> Optional[Participant]:
    return session.execute(select(Participant).where(Participant.pseudonym == pseudonym_)).scalar_one_or_none()


def get_or_create_participant(
    session: Session, pseudonym_: str, channel: str, language: str, tracker_key: Optional[str] = None
) -> Participant:
    """The participant of a conversation. ``tracker_key``: their conversation's key in the tracker store."""
    participant = find_participant(session, pseudonym_)
    if participant is not None:
        if tracker_key and participant.tracker_key != tracker_key:
            participant.tracker_key = tracker_key
        return participant
    try:
        with session.begin_nested():
            participant = Participant(pseudonym=pseudonym_, channel=channel, language=language,
                                      tracker_key=tracker_key)
            session.add(participant)
            session.flush()
    except IntegrityError:  # created meanwhile by a concurrent request for the same person
        participant = find_participant(session, pseudonym_)
        assert participant is not None
        return participant
    audit(session, "assistant", "participant.created", "participant", participant.id, channel=channel)
    return participant


def consent_text(session: Session, scope: str, version: str, language: str, text: str) -> ConsentText:
    """The stored wording (made on first use): what a participant agreed to, word for word."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    query = select(ConsentText).where(
        ConsentText.scope == scope, ConsentText.version == version,
        ConsentText.language == language, ConsentText.sha256 == digest,
    )
    found = session.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            found = ConsentText(scope=scope, version=version, language=language, sha256=digest, text=text)
            session.add(found)
            session.flush()
    except IntegrityError:  # stored meanwhile by another request
        found = session.execute(query).scalar_one()
    return found


def record_consent(
    session: Session,
    participant: Participant,
    scope: str,
    given: bool,
    language: str,
    text_version: str = CONSENT_TEXT_VERSION,
    text: Optional[str] = None,
) -> ConsentRecord:
    """One answer to a consent question; ``text``: the wording shown, kept in ``consent_texts``."""
    shown = consent_text(session, scope, text_version, language, text) if text else None
    record = ConsentRecord(
        participant_id=participant.id,
        scope=scope,
        given=given,
        text_version=text_version,
        language=language,
        text_id=shown.id if shown is not None else None,
    )
    session.add(record)
    session.flush()
    audit(session, "assistant", "consent.recorded", "participant", participant.id,
          scope=scope, given=given, text_version=text_version, language=language)
    return record
