"""Erasure, consent withdrawal, access and retention, on the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.channels import store
from bot.db.models import (
    AuditEvent,
    ConsentRecord,
    ConsentText,
    Handoff,
    OutboundMessage,
    Participant,
    Referral,
    SafetyAlert,
    ScreeningAnswer,
    TrackerEvent,
)
from bot.db.types import utcnow
from bot.intake.booking import book_seat
from bot.intake.participants import get_or_create_participant, pseudonym, record_consent
from bot.intake.privacy import (
    consent_withdrawn,
    erase_conversation,
    erase_participant,
    purge_expired,
    stored_data,
    withdraw_consent,
)
from bot.intake.referrals import submit_referral
from bot.safety.alerts import raise_alert
from bot.safety.handoff import start_handoff
from bot.tracker import tracker_key
from tests.answers import COMPLETE_ANSWERS
from tests.support.database import found_in, raw_dump

SECRET = b"test-secret"
PHONE = "+46701234567"
PERSONAL = ["Amina Hassan", PHONE, "Pengar från min bror", "Jag vill inte leva"]


@pytest.fixture
def upcoming_session(make):
    return make.session(make.activity())


def make_participant(db, program, activity_session=None, sender="chat-42", channel="telegram"):
    """A participant with consent, a referral with answers, a booking, a crisis handoff and messages."""
    with db.transaction() as session:
        key = tracker_key(SECRET, sender)
        participant = get_or_create_participant(session, pseudonym(SECRET, channel, sender), channel, "sv",
                                                tracker_key=key)
        record_consent(session, participant, "data", True, "sv", "v1", "Får vi spara dina svar?")
        record_consent(session, participant, "health", True, "sv", "v1", "Får vi fråga om hälsa?")
        referral = submit_referral(
            session, participant=participant, intake_key=uuid.uuid4().hex, language="sv", channel=channel,
            slots={**COMPLETE_ANSWERS, "phone": PHONE}, free_texts={"support": "Pengar från min bror"}, program=program,
        ).referral
        referral.funnel_key = "f" * 64
        if activity_session is not None:
            book_seat(session, referral.id, activity_session)
        handoff = start_handoff(session, participant, "crisis", channel, "sv", sender,
                                [("participant", "Jag vill inte leva")])
        raise_alert(session, participant, "suicide", "phrase", handoff)
        store.enqueue(session, channel, participant.pseudonym, PHONE, "Hej Amina Hassan")
        session.add(TrackerEvent(conversation=key, type_name="user", timestamp=1.0,
                                 data='{"text": "Jag heter Amina Hassan"}'))
        return participant.id, referral.id


def test_erasure_leaves_nothing_about_the_participant(db, program, upcoming_session):
    participant_id, referral_id = make_participant(db, program, upcoming_session)
    other_id, _ = make_participant(db, program, sender="chat-43")
    with db.transaction() as session:
        erased = erase_participant(session, session.get(Participant, participant_id), actor="caseworker-1")
    assert erased.referrals == 1 and erased.tracker_events == 1
    with db.transaction() as session:
        assert session.get(Participant, participant_id) is None
        assert session.get(Referral, referral_id) is None
        for model in (ScreeningAnswer, ConsentRecord, Handoff, SafetyAlert):
            remaining = session.execute(select(func.count()).select_from(model)).scalar_one()
            assert remaining > 0  # the other participant's rows
        assert session.get(Participant, other_id) is not None
        # the freed seat and the audit trail (ids only)
        audit = session.execute(select(AuditEvent).where(AuditEvent.action == "participant.erased")).scalar_one()
        assert audit.entity_id == str(participant_id) and audit.actor == "caseworker-1"
        # consent wordings are ours, not the participant's: they stay
        assert session.execute(select(func.count(ConsentText.id))).scalar_one() == 2
    dump = raw_dump(db.engine)
    assert pseudonym(SECRET, "telegram", "chat-42") not in dump
    assert tracker_key(SECRET, "chat-42") not in dump
    assert tracker_key(SECRET, "chat-43") in dump  # the other participant's events remain


def test_no_plaintext_in_the_raw_database(db, program, upcoming_session):
    make_participant(db, program, upcoming_session)
    assert found_in(raw_dump(db.engine), PERSONAL + ["moderate", "severe", "chat-42"]) == []


def test_erasing_a_conversation_without_a_participant_removes_its_messages(db):
    with db.transaction() as session:
        store.enqueue(session, "46elks", "p" * 64, PHONE, "Hej")
        session.add(TrackerEvent(conversation="c" * 64, type_name="user", timestamp=1.0, data="{}"))
    with db.transaction() as session:
        result = erase_conversation(session, "p" * 64, "c" * 64)
    assert result.tracker_events == 1 and result.messages == 1
    with db.transaction() as session:
        assert session.execute(select(func.count(OutboundMessage.id))).scalar_one() == 0


def test_withdrawn_consent_stops_processing(db, program, upcoming_session):
    participant_id, referral_id = make_participant(db, program, upcoming_session)
    with db.transaction() as session:
        participant = session.get(Participant, participant_id)
        assert withdraw_consent(session, participant) == 1
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral.status == "withdrawn" and referral.answers == [] and referral.phq4_score is None
        assert all(b.status == "cancelled" for b in referral.bookings)
        participant = session.get(Participant, participant_id)
        assert participant.display_name is None and participant.phone_e164 is None
        assert all(c.withdrawn_at is not None for c in participant.consents)
        assert consent_withdrawn(session, participant.pseudonym)
    assert found_in(raw_dump(db.engine), ["Pengar från min bror"]) == []


def test_stored_data_is_what_the_participant_sees(db, program, upcoming_session):
    participant_id, _ = make_participant(db, program, upcoming_session)
    with db.transaction() as session:
        found = stored_data(session, session.get(Participant, participant_id).pseudonym)
        answers = {a.question_key: a.value or a.free_text for a in found.answers}
        assert found.name == "Amina Hassan" and found.phone == PHONE
        assert answers["goals"] == COMPLETE_ANSWERS["goals"] and found.booking is not None and found.session is not None
        assert stored_data(session, "nobody").answers == []


def test_consent_records_keep_the_wording_version_and_language(db):
    with db.transaction() as session:
        participant = get_or_create_participant(session, "x" * 64, "rest", "ar")
        first = record_consent(session, participant, "data", True, "ar", "2026-11-v1", "نص الموافقة")
        again = record_consent(session, participant, "data", True, "ar", "2026-11-v1", "نص الموافقة")
        assert first.text_id == again.text_id
        assert first.consent_text.text == "نص الموافقة" and first.language == "ar"
        assert first.text_version == "2026-11-v1" and first.recorded_at is not None


def test_retention_purges_only_what_is_older_than_the_period(db, program):
    old_id, _ = make_participant(db, program, sender="old")
    new_id, _ = make_participant(db, program, sender="new")
    long_ago = utcnow() - timedelta(days=800)
    with db.transaction() as session:
        old = session.get(Participant, old_id)
        for obj in [old] + list(old.consents) + list(old.referrals) + list(old.handoffs):
            for column in ("created_at", "updated_at", "recorded_at", "status_changed_at", "requested_at"):
                if hasattr(obj, column):
                    setattr(obj, column, long_ago)
    with db.transaction() as session:
        dry = purge_expired(session, timedelta(days=730), timedelta(days=30), dry_run=True)
        assert dry.participants == 1
        assert session.get(Participant, old_id) is not None
    with db.transaction() as session:
        assert purge_expired(session, timedelta(days=730), timedelta(days=30)).participants == 1
    with db.transaction() as session:
        assert session.get(Participant, old_id) is None and session.get(Participant, new_id) is not None
