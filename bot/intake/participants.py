"""Participants are pseudonymous: a channel's sender id is kept only as an HMAC."""

from __future__ import annotations

import hashlib
import hmac
from typing import Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import ConsentRecord, Participant
from bot.intake.audit import audit

CONSENT_TEXT_VERSION = "2026-11-v1"


def pseudonym(secret: bytes, channel: str, sender_id: str) -> str:
    message = f"{channel}\x1f{sender_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def find_participant(session: Session, pseudonym_: str) -> Optional[Participant]:
    return session.execute(select(Participant).where(Participant.pseudonym == pseudonym_)).scalar_one_or_none()


def get_or_create_participant(session: Session, pseudonym_: str, channel: str, language: str) -> Participant:
    participant = find_participant(session, pseudonym_)
    if participant is not None:
        return participant
    try:
        with session.begin_nested():
            participant = Participant(pseudonym=pseudonym_, channel=channel, language=language)
            session.add(participant)
            session.flush()
    except IntegrityError:  # created meanwhile by a concurrent request for the same person
        participant = find_participant(session, pseudonym_)
        assert participant is not None
        return participant
    audit(session, "assistant", "participant.created", "participant", participant.id, channel=channel)
    return participant


def record_consent(
    session: Session,
    participant: Participant,
    scope: str,
    given: bool,
    language: str,
    text_version: str = CONSENT_TEXT_VERSION,
) -> ConsentRecord:
    record = ConsentRecord(
        participant_id=participant.id,
        scope=scope,
        given=given,
        text_version=text_version,
        language=language,
    )
    session.add(record)
    session.flush()
    audit(session, "assistant", "consent.recorded", "participant", participant.id,
          scope=scope, given=given, text_version=text_version, language=language)
    return record
