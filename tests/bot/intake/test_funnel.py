"""Funnel steps: once per conversation, anonymous keys, unlinking after a declined consent."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import FunnelEvent
from bot.intake.funnel import answered, conversation_key, record_step, unlink_conversation
from bot.intake.participants import pseudonym


def test_a_step_counts_once_per_conversation(db):
    key = conversation_key(b"secret", "telegram", "42")
    with db.transaction() as session:
        assert record_step(session, key, "started", "telegram", "sv")
        assert not record_step(session, key, "started", "telegram", "sv")
        assert record_step(session, key, answered("name"), "telegram", "sv")
        other = conversation_key(b"secret", "telegram", "43")
        assert record_step(session, other, "started", "telegram", "ar")
    with db.transaction() as session:
        steps = sorted((e.conversation == key, e.step) for e in session.execute(select(FunnelEvent)).scalars())
    assert steps == [(False, "started"), (True, "answered:name"), (True, "started")]


def test_the_key_is_not_the_participants_pseudonym():
    assert conversation_key(b"s", "rest", "x") != pseudonym(b"s", "rest", "x")
    assert conversation_key(b"s", "rest", "x") != conversation_key(b"t", "rest", "x")
    assert conversation_key(b"s", "rest", "x") != conversation_key(b"s", "sms", "x")


def test_unlinking_keeps_the_counts_and_drops_the_link(db):
    key = conversation_key(b"secret", "rest", "7")
    with db.transaction() as session:
        record_step(session, key, "started", "rest", "sv")
        record_step(session, key, answered("consent_data"), "rest", "sv")
        assert unlink_conversation(session, key) == 2
    with db.transaction() as session:
        rows = list(session.execute(select(FunnelEvent)).scalars())
    assert len(rows) == 2 and all(r.conversation != key for r in rows)
    assert sorted(r.step for r in rows) == ["answered:consent_data", "started"]
