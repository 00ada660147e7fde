"""The tracker store: Rasa's conversations in our database, pseudonymous, encrypted, erasable."""

from __future__ import annotations

import time

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select, text

from bot.db import get_database
from bot.db.models import TrackerEvent
from bot.tracker import IntakeTrackerStore, purge_conversations, tracker_key
from tests.conftest import PROJECT_ROOT

SENDER = "+46701234567"


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def conversation(store, sender=SENDER, *events):
    tracker = DialogueStateTracker.from_events(sender, list(events), store.domain.slots)
    return tracker


async def test_a_conversation_round_trips_under_a_keyed_hash_and_encrypted(env, domain):
    store = IntakeTrackerStore(domain=domain)
    tracker = conversation(store, SENDER, ActionExecuted("action_listen"),
                           UserUttered("Jag heter Amina", {"name": "inform", "confidence": 0.9}),
                           SlotSet("name", "Amina"))
    await store.save(tracker)
    again = await store.retrieve(SENDER)
    assert again.get_slot("name") == "Amina"
    assert again.latest_message.text == "Jag heter Amina"
    with get_database().transaction() as session:
        rows = session.execute(text("SELECT conversation, type_name, data FROM tracker_events")).fetchall()
    assert {r[0] for r in rows} == {tracker_key(b"test-secret", SENDER)}
    dump = repr(rows)
    for secret in (SENDER, "Amina", "inform"):
        assert secret not in dump
    assert list(await store.keys()) == [tracker_key(b"test-secret", SENDER)]


async def test_only_new_events_are_added_and_the_latest_session_is_read(env, domain):
    store = IntakeTrackerStore(domain=domain)
    tracker = conversation(store, "chat-1", ActionExecuted("action_listen"), UserUttered("hej"))
    await store.save(tracker)
    tracker.update(SlotSet("language", "sv"))
    await store.save(tracker)
    with get_database().transaction() as session:
        assert session.execute(select(func.count(TrackerEvent.id))).scalar_one() == 3
    later = time.time() + 10
    tracker.update(SessionStarted(timestamp=later))
    tracker.update(ActionExecuted("action_listen", timestamp=later + 1))
    await store.save(tracker)
    latest = await store.retrieve("chat-1")
    assert [e.type_name for e in latest.events][:2] == ["session_started", "action"]
    full = await store.retrieve_full_tracker("chat-1")
    assert len(full.events) == 5


async def test_a_turn_that_erases_deletes_the_whole_conversation(env, domain):
    store = IntakeTrackerStore(domain=domain)
    tracker = conversation(store, "chat-2", ActionExecuted("action_listen"), UserUttered("radera mina uppgifter"))
    await store.save(tracker)
    await store.save(conversation(store, "chat-3", ActionExecuted("action_listen"), UserUttered("hej")))
    tracker.update(SlotSet("data_erased", True))
    await store.save(tracker)
    assert await store.retrieve("chat-2") is None
    assert await store.retrieve("chat-3") is not None


async def test_old_conversations_are_purged_unless_kept(env, domain):
    store = IntakeTrackerStore(domain=domain)
    old = time.time() - 100 * 86400
    await store.save(conversation(store, "old", ActionExecuted("action_listen", timestamp=old)))
    await store.save(conversation(store, "kept", ActionExecuted("action_listen", timestamp=old)))
    await store.save(conversation(store, "new", ActionExecuted("action_listen")))
    with get_database().transaction() as session:
        assert purge_conversations(session, time.time() - 30 * 86400, keep=[tracker_key(b"test-secret", "kept")]) == 1
    assert await store.retrieve("old") is None
    assert await store.retrieve("kept") is not None and await store.retrieve("new") is not None
