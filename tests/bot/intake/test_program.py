"""The programme rules of program.yml applied to screening answers."""

from __future__ import annotations

import pytest

from bot.intake.answers import interpret
from bot.intake.program import Program
from bot.intake.questions import QUESTIONS, SKIPPED

# Somebody the programme serves, with no barrier at all.
NO_BARRIERS = {
    "consent_data": "yes",
    "consent_health": "yes",
    "municipality": "varmdo",
    "age_band": "25_34",
    "swedish_level": "good",
    "sfi_status": "finished",
    "schooling": "13_plus",
    "work_experience": "both",
    "support": "salary_or_study",
    "care_duties": "none",
    "housing": "own_contract",
    "phq_1": "0",
    "phq_2": "0",
    "phq_3": "0",
    "phq_4": "0",
    "physical_limits": "no",
    "authority_help": "no",
    "digital_help": "has_both",
    "interpreter": "no",
}


def answers(**changes):
    result = dict(NO_BARRIERS)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def test_program_file_is_read(program):
    assert program.served_municipalities == ("varmdo",)
    assert program.activity["code"] == "varmdo-steg-ett"
    assert program.municipality_of("Gustavsberg") == "varmdo"
    assert program.municipality_of("  Farsta ") == "stockholm"
    assert program.municipality_of("Uppsala") is None


def test_eligible_without_barriers(program):
    result = program.assess(answers())
    assert result.eligible is True
    assert result.reasons == []
    assert result.barriers == []
    assert result.score == 0
    assert result.priority == 3
    assert result.urgent is False
    assert (result.phq4_score, result.phq4_band) == (0, "normal")


@pytest.mark.parametrize("band", ["18_24", "25_34", "35_44", "45_54", "55_64"])
def test_every_adult_band_is_eligible(program, band):
    assert program.assess(answers(age_band=band)).eligible is True


@pytest.mark.parametrize("municipality", ["nacka", "stockholm", "other"])
def test_outside_area(program, municipality):
    result = program.assess(answers(municipality=municipality))
    assert result.eligible is False
    assert result.reasons == ["outside_area"]


def test_too_young(program):
    result = program.assess(answers(age_band="under_18"))
    assert (result.eligible, result.reasons) == (False, ["too_young"])


def test_too_old(program):
    result = program.assess(answers(age_band="65_plus"))
    assert (result.eligible, result.reasons) == (False, ["too_old"])


def test_already_registered(program):
    result = program.assess(answers(), already_active=True)
    assert (result.eligible, result.reasons) == (False, ["already_registered"])


def test_several_reasons_are_all_given(program):
    result = program.assess(answers(municipality="nacka", age_band="65_plus"), already_active=True)
    assert result.eligible is False
    assert result.reasons == ["outside_area", "too_old", "already_registered"]


@pytest.mark.parametrize(
    "changes, reasons",
    [
        ({"municipality": SKIPPED}, ["municipality_unknown"]),
        ({"municipality": None}, ["municipality_unknown"]),
        ({"age_band": SKIPPED}, ["age_unknown"]),
        ({"age_band": None}, ["age_unknown"]),
        ({"municipality": SKIPPED, "age_band": SKIPPED}, ["municipality_unknown", "age_unknown"]),
    ],
)
def test_undecided_when_municipality_or_age_is_unknown(program, changes, reasons):
    result = program.assess(answers(**changes))
    assert result.eligible is None
    assert result.reasons == reasons


def test_a_known_reason_outweighs_an_unknown_answer(program):
    result = program.assess(answers(municipality="nacka", age_band=SKIPPED))
    assert (result.eligible, result.reasons) == (False, ["outside_area"])


