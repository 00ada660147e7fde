"""Referrals: stored once per intake, with answers and assessment; status workflow; export."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db.models import (
    REFERRAL_STATUSES,
    AuditEvent,
    Participant,
    Referral,
    ScreeningAnswer,
)
from bot.intake.booking import book_seat
from bot.intake.participants import get_or_create_participant, pseudonym
from bot.intake.questions import SKIPPED
from bot.intake.referrals import (
    TRANSITIONS,
    StatusError,
    change_status,
    export_row,
    submit_referral,
)
from tests.answers import COMPLETE_ANSWERS

SECRET = b"test-secret"

SLOTS = dict(COMPLETE_ANSWERS)
FREE_TEXTS = {"support": "Pengar från min bror"}
HEALTH = {"phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"}
PERSONAL = ["Amina Hassan", "+46701234567", "Sömmerska i tio år", "Jobba med barn", "Somaliska",
            "Pengar från min bror"]


def submit(db, program, slots=SLOTS, *, sender="sender-1", intake_key="intake-1", free_texts=FREE_TEXTS,
           language="sv", channel="telegram", assisted_by=None):
    """One finished intake, as the assistant stores it; returns (referral id, created, assessment)."""
    with db.transaction() as session:
        participant = get_or_create_participant(session, pseudonym(SECRET, channel, sender), channel, language)
        result = submit_referral(
            session, participant=participant, intake_key=intake_key, language=language, channel=channel,
            slots=slots, free_texts=free_texts, program=program, assisted_by=assisted_by,
        )
        return result.referral.id, result.created, result.assessment


def stored_answers(db, referral_id):
    with db.transaction() as session:
        rows = session.execute(
            select(ScreeningAnswer).where(ScreeningAnswer.referral_id == referral_id)
        ).scalars()
        return {a.question_key: (a.value, a.free_text, a.skipped) for a in rows}


def count(db, model):
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# -- submit_referral --------------------------------------------------------------------------

def test_submit_stores_answers(db, program):
    referral_id, created, assessment = submit(db, program)
    assert created is True
    answers = stored_answers(db, referral_id)
    assert answers["municipality"] == ("varmdo", None, False)
    assert answers["swedish_level"] == ("basic", None, False)
    assert answers["authority_help"] == (None, None, True)  # skipped
    assert answers["work_kind"] == (None, "Sömmerska i tio år", False)  # free text
    assert answers["goals"] == (None, "Jobba med barn", False)
    assert answers["interpreter_language"] == (None, "Somaliska", False)
    assert answers["support"] == ("other", "Pengar från min bror", False)  # a choice with its note
    assert answers["phq_1"] == ("2", None, False)
    assert answers["physical_limits"] == ("some", None, False)
    # consent answers are consent records' business; contact details live on the participant
    expected = set(SLOTS) - {"consent_data", "consent_health", "name", "phone"}
    assert set(answers) == expected


def test_name_and_phone_are_stored_on_the_participant(db, program):
    referral_id, _, _ = submit(db, program)
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        participant = referral.participant
        assert participant.display_name == "Amina Hassan"
        assert participant.phone_e164 == "+46701234567"
        assert participant.pseudonym == pseudonym(SECRET, "telegram", "sender-1")
    answers = stored_answers(db, referral_id)
    assert "name" not in answers and "phone" not in answers
    values = [v for a in answers.values() for v in a[:2]]
    assert "Amina Hassan" not in values and "+46701234567" not in values


def test_skipped_name_and_phone_are_not_stored(db, program):
    referral_id, _, _ = submit(db, program, {**SLOTS, "name": SKIPPED, "phone": SKIPPED})
    with db.transaction() as session:
        participant = session.get(Referral, referral_id).participant
        assert participant.display_name is None
        assert participant.phone_e164 is None


def test_assessment_is_stored(db, program):
    referral_id, _, assessment = submit(db, program)
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral.status == "new"
        assert referral.eligible is True
        assert referral.eligibility_reasons == []
        assert referral.barriers == assessment.barriers
        assert referral.barriers == [
            "SWEDISH_LIMITED", "SFI_NOT_ACTIVE", "SHORT_SCHOOLING", "NO_SWEDISH_WORK_EXPERIENCE", "CARE_DUTIES",
            "INSECURE_HOUSING", "MENTAL_HEALTH", "PHYSICAL_LIMITS", "DIGITAL_EXCLUSION", "INTERPRETER_NEEDED",
        ]
        assert referral.priority == 1
        assert referral.urgent is False
        assert (referral.phq4_score, referral.phq4_band) == (6, "moderate")
        assert (referral.language, referral.channel) == ("sv", "telegram")


def test_urgent_referral(db, program):
    referral_id, _, _ = submit(db, program, {**SLOTS, "housing": "homeless"})
    with db.transaction() as session:
        assert session.get(Referral, referral_id).urgent is True


@pytest.mark.parametrize("health_consent", ["no", None, SKIPPED])
def test_health_answers_are_dropped_without_health_consent(db, program, health_consent):
    slots = {**SLOTS, "consent_health": health_consent, "phq_1": "3", "phq_2": "3", "phq_3": "3", "phq_4": "3"}
    referral_id, _, assessment = submit(db, program, slots)
    answers = stored_answers(db, referral_id)
    assert not set(answers) & HEALTH
    assert "housing" in answers
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral.phq4_score is None and referral.phq4_band is None
        assert "MENTAL_HEALTH" not in referral.barriers
        assert "PHYSICAL_LIMITS" not in referral.barriers
        assert referral.urgent is False  # a severe score it may not use


@pytest.mark.parametrize(
    "changes, reasons",
    [({"municipality": "nacka"}, ["outside_area"]), ({"age_band": "under_18"}, ["too_young"])],
)
def test_not_eligible_is_declined(db, program, changes, reasons):
    referral_id, created, _ = submit(db, program, {**SLOTS, **changes})
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert created is True
        assert referral.status == "declined"
        assert referral.eligible is False
        assert referral.eligibility_reasons == reasons


def test_undecided_stays_new(db, program):
    referral_id, _, _ = submit(db, program, {**SLOTS, "municipality": SKIPPED})
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert (referral.status, referral.eligible) == ("new", None)
        assert referral.eligibility_reasons == ["municipality_unknown"]


def test_second_intake_of_an_active_participant_is_already_registered(db, program):
    submit(db, program, intake_key="first")
    referral_id, created, _ = submit(db, program, intake_key="second")
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert created is True
        assert (referral.status, referral.eligible) == ("declined", False)
        assert referral.eligibility_reasons == ["already_registered"]
    # another person is not affected
    other_id, _, _ = submit(db, program, sender="sender-2", intake_key="third")
    with db.transaction() as session:
        assert session.get(Referral, other_id).eligible is True


def test_a_declined_referral_does_not_block_a_new_intake(db, program):
    submit(db, program, {**SLOTS, "municipality": "nacka"}, intake_key="first")
    referral_id, _, _ = submit(db, program, intake_key="second")
    with db.transaction() as session:
        assert session.get(Referral, referral_id).eligible is True


def test_the_same_intake_twice_returns_the_first(db, program):
    first_id, first_created, _ = submit(db, program)
    second_id, second_created, assessment = submit(db, program, {**SLOTS, "municipality": "nacka"})
    assert (first_created, second_created) == (True, False)
    assert second_id == first_id
    assert assessment is None
    assert count(db, Referral) == 1
    with db.transaction() as session:
        assert session.get(Referral, first_id).status == "new"  # not overwritten


def test_concurrent_submissions_of_one_intake_make_one_referral(db, program):
    barrier = threading.Barrier(10)
    created, errors = [], []

    def work():
        try:
            barrier.wait(timeout=30)
            created.append(submit(db, program, intake_key="same-intake"))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(created) == 10
    assert sum(1 for _, was_created, _ in created if was_created) == 1
    assert len({referral_id for referral_id, _, _ in created}) == 1
    assert count(db, Referral) == 1
    assert count(db, Participant) == 1
    referral_id = created[0][0]
    assert len(stored_answers(db, referral_id)) == len(SLOTS) - 4
    with db.transaction() as session:
        audits = session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "referral.created")
        ).scalar_one()
        assert audits == 1


# -- status workflow --------------------------------------------------------------------------

def test_change_status_follows_the_transitions(db, program):
    referral_id, _, _ = submit(db, program)
    for old in REFERRAL_STATUSES:
        for new in REFERRAL_STATUSES:
            with db.transaction() as session:
                referral = session.get(Referral, referral_id)
                referral.status = old
                session.flush()
                if new in TRANSITIONS[old]:
                    change_status(session, referral, new, actor="caseworker")
                    assert referral.status == new
                else:
                    with pytest.raises(StatusError):
                        change_status(session, referral, new, actor="caseworker")
                    assert referral.status == old


def test_the_documented_workflow():
    assert TRANSITIONS["new"] == ("contacted", "declined", "withdrawn")
    assert set(TRANSITIONS) == set(REFERRAL_STATUSES)
    assert TRANSITIONS["declined"] == () and TRANSITIONS["withdrawn"] == ()
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(REFERRAL_STATUSES)


def test_change_status_writes_an_audit_row(db, program):
    referral_id, _, _ = submit(db, program)
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        before = referral.status_changed_at
        change_status(session, referral, "contacted", actor="caseworker:anna")
    with db.transaction() as session:
        referral = session.get(Referral, referral_id)
        assert referral.status == "contacted"
        assert referral.status_changed_at >= before
        event = session.execute(
            select(AuditEvent).where(AuditEvent.action == "referral.status_changed")
        ).scalar_one()
        assert event.actor == "caseworker:anna"
        assert (event.entity_type, event.entity_id) == ("referral", str(referral_id))
        assert event.details == {"old": "new", "new": "contacted"}


def test_a_refused_status_change_is_not_stored_or_audited(db, program):
    referral_id, _, _ = submit(db, program)
    with db.transaction() as session:
        with pytest.raises(StatusError):
            change_status(session, session.get(Referral, referral_id), "started", actor="caseworker")
    with db.transaction() as session:
        assert session.get(Referral, referral_id).status == "new"
        changes = session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "referral.status_changed")
        ).scalar_one()
        assert changes == 0


# -- export -------------------------------------------------------------------------------------

EXPORT_FIELDS = {"id", "created_at", "language", "channel", "status", "eligible", "eligibility_reasons",
                 "urgent", "priority", "barriers", "assisted_by", "screening", "booking"}


def test_export_row_without_booking(db, program):
    referral_id, _, _ = submit(db, program, assisted_by="caseworker:anna")
    with db.transaction() as session:
        row = export_row(session.get(Referral, referral_id))
    assert set(row) == EXPORT_FIELDS
    assert row["id"] == referral_id
    created = datetime.fromisoformat(row["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert (row["language"], row["channel"], row["status"]) == ("sv", "telegram", "new")
    assert (row["urgent"], row["priority"], row["eligible"]) == (False, 1, True)
    assert "SWEDISH_LIMITED" in row["barriers"]
    assert row["assisted_by"] == "caseworker:anna"
    assert row["screening"] == "full"
    assert row["booking"] is None
    json.dumps(row)  # serialisable as it is


def test_export_row_with_booking(db, program, make):
    start = datetime.now().astimezone() + timedelta(days=3)
    session_id = make.session(make.activity(), starts_at=start, capacity=4)
    referral_id, _, _ = submit(db, program)
    with db.transaction() as session:
        assert book_seat(session, referral_id, session_id).outcome == "booked"
    with db.transaction() as session:
        row = export_row(session.get(Referral, referral_id))
    assert row["booking"]["status"] == "booked"
    assert row["booking"]["session_id"] == session_id
    assert datetime.fromisoformat(row["booking"]["session_start"]) == start


def test_export_row_holds_no_health_answers_or_free_text(db, program):
    slots = {**SLOTS, "municipality": "other", "phq_1": "3", "phq_2": "3", "phq_3": "3", "phq_4": "3"}
    referral_id, _, _ = submit(db, program, slots, free_texts={**FREE_TEXTS, "municipality": "Gustavsberg"})
    with db.transaction() as session:
        row = export_row(session.get(Referral, referral_id))
    dumped = json.dumps(row, ensure_ascii=False)
    for secret in PERSONAL + ["Gustavsberg", "phq", "severe"]:
        assert secret not in dumped, secret
    assert row["urgent"] is True  # the severe score only shows as urgency


# -- participants -------------------------------------------------------------------------------

def test_pseudonym_is_stable_and_keyed():
    value = pseudonym(SECRET, "telegram", "12345")
    assert value == pseudonym(SECRET, "telegram", "12345")
    assert len(value) == 64 and int(value, 16) >= 0
    assert value != pseudonym(SECRET, "rest", "12345")
    assert value != pseudonym(b"another-secret", "telegram", "12345")
    assert value != pseudonym(SECRET, "telegram", "12346")
    assert "12345" not in value
    # the channel and the id are kept apart: ("a", "bc") is not ("ab", "c")
    assert pseudonym(SECRET, "a", "bc") != pseudonym(SECRET, "ab", "c")


def test_get_or_create_participant_twice_gives_one_row(db):
    key = pseudonym(SECRET, "telegram", "42")
    with db.transaction() as session:
        first = get_or_create_participant(session, key, "telegram", "sv").id
    with db.transaction() as session:
        second = get_or_create_participant(session, key, "telegram", "ar")
        assert second.id == first
        assert second.language == "sv"  # an existing participant is not changed
    assert count(db, Participant) == 1
    with db.transaction() as session:
        created = session.execute(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "participant.created")
        ).scalar_one()
        assert created == 1


def test_get_or_create_participant_concurrently_gives_one_row(db):
    key = pseudonym(SECRET, "telegram", "43")
    barrier = threading.Barrier(8)
    ids, errors = [], []

    def work():
        try:
            barrier.wait(timeout=30)
            with db.transaction() as session:
                ids.append(get_or_create_participant(session, key, "telegram", "sv").id)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert len(ids) == 8 and len(set(ids)) == 1
    assert count(db, Participant) == 1
