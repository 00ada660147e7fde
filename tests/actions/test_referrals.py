"""action_submit_referral: one referral per intake, and the outcome told to the participant."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from actions.referrals import ActionSubmitReferral
from bot.db.models import Booking, Participant, Referral, ScreeningAnswer
from bot.db.types import utcnow
from bot.intake.booking import book_seat
from bot.intake.participants import pseudonym
from tests.actions.conftest import (
    FULL_ANSWERS,
    SENDER,
    all_rows,
    all_slots,
    make_tracker,
    message,
    run,
    slots_set,
    table_counts,
    texts,
)

SAVED = "Tack! Nu har vi fått dina svar."
EXISTS = "Du har redan skickat in dina svar. Tack!"
NO_SESSIONS = "Just nu finns inga lediga tider.\nVi ringer dig när det finns en tid."
SUMMARY = (
    "Vi har sparat dina svar.\n"
    "Handläggare på kommunen ser dem.\n"
    "Vill du byta tid eller avboka? Skriv till mig här.\n"
    'Vill du att vi tar bort dina uppgifter? Skriv "radera".'
)
CONSENT_DECLINED = (
    "Okej. Vi sparar ingenting om dig.\n"
    "Vill du prata med en person i stället?\n"
    "Ring 08-570 470 00, måndag–fredag 9–16."
)
OUTSIDE_AREA = "Aktiviteten är för dig som bor i Värmdö kommun.\nKontakta kommunen där du bor."
WHERE_TO_TURN = "Du kan också kontakta Arbetsförmedlingen.\nTelefon: 0771-416 416."
UNKNOWN = "Vi vet inte allt om dig än. En handläggare kontrollerar det."

EXPECTED_BARRIERS = [
    "SWEDISH_LIMITED",
    "SFI_NOT_ACTIVE",
    "SHORT_SCHOOLING",
    "NO_SWEDISH_WORK_EXPERIENCE",
    "CARE_DUTIES",
    "INSECURE_HOUSING",
    "MENTAL_HEALTH",
    "PHYSICAL_LIMITS",
    "DIGITAL_EXCLUSION",
    "INTERPRETER_NEEDED",
]


def finished(sender_id=SENDER, metadata=None, **overrides):
    """The tracker right after the intake form finished."""
    values = dict(FULL_ANSWERS)
    values.update(overrides)
    return make_tracker(all_slots(**values), message("/choose{\"choice\":\"yes\"}", "choose", 1.0,
                                                      [{"entity": "choice", "value": "yes"}], metadata=metadata),
                        sender_id=sender_id, form=None)


def upcoming_session(make, **kwargs):
    return make.session(make.activity(), starts_at=utcnow() + timedelta(days=4), **kwargs)


def referrals(db):
    return all_rows(db, Referral)


async def test_consent_declined_saves_nothing(env, db, domain):
    tracker = make_tracker(all_slots(language="sv", consent_data="no", welcomed=True), message("nej", "deny"),
                           form=None)

    events, messages = await run(ActionSubmitReferral(), tracker, domain)

    assert texts(messages) == [CONSENT_DECLINED]
    # consent is asked again next time: a "no" is not final
    assert slots_set(events) == {"can_book": False, "consent_data": None}
    assert set(table_counts(db).values()) == {0}


async def test_full_intake_becomes_one_referral_and_can_book(env, db, domain, make):
    upcoming_session(make)

    events, messages = await run(ActionSubmitReferral(), finished(), domain)

    assert texts(messages) == [SAVED]
    rows = referrals(db)
    assert len(rows) == 1
    referral = rows[0]
    assert slots_set(events) == {"referral_id": float(referral.id), "can_book": True}
    assert isinstance(slots_set(events)["referral_id"], float)
    assert referral.intake_key == "intake-full-1"
    assert referral.status == "new"
    assert referral.eligible is True
    assert referral.language == "sv"
    assert referral.channel == "rest"
    assert referral.barriers == EXPECTED_BARRIERS
    assert referral.priority == 1
    assert referral.urgent is False
    assert (referral.phq4_score, referral.phq4_band) == (6, "moderate")

    participant = all_rows(db, Participant)[0]
    assert participant.id == referral.participant_id
    assert participant.pseudonym == pseudonym(b"test-secret", "rest", SENDER)
    assert participant.display_name == "Amina"
    assert participant.phone_e164 == "+46701234567"

    with db.transaction() as session:
        answers = {
            a.question_key: (a.value, a.free_text, a.skipped)
            for a in session.execute(select(ScreeningAnswer).where(ScreeningAnswer.referral_id == referral.id)).scalars()
        }
    assert answers["support"] == ("other", "Pengar från min bror", False)
    assert answers["authority_help"] == (None, None, True)
    assert answers["goals"] == (None, "Jobba med barn", False)
    assert answers["phq_1"] == ("2", None, False)
    assert "name" not in answers and "phone" not in answers


async def test_reuses_the_participant_of_the_consent(env, db, domain, make):
    with db.transaction() as session:
        session.add(Participant(pseudonym=pseudonym(b"test-secret", "rest", SENDER), channel="rest", language="sv"))

    await run(ActionSubmitReferral(), finished(), domain)

    participants = all_rows(db, Participant)
    assert len(participants) == 1
    assert referrals(db)[0].participant_id == participants[0].id


async def test_no_upcoming_sessions_means_nothing_to_book(env, db, domain, make):
    # a session too soon to book does not count
    make.session(make.activity(), starts_at=utcnow() + timedelta(minutes=30))

    events, messages = await run(ActionSubmitReferral(), finished(), domain)

    assert texts(messages) == [SAVED, NO_SESSIONS, SUMMARY]
    assert slots_set(events)["can_book"] is False
    assert len(referrals(db)) == 1


async def test_submitting_twice_makes_one_referral(env, db, domain, make):
    upcoming_session(make)
    first_events, _ = await run(ActionSubmitReferral(), finished(), domain)

    events, messages = await run(ActionSubmitReferral(), finished(), domain)

    assert len(referrals(db)) == 1
    assert messages[0]["text"] == EXISTS
    assert "redan skickat in" in messages[0]["text"]
    assert slots_set(events)["referral_id"] == slots_set(first_events)["referral_id"]


async def test_already_booked_referral_gets_the_summary(env, db, domain, make):
    session_id = upcoming_session(make)
    events, _ = await run(ActionSubmitReferral(), finished(), domain)
    with db.transaction() as session:
        assert book_seat(session, int(slots_set(events)["referral_id"]), session_id).outcome == "booked"

    events, messages = await run(ActionSubmitReferral(), finished(), domain)

    assert texts(messages) == [EXISTS, SUMMARY]
    assert slots_set(events)["can_book"] is False
    assert len(all_rows(db, Booking)) == 1


async def test_outside_the_area_is_declined(env, db, domain, make):
    upcoming_session(make)

    events, messages = await run(ActionSubmitReferral(), finished(municipality="stockholm"), domain)

    assert texts(messages) == [SAVED, OUTSIDE_AREA, WHERE_TO_TURN]
    assert "bor i Värmdö kommun" in messages[1]["text"]
    assert slots_set(events)["can_book"] is False
    referral = referrals(db)[0]
    assert referral.status == "declined"
    assert referral.eligible is False
    assert referral.eligibility_reasons == ["outside_area"]


async def test_too_young_is_declined(env, db, domain, make):
    upcoming_session(make)

    events, messages = await run(ActionSubmitReferral(), finished(age_band="under_18"), domain)

    assert texts(messages) == [SAVED, "Aktiviteten är för dig som är 18 år eller äldre.", WHERE_TO_TURN]
    assert slots_set(events)["can_book"] is False
    assert referrals(db)[0].status == "declined"


async def test_unknown_municipality_is_checked_by_a_caseworker(env, db, domain, make):
    upcoming_session(make)

    events, messages = await run(ActionSubmitReferral(), finished(municipality="skipped"), domain)

    assert texts(messages) == [SAVED, UNKNOWN]
    assert slots_set(events)["can_book"] is True
    referral = referrals(db)[0]
    assert referral.eligible is None
    assert referral.status == "new"
    assert referral.eligibility_reasons == ["municipality_unknown"]


async def test_health_answers_are_not_kept_without_health_consent(env, db, domain, make):
    upcoming_session(make)
    no_health = {key: None for key in ("phq_1", "phq_2", "phq_3", "phq_4", "physical_limits")}

    await run(ActionSubmitReferral(), finished(consent_health="no", **no_health), domain)

    referral = referrals(db)[0]
    assert referral.phq4_score is None
    assert "MENTAL_HEALTH" not in referral.barriers and "PHYSICAL_LIMITS" not in referral.barriers
    with db.transaction() as session:
        keys = set(session.execute(select(ScreeningAnswer.question_key)).scalars())
    assert not keys & {"phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"}


async def test_assisted_intake_and_english(env, db, domain, make):
    upcoming_session(make)

    events, messages = await run(ActionSubmitReferral(), finished(language="en", metadata={"assisted_by": "kw-7"}),
                                 domain)

    assert texts(messages) == ["Thank you! Now we have your answers."]
    referral = referrals(db)[0]
    assert referral.assisted_by == "kw-7"
    assert referral.language == "en"


async def test_a_second_intake_of_an_active_participant_is_declined(env, db, domain, make):
    upcoming_session(make)
    await run(ActionSubmitReferral(), finished(intake_key="first"), domain)

    events, messages = await run(ActionSubmitReferral(), finished(intake_key="second"), domain)

    assert texts(messages) == [SAVED, "Du är redan anmäld till aktiviteten.", WHERE_TO_TURN]
    assert slots_set(events)["can_book"] is False
    rows = referrals(db)
    assert [(r.intake_key, r.status) for r in rows] == [("first", "new"), ("second", "declined")]
    assert rows[1].eligibility_reasons == ["already_registered"]