@pytest.mark.parametrize(
    "changes, codes",
    [
        ({"swedish_level": "none"}, ["SWEDISH_LIMITED"]),
        ({"swedish_level": "basic"}, ["SWEDISH_LIMITED"]),
        ({"sfi_status": "paused"}, ["SFI_NOT_ACTIVE"]),
        ({"sfi_status": "not_started"}, ["SFI_NOT_ACTIVE"]),
        ({"schooling": "0"}, ["SHORT_SCHOOLING"]),
        ({"schooling": "1_6"}, ["SHORT_SCHOOLING"]),
        ({"schooling": "7_9"}, ["SHORT_SCHOOLING"]),
        ({"schooling": "10_12"}, []),
        ({"work_experience": "none"}, ["NO_WORK_EXPERIENCE"]),
        ({"work_experience": "home_country"}, ["NO_SWEDISH_WORK_EXPERIENCE"]),
        ({"work_experience": "sweden"}, []),
        ({"care_duties": "children"}, ["CARE_DUTIES"]),
        ({"care_duties": "relative"}, ["CARE_DUTIES"]),
        ({"housing": "sublet"}, ["INSECURE_HOUSING"]),
        ({"housing": "temporary"}, ["INSECURE_HOUSING"]),
        ({"housing": "homeless"}, ["INSECURE_HOUSING", "HOMELESS"]),
        ({"phq_1": "3", "phq_2": "3"}, ["MENTAL_HEALTH"]),  # 6: moderate
        ({"phq_1": "3", "phq_2": "2"}, []),  # 5: mild
        ({"physical_limits": "some"}, ["PHYSICAL_LIMITS"]),
        ({"physical_limits": "a_lot"}, ["PHYSICAL_LIMITS"]),
        ({"authority_help": "often"}, ["AUTHORITY_CONTACT"]),
        ({"digital_help": "neither"}, ["DIGITAL_EXCLUSION"]),
        ({"digital_help": "bankid_only"}, ["DIGITAL_EXCLUSION"]),
        ({"interpreter": "yes"}, ["INTERPRETER_NEEDED"]),
        ({"support": "none"}, ["NO_INCOME"]),
        ({"support": "income_support"}, []),
        ({"swedish_level": SKIPPED, "housing": SKIPPED, "schooling": SKIPPED}, []),
    ],
)
def test_barrier_codes_from_answers(program, changes, codes):
    assert program.assess(answers(**changes)).barriers == codes


def test_barriers_are_listed_in_programme_order(program):
    result = program.assess(answers(support="none", swedish_level="none", interpreter="yes"))
    assert result.barriers == ["SWEDISH_LIMITED", "INTERPRETER_NEEDED", "NO_INCOME"]


@pytest.mark.parametrize(
    "changes, score, priority",
    [
        ({}, 0, 3),
        # SWEDISH_LIMITED 2 + SFI_NOT_ACTIVE 1 = 3
        ({"swedish_level": "none", "sfi_status": "paused"}, 3, 3),
        # + CARE_DUTIES 1 = 4: medium
        ({"swedish_level": "none", "sfi_status": "paused", "care_duties": "children"}, 4, 2),
        # + SHORT_SCHOOLING 2 + INTERPRETER_NEEDED 1 = 7
        ({"swedish_level": "none", "sfi_status": "paused", "care_duties": "children", "schooling": "0",
          "interpreter": "yes"}, 7, 2),
        # + DIGITAL_EXCLUSION 1 = 8: high
        ({"swedish_level": "none", "sfi_status": "paused", "care_duties": "children", "schooling": "0",
          "interpreter": "yes", "digital_help": "neither"}, 8, 1),
    ],
)
def test_priority_bands_at_the_score_thresholds(program, changes, score, priority):
    result = program.assess(answers(**changes))
    assert (result.score, result.priority) == (score, priority)


def test_urgent_for_severe_phq4(program):
    result = program.assess(answers(phq_1="3", phq_2="3", phq_3="3", phq_4="0"))
    assert (result.phq4_score, result.phq4_band) == (9, "severe")
    assert result.urgent is True
    assert "MENTAL_HEALTH" in result.barriers


def test_moderate_phq4_is_not_urgent(program):
    result = program.assess(answers(phq_1="3", phq_2="3", phq_3="2", phq_4="0"))
    assert result.phq4_band == "moderate"
    assert result.urgent is False


