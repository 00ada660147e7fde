"""What the channels keep in the database: seen message ids, pending choices, the outbox.

Every function takes the caller's session and does one small piece of a unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import InboundMessage, OutboundMessage, PendingChoice
from bot.db.types import utcnow

# Wait before the 1st, 2nd ... retry of a message the gateway did not take: about four hours in
# all, like the gateways' own retries. After the last one the message is marked failed.
RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
)
# A message claimed for sending by a process that then died is claimed again after this long.
SENDING_TIMEOUT = timedelta(minutes=2)


# -- inbound ids ----------------------------------------------------------------------------


# A message taken but never marked handled this long ago was abandoned (its process died, or the
# database went away before it could be forgotten): a redelivery takes it over.
ABANDONED_AFTER = timedelta(minutes=2)


def first_delivery(session: Session, channel: str, external_id: str, now: Optional[datetime] = None) -> bool:
    """Record a gateway's message id; False when it was recorded before (a redelivery).

    True also for a redelivery of a message that was taken but never handled
    (:func:`mark_handled`) and is older than ``ABANDONED_AFTER``: one conditional UPDATE claims it,
    so of several redeliveries one takes it over.
    """
    now = now or utcnow()
    try:
        with session.begin_nested():
            session.add(InboundMessage(channel=channel, external_id=external_id[:100], received_at=now))
            session.flush()
    except IntegrityError:
        reclaimed = session.execute(
            update(InboundMessage)
            .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id[:100],
                   InboundMessage.response.is_(None), InboundMessage.received_at < now - ABANDONED_AFTER)
            .values(received_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        return reclaimed == 1
    return True


def mark_handled(session: Session, channel: str, external_id: str, response: Optional[Dict] = None) -> None:
    """The message was handled: a redelivery is a duplicate for good (``response``: what to answer it)."""
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.external_id == external_id[:100])
        .values(response=response if response is not None else {})
        .execution_options(synchronize_session=False)
    )


def forget_delivery(session: Session, channel: str, external_id: str) -> None:
    """Forget a message id whose processing failed, so that the gateway's retry is taken."""
    session.execute(
        delete(InboundMessage).where(
            InboundMessage.channel == channel, InboundMessage.external_id == external_id[:100]
        )
    )


def purge_inbound(session: Session, older_than: timedelta = timedelta(days=7)) -> int:
    result = session.execute(delete(InboundMessage).where(InboundMessage.received_at < utcnow() - older_than))
    return result.rowcount or 0


# -- pending choices ------------------------------------------------------------------------


def save_choices(session: Session, pseudonym: str, options: Sequence[Dict[str, str]]) -> None:
    """Remember the options of the question just sent (none: forget the earlier ones).

    An option may name the ``message`` that carried it (Telegram), so that a tap on the keyboard
    of an earlier question is told apart from an answer to the current one.
    """
    row = session.get(PendingChoice, pseudonym)
    cleaned = [
        {"title": str(o.get("title", "")), "payload": str(o.get("payload", "")),
         **({"message": str(o["message"])} if o.get("message") is not None else {})}
        for o in options
    ]
    if not cleaned:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        session.add(PendingChoice(pseudonym=pseudonym, options=cleaned))
    else:
        row.options = cleaned
        row.updated_at = utcnow()


def load_choices(session: Session, pseudonym: str) -> List[Dict[str, str]]:
    row = session.get(PendingChoice, pseudonym)
    return list(row.options) if row is not None else []


# -- outbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A message claimed for sending."""

    id: int
    channel: str
    recipient: str
    body: str
    attempts: int
    pseudonym: str = ""
    buttons: Optional[List[Dict[str, str]]] = None


def enqueue(
    session: Session,
    channel: str,
    pseudonym: str,
    recipient: str,
    body: str,
    segments: int = 1,
    encoding: Optional[str] = None,
    forget_after_send: bool = False,
    buttons: Optional[Sequence[Dict[str, str]]] = None,
) -> int:
    message = OutboundMessage(
        channel=channel, pseudonym=pseudonym, recipient=recipient, body=body,
        segments=segments, encoding=encoding, status="queued", next_attempt_at=utcnow(),
        forget_after_send=forget_after_send, buttons=list(buttons) if buttons else None,
    )
    session.add(message)
    session.flush()
    return message.id


