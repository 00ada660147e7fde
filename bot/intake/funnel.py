"""How far conversations get: the funnel of the dashboard, recorded by the actions.

Anonymous: a conversation is an HMAC of channel and sender id (another purpose than the
participant pseudonym, so the two cannot be joined without the secret), and no answer is kept:
only that a step was reached, or which question was answered. Each step counts once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Optional

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import FunnelEvent


def conversation_key(secret: bytes, channel: str, sender_id: str) -> str:
    message = f"funnel\x1f{channel}\x1f{sender_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def answered(question_key: str) -> str:
    return f"answered:{question_key}"


def record_step(session: Session, conversation: str, step: str, channel: str, language: Optional[str]) -> bool:
    """Record that ``conversation`` reached ``step``; False when it had already."""
    try:
        with session.begin_nested():
            session.add(FunnelEvent(conversation=conversation, step=step[:64], channel=channel[:32],
                                    language=(language or None)))
            session.flush()
    except IntegrityError:
        return False
    return True


def unlink_conversation(session: Session, conversation: str) -> int:
    """Cut a conversation's steps loose from it (a random key): counted, never traceable.

    For a participant who declined consent: "we keep nothing about you" holds, and the funnel
    still counts that a conversation started and stopped at consent.
    """
    result = session.execute(
        update(FunnelEvent)
        .where(FunnelEvent.conversation == conversation)
        .values(conversation=secrets.token_hex(32))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
