"""Which questions are asked, and how typed numbers map to option codes."""

from __future__ import annotations

import pytest

from bot.intake.questions import (
    HEALTH_KEYS,
    INTAKE_QUESTIONS,
    QUESTIONS,
    SKIPPED,
    age_to_band,
    next_questions,
    school_years_to_band,
)

HEALTH = ["phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"]


def consented(**slots):
    return {"consent_data": "yes", "consent_health": "yes", **slots}


def test_nothing_known_asks_only_for_consent():
    assert next_questions({}) == ["consent_data"]


@pytest.mark.parametrize("answer", ["no", None, SKIPPED])
def test_consent_not_given_asks_nothing_more(answer):
    slots = {"consent_data": answer, "consent_health": "yes", "work_experience": "both", "interpreter": "yes"}
    assert next_questions(slots) == ["consent_data"]


def test_full_order_with_every_conditional_question():
    slots = consented(work_experience="both", interpreter="yes")
    assert next_questions(slots) == [q.key for q in INTAKE_QUESTIONS]


def test_consent_data_yes_then_asks_health_consent_and_screening():
    keys = next_questions({"consent_data": "yes"})
    assert keys[:3] == ["consent_data", "consent_health", "name"]
    assert "municipality" in keys and "goals" in keys


def test_health_questions_only_with_health_consent():
    with_consent = next_questions(consented())
    assert [k for k in with_consent if k in HEALTH] == HEALTH
    for health_answer in ("no", None, SKIPPED, "ja"):
        keys = next_questions({"consent_data": "yes", "consent_health": health_answer})
        assert not set(keys) & set(HEALTH), health_answer
        assert "housing" in keys and "authority_help" in keys  # the rest is still asked


def test_health_keys_are_the_health_questions():
    assert set(HEALTH_KEYS) == set(HEALTH)


@pytest.mark.parametrize("channel_phone, asked", [(None, True), ("", True), ("+46701234567", False)])
def test_phone_only_when_the_channel_has_none(channel_phone, asked):
    keys = next_questions(consented(channel_phone=channel_phone))
    assert ("phone" in keys) is asked


@pytest.mark.parametrize(
    "experience, asked",
    [("home_country", True), ("sweden", True), ("both", True), ("none", False), (SKIPPED, False), (None, False)],
)
def test_work_kind_only_with_work_experience(experience, asked):
    keys = next_questions(consented(work_experience=experience))
    assert ("work_kind" in keys) is asked
    if asked:
        assert keys.index("work_kind") == keys.index("work_experience") + 1


@pytest.mark.parametrize("interpreter, asked", [("yes", True), ("no", False), (SKIPPED, False), (None, False)])
def test_interpreter_language_only_when_an_interpreter_is_wanted(interpreter, asked):
    keys = next_questions(consented(interpreter=interpreter))
    assert ("interpreter_language" in keys) is asked
    if asked:
        assert keys[-1] == "interpreter_language"


def test_consent_questions_cannot_be_skipped_others_can():
    assert not QUESTIONS["consent_data"].skippable
    assert not QUESTIONS["consent_health"].skippable
    assert all(q.skippable for q in INTAKE_QUESTIONS if not q.key.startswith("consent_"))


@pytest.mark.parametrize(
    "age, band",
    [
        (-1, None), (0, "under_18"), (17, "under_18"),
        (18, "18_24"), (24, "18_24"), (25, "25_34"), (34, "25_34"), (35, "35_44"), (44, "35_44"),
        (45, "45_54"), (54, "45_54"), (55, "55_64"), (64, "55_64"), (65, "65_plus"), (120, "65_plus"),
        (121, None),
    ],
)
def test_age_to_band_edges(age, band):
    assert age_to_band(age) == band
    if band is not None:
        assert band in QUESTIONS["age_band"].options


@pytest.mark.parametrize(
    "years, band",
    [
        (-1, None), (0, "0"), (1, "1_6"), (6, "1_6"), (7, "7_9"), (9, "7_9"), (10, "10_12"), (12, "10_12"),
        (13, "13_plus"), (30, "13_plus"), (31, None),
    ],
)
def test_school_years_to_band_edges(years, band):
    assert school_years_to_band(years) == band
    if band is not None:
        assert band in QUESTIONS["schooling"].options