def claim(session: Session, message_id: int, now: Optional[datetime] = None) -> Optional[Outgoing]:
    """Take one due message for sending; None when another process has it or it is not due.

    One conditional UPDATE, so that several server instances never send a message twice.
    """
    now = now or utcnow()
    due = (OutboundMessage.status == "queued") & (OutboundMessage.next_attempt_at <= now)
    stale = (OutboundMessage.status == "sending") & (OutboundMessage.next_attempt_at <= now - SENDING_TIMEOUT)
    result = session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id, due | stale)
        .values(status="sending", attempts=OutboundMessage.attempts + 1, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    row = session.get(OutboundMessage, message_id, populate_existing=True)
    assert row is not None
    return Outgoing(row.id, row.channel, row.recipient, row.body or "", row.attempts, row.pseudonym,
                    list(row.buttons) if row.buttons else None)


def due_ids(session: Session, channel: str, now: Optional[datetime] = None, limit: int = 50) -> List[int]:
    """Ids of messages waiting to be sent on ``channel``, oldest first."""
    now = now or utcnow()
    due = (OutboundMessage.status == "queued") & (OutboundMessage.next_attempt_at <= now)
    stale = (OutboundMessage.status == "sending") & (OutboundMessage.next_attempt_at <= now - SENDING_TIMEOUT)
    rows = session.execute(
        select(OutboundMessage.id)
        .where(OutboundMessage.channel == channel, due | stale)
        .order_by(OutboundMessage.id)
        .limit(limit)
    )
    return [row[0] for row in rows]


def mark_sent(session: Session, message_id: int, gateway_id: Optional[str]) -> None:
    """Sent: the text is cleared. A message that must leave no trace (erasure) is deleted."""
    gone = session.execute(
        delete(OutboundMessage).where(OutboundMessage.id == message_id, OutboundMessage.forget_after_send.is_(True))
    )
    if gone.rowcount:
        return
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id == message_id)
        .values(status="sent", gateway_id=gateway_id, sent_at=utcnow(), body=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_failed_attempt(
    session: Session, message_id: int, error: str, permanent: bool = False, now: Optional[datetime] = None
) -> str:
    """Record a failed attempt: queued again after a delay, or failed for good. Returns the status."""
    now = now or utcnow()
    row = session.get(OutboundMessage, message_id, populate_existing=True)
    assert row is not None
    retries_done = max(row.attempts - 1, 0)
    if permanent or retries_done >= len(RETRY_DELAYS):
        if row.forget_after_send:  # the last message to someone who erased their data: no trace
            session.delete(row)
            return "failed"
        row.status = "failed"
        row.body = None
    else:
        row.status = "queued"
        row.next_attempt_at = now + RETRY_DELAYS[retries_done]
    row.last_error = error[:500]
    return row.status


def record_delivery_report(session: Session, channel: str, gateway_id: str, delivered: bool, error: str = "") -> bool:
    """A gateway's delivery report: delivered, or failed on the way. False for an unknown id."""
    values = {"status": "delivered"} if delivered else {"status": "failed", "last_error": (error or "not delivered")[:500]}
    result = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.channel == channel,
            OutboundMessage.gateway_id == gateway_id,
            OutboundMessage.status.in_(("sent", "delivered", "failed")),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) > 0


def record_failed(session: Session, channel: str, pseudonym: str, recipient: str, error: str, segments: int = 1) -> None:
    """A message that could not be sent at all (e.g. Telegram refused it after retries)."""
    session.add(OutboundMessage(
        channel=channel, pseudonym=pseudonym, recipient=recipient, body=None, segments=segments,
        status="failed", attempts=1, last_error=error[:500],
    ))


def undelivered_counts(session: Session, pseudonyms: Sequence[str]) -> Dict[str, int]:
    """How many messages to each participant failed for good."""
    if not pseudonyms:
        return {}
    rows = session.execute(
        select(OutboundMessage.pseudonym, func.count())
        .where(OutboundMessage.pseudonym.in_(list(pseudonyms)), OutboundMessage.status == "failed")
        .group_by(OutboundMessage.pseudonym)
    )
    return {pseudonym: count for pseudonym, count in rows}
