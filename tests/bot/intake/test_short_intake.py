"""The short intake (SMS): which questions it asks, on which channels, and its checks."""

from __future__ import annotations

import pytest

from bot.channels.elks import ElksInput
from bot.channels.telegram import TelegramInput
from bot.channels.twilio_sms import TwilioInput
from bot.intake.program import Program, load_program
from bot.intake.questions import HEALTH_KEYS, QUESTIONS, next_questions
from tests.conftest import PROJECT_ROOT

SHORT = ["consent_data", "name", "municipality", "age_band", "interpreter"]


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program(PROJECT_ROOT / "program.yml")


def short(program: Program, **slots) -> list:
    return next_questions(slots, only=program.short_intake_questions)


def test_the_short_intake_names_only_known_questions(program):
    assert program.short_intake_questions
    assert all(key in QUESTIONS for key in program.short_intake_questions)


def test_before_consent_only_consent_data_is_asked(program):
    assert short(program) == ["consent_data"]


def test_declined_consent_asks_nothing_more(program):
    assert short(program, consent_data="no") == ["consent_data"]
    assert short(program, consent_data="no", interpreter="yes") == ["consent_data"]


def test_consent_gives_the_short_questions(program):
    assert short(program, consent_data="yes") == SHORT
    assert short(program, consent_data="yes", interpreter="no") == SHORT


def test_an_interpreter_adds_the_interpreter_language(program):
    assert short(program, consent_data="yes", interpreter="yes") == SHORT + ["interpreter_language"]


@pytest.mark.parametrize("interpreter", ["yes", "no", None])
def test_never_a_health_question_even_with_health_consent(program, interpreter):
    asked = short(program, consent_data="yes", consent_health="yes", interpreter=interpreter)
    assert not set(asked) & set(HEALTH_KEYS)
    assert "consent_health" not in asked
    assert asked[: len(SHORT)] == SHORT
    # while the full intake does ask them
    full = next_questions({"consent_data": "yes", "consent_health": "yes"})
    assert set(HEALTH_KEYS) <= set(full)


def test_the_sms_phone_does_not_change_the_short_intake(program):
    assert short(program, consent_data="yes", channel_phone="+46701234567") == SHORT


def test_the_short_intake_keeps_the_order_of_the_full_intake(program):
    slots = {"consent_data": "yes", "interpreter": "yes"}
    full = next_questions(slots)
    asked = short(program, **slots)
    assert asked == [key for key in full if key in asked]


def test_short_intake_channels(program):
    assert program.short_intake_on("46elks") is True
    assert program.short_intake_on("twilio") is True
    assert program.short_intake_on("telegram") is False
    assert program.short_intake_on("rest") is False
    assert program.short_intake_on(None) is False


def test_the_short_intake_channels_are_the_sms_channels_by_their_rasa_names(program):
    assert program.short_intake_on(ElksInput.name())
    assert program.short_intake_on(TwilioInput.name())
    assert not program.short_intake_on(TelegramInput.name())


def test_an_unknown_question_in_the_short_intake_is_refused():
    with pytest.raises(ValueError, match="shoe_size"):
        Program.from_mapping({"short_intake": {"channels": ["46elks"], "questions": ["consent_data", "shoe_size"]}})


def test_a_programme_without_a_short_intake_uses_it_nowhere():
    program = Program.from_mapping({})
    assert program.short_intake_questions == ()
    assert program.short_intake_on("46elks") is False


def test_a_short_intake_from_a_mapping():
    program = Program.from_mapping({"short_intake": {"channels": ["twilio"], "questions": ["consent_data", "name"]}})
    assert program.short_intake_questions == ("consent_data", "name")
    assert program.short_intake_on("twilio") and not program.short_intake_on("46elks")
    assert next_questions({"consent_data": "yes"}, only=program.short_intake_questions) == ["consent_data", "name"]


def test_a_short_intake_without_consent_is_refused():
    with pytest.raises(ValueError, match="consent_data"):
        Program.from_mapping({"short_intake": {"channels": ["46elks"], "questions": ["name", "age_band"]}})