def test_urgent_for_homeless(program):
    result = program.assess(answers(housing="homeless"))
    assert result.urgent is True
    assert result.eligible is True


def test_no_health_answers_no_mental_health_barrier(program):
    no_health = answers(consent_health="no", phq_1=None, phq_2=None, phq_3=None, phq_4=None, physical_limits=None)
    result = program.assess(no_health)
    assert result.phq4_score is None and result.phq4_band is None
    assert "MENTAL_HEALTH" not in result.barriers
    assert "PHYSICAL_LIMITS" not in result.barriers
    assert result.urgent is False


def test_a_skipped_phq_item_gives_no_score_and_no_barrier(program):
    result = program.assess(answers(phq_1="3", phq_2="3", phq_3="3", phq_4=SKIPPED))
    assert result.phq4_score is None
    assert "MENTAL_HEALTH" not in result.barriers
    assert result.urgent is False


# -- the rules are configuration --------------------------------------------------------------

CUSTOM = {
    "activity": {"code": "nacka-start", "name": "Start"},
    "eligibility": {
        "served_municipalities": ["nacka", "stockholm"],
        "age_bands": ["18_24", "25_34"],
        "active_statuses": ["new"],
    },
    "places": {"nacka": ["Orminge", "boo"]},
    "barriers": {
        "NEEDS_CHILDCARE": {"when": {"care_duties": ["children"]}, "weight": 5},
        "HOUSING_OR_INCOME": {"when": {"housing": ["temporary", "homeless"], "support": ["none"]}},
    },
    "priority": {"high": 6, "medium": 5},
    "urgent_when": {"interpreter": ["yes"]},
}


def test_program_from_mapping_applies_its_own_rules():
    custom = Program.from_mapping(CUSTOM)
    assert custom.activity["code"] == "nacka-start"
    assert custom.municipality_of("ORMINGE") == "nacka"
    assert custom.municipality_of("Gustavsberg") is None

    base = answers(municipality="nacka", age_band="18_24")
    result = custom.assess(base)
    assert (result.eligible, result.barriers, result.priority, result.urgent) == (True, [], 3, False)

    assert custom.assess(answers(municipality="stockholm", age_band="25_34")).eligible is True
    assert custom.assess(answers(municipality="varmdo", age_band="25_34")).reasons == ["outside_area"]
    assert custom.assess(answers(municipality="nacka", age_band="35_44")).reasons == ["too_old"]

    # weights: 5 is "medium" here, 5 + 1 (default weight) is "high"
    assert custom.assess({**base, "care_duties": "children"}).priority == 2
    both = custom.assess({**base, "care_duties": "children", "support": "none"})
    assert both.barriers == ["NEEDS_CHILDCARE", "HOUSING_OR_INCOME"]
    assert (both.score, both.priority) == (6, 1)
    # swedish_level "none" is no barrier in this programme
    assert custom.assess({**base, "swedish_level": "none"}).barriers == []
    # urgency is configured too: homelessness is not urgent here, an interpreter is
    assert custom.assess({**base, "housing": "homeless"}).urgent is False
    assert custom.assess({**base, "interpreter": "yes"}).urgent is True


def test_empty_mapping_gives_defaults():
    empty = Program.from_mapping({})
    result = empty.assess(answers())
    assert result.eligible is False  # serves nobody
    assert result.barriers == []
    assert (empty.priority_high, empty.priority_medium) == (8, 4)


def test_age_below_the_served_bands_is_too_young():
    older = Program.from_mapping({"eligibility": {"served_municipalities": ["varmdo"],
                                                  "age_bands": ["25_34", "35_44"]}})
    assert older.assess(answers(age_band="18_24")).reasons == ["too_young"]


def test_place_listed_with_diacritics_is_found_when_typed():
    custom = Program.from_mapping({"places": {"nacka": ["Älta"]}})
    answer = interpret(QUESTIONS["municipality"], "Älta", place_to_municipality=custom.municipality_of)
    assert answer is not None and answer.value == "nacka"
