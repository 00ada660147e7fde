"""Rasa's tracker store, in our database: pseudonymous, encrypted, and erasable.

``endpoints.yml``::

    tracker_store:
      type: bot.tracker.IntakeTrackerStore

The conversation events go to ``tracker_events`` in the configured database (``DATABASE_URL``,
SQLite by default, PostgreSQL in production). Unlike Rasa's own SQL store:

- a row's conversation is an HMAC of Rasa's conversation id (which is a Telegram chat id, or a
  tablet session), so the table holds no id a person could be found by;
- the event itself (what the participant wrote, the slots) is encrypted (:mod:`bot.crypto`);
- a turn that erases the participant's data (the ``data_erased`` slot set) deletes the whole
  conversation instead of saving it, and the dashboard's and the retention command's erasures
  delete it by its key (:func:`delete_conversation`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
from typing import Any, Dict, Iterable, Iterator, List, Optional, Text

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SerializedTrackerAsText, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.db import get_database
from bot.db.models import TrackerEvent

logger = logging.getLogger(__name__)

ERASED_SLOT = "data_erased"


def tracker_key(secret: bytes, sender_id: str) -> str:
    """The key of a Rasa conversation in ``tracker_events``: an HMAC, whatever the channel."""
    message = f"tracker\x1f{sender_id}".encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def delete_conversation(session: Session, key: str) -> int:
    """Delete every event of one conversation; returns how many."""
    return session.execute(delete(TrackerEvent).where(TrackerEvent.conversation == key)).rowcount or 0


def purge_conversations(session: Session, older_than: float, keep: Iterable[str] = ()) -> int:
    """Delete the conversations whose last event is older than ``older_than`` (a Unix time).

    ``keep``: keys not to touch (conversations of participants whose data is still kept).
    """
    last = (
        select(TrackerEvent.conversation)
        .group_by(TrackerEvent.conversation)
        .having(func.max(TrackerEvent.timestamp) < older_than)
    )
    keys = set(session.execute(last).scalars()) - set(keep)
    deleted = 0
    for key in keys:
        deleted += delete_conversation(session, key)
    return deleted


class IntakeTrackerStore(TrackerStore, SerializedTrackerAsText):
    """A Rasa tracker store on our database (see the module's text)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Dict[Text, Any],
    ) -> None:
        # `host` is the endpoint's url: a database URL other than DATABASE_URL, if given
        self._url = host or None
        super().__init__(domain, event_broker, **kwargs)

    # -- database -----------------------------------------------------------------------------

    def _config(self) -> Config:
        return Config.from_env()

    def _transaction(self):
        config = self._config()
        if self._url:
            from dataclasses import replace

            config = replace(config, database_url=self._url)
        return get_database(config).transaction()

    def key(self, sender_id: Text) -> str:
        return tracker_key(self._config().secret, sender_id)

    @staticmethod
    def _events_query(key: str, all_sessions: bool):
        query = select(TrackerEvent).where(TrackerEvent.conversation == key)
        if not all_sessions:
            started = (
                select(func.max(TrackerEvent.timestamp))
                .where(TrackerEvent.conversation == key, TrackerEvent.type_name == SessionStarted.type_name)
                .scalar_subquery()
            )
            query = query.where(or_(started.is_(None), TrackerEvent.timestamp >= started))
        return query.order_by(TrackerEvent.id)

    # -- the TrackerStore interface -------------------------------------------------------------

    async def keys(self) -> Iterable[Text]:
        """The stored conversations' keys (HMACs: Rasa's ids are not kept)."""
        with self._transaction() as session:
            return list(session.execute(select(TrackerEvent.conversation).distinct()).scalars())

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return self._retrieve(sender_id, all_sessions=False)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        return self._retrieve(conversation_id, all_sessions=True)

    def _retrieve(self, sender_id: Text, all_sessions: bool) -> Optional[DialogueStateTracker]:
        key = self.key(sender_id)
        with self._transaction() as session:
            rows = session.execute(self._events_query(key, all_sessions)).scalars().all()
            events = [json.loads(row.data) for row in rows]
        if not events or not self.domain:
            return None
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        key = self.key(tracker.sender_id)
        with self._transaction() as session:
            new_events = list(self._additional_events(session, key, tracker))
            if any(isinstance(e, SlotSet) and e.key == ERASED_SLOT and e.value for e in new_events):
                deleted = delete_conversation(session, key)
                logger.info("tracker: a conversation was erased (%d events)", deleted)
                return
            for event in new_events:
                data = event.as_dict()
                session.add(
                    TrackerEvent(
                        conversation=key,
                        type_name=event.type_name,
                        timestamp=float(data.get("timestamp") or 0.0),
                        data=json.dumps(data, ensure_ascii=False),
                    )
                )

    def _additional_events(self, session: Session, key: str, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events that are not stored yet (counted within the latest session)."""
        stored = session.execute(
            select(func.count()).select_from(self._events_query(key, all_sessions=False).subquery())
        ).scalar_one()
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def delete(self, sender_id: Text) -> int:
        with self._transaction() as session:
            return delete_conversation(session, self.key(sender_id))


def stored_events(session: Session, key: str) -> List[Dict[str, Any]]:
    """One conversation's events, decrypted (for an export or a test)."""
    rows = session.execute(IntakeTrackerStore._events_query(key, all_sessions=True)).scalars()
    return [json.loads(row.data) for row in rows]
