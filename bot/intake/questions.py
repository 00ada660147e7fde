"""The screening questions, in the order they are asked.

Texts live in the language catalogues (``locales/<lang>.yml``, under ``questions.<key>``);
this module holds what does not depend on language: order, answer kind, option codes and
when a question is asked at all. The slot of a question has the question's key as its name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Collection, Dict, Mapping, Optional, Tuple

# Answer kinds
CHOICE = "choice"  # one of ``options``; typed text is matched against the option labels
TEXT = "text"  # free text, kept as written
PHONE = "phone"  # a phone number, stored as E.164

SKIPPED = "skipped"  # the slot value of a question the participant skipped

Slots = Mapping[str, object]


def _always(_slots: Slots) -> bool:
    return True


def _health_consented(slots: Slots) -> bool:
    return slots.get("consent_health") == "yes"


def _channel_has_no_phone(slots: Slots) -> bool:
    return not slots.get("channel_phone")


def _has_work_experience(slots: Slots) -> bool:
    return slots.get("work_experience") in ("home_country", "sweden", "both")


def _wants_interpreter(slots: Slots) -> bool:
    return slots.get("interpreter") == "yes"


@dataclass(frozen=True)
class Question:
    key: str
    kind: str
    options: Tuple[str, ...] = ()
    skippable: bool = True
    health: bool = False
    # an option code that typed text falls back to when it matches no option; the text is kept
    other: Optional[str] = None
    # a parser for typed numbers (e.g. an age) that maps them to an option code
    number_to_option: Optional[Callable[[int], Optional[str]]] = None
    asked_when: Callable[[Slots], bool] = field(default=_always, compare=False)
    # the answer names a language: "arabiska" answers it instead of switching the chat's language
    names_language: bool = False

    def applies(self, slots: Slots) -> bool:
        return self.asked_when(slots)


def age_to_band(age: int) -> Optional[str]:
    if age < 0 or age > 120:
        return None
    if age < 18:
        return "under_18"
    for low, high, code in ((18, 24, "18_24"), (25, 34, "25_34"), (35, 44, "35_44"), (45, 54, "45_54"), (55, 64, "55_64")):
        if low <= age <= high:
            return code
    return "65_plus"


def school_years_to_band(years: int) -> Optional[str]:
    if years < 0 or years > 30:
        return None
    if years == 0:
        return "0"
    if years <= 6:
        return "1_6"
    if years <= 9:
        return "7_9"
    if years <= 12:
        return "10_12"
    return "13_plus"


PHQ_OPTIONS = ("0", "1", "2", "3")

# Consent questions come first; they cannot be skipped.
CONSENT_QUESTIONS: Tuple[Question, ...] = (
    Question("consent_data", CHOICE, ("yes", "no"), skippable=False),
    Question(
        "consent_health",
        CHOICE,
        ("yes", "no"),
        skippable=False,
        asked_when=lambda slots: slots.get("consent_data") == "yes",
    ),
)

SCREENING_QUESTIONS: Tuple[Question, ...] = (
    Question("name", TEXT),
    Question("phone", PHONE, asked_when=_channel_has_no_phone),
    Question("municipality", CHOICE, ("varmdo", "nacka", "stockholm", "other"), other="other"),
    Question(
        "age_band",
        CHOICE,
        ("under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"),
        number_to_option=age_to_band,
    ),
    Question("swedish_level", CHOICE, ("none", "basic", "everyday", "good")),
    Question("sfi_status", CHOICE, ("ongoing", "finished", "paused", "not_started")),
    Question(
        "schooling",
        CHOICE,
        ("0", "1_6", "7_9", "10_12", "13_plus"),
        number_to_option=school_years_to_band,
    ),
    Question("work_experience", CHOICE, ("none", "home_country", "sweden", "both")),
    Question("work_kind", TEXT, asked_when=_has_work_experience),
    Question(
        "support",
        CHOICE,
        ("income_support", "employment_service", "sickness_benefit", "salary_or_study", "none", "other"),
        other="other",
    ),
    Question("care_duties", CHOICE, ("none", "children", "relative")),
    Question(
        "housing",
        CHOICE,
        ("own_contract", "sublet", "family_friends", "temporary", "homeless"),
    ),
    Question("phq_1", CHOICE, PHQ_OPTIONS, health=True, asked_when=_health_consented),
    Question("phq_2", CHOICE, PHQ_OPTIONS, health=True, asked_when=_health_consented),
    Question("phq_3", CHOICE, PHQ_OPTIONS, health=True, asked_when=_health_consented),
    Question("phq_4", CHOICE, PHQ_OPTIONS, health=True, asked_when=_health_consented),
    Question("physical_limits", CHOICE, ("no", "some", "a_lot"), health=True, asked_when=_health_consented),
    Question("authority_help", CHOICE, ("no", "sometimes", "often")),
    Question("digital_help", CHOICE, ("has_both", "bankid_only", "email_only", "neither")),
    Question("goals", TEXT),
    Question("preferred_times", CHOICE, ("morning", "afternoon", "any")),
    Question("interpreter", CHOICE, ("no", "yes")),
    Question("interpreter_language", TEXT, asked_when=_wants_interpreter, names_language=True),
)

INTAKE_QUESTIONS: Tuple[Question, ...] = CONSENT_QUESTIONS + SCREENING_QUESTIONS
QUESTIONS: Dict[str, Question] = {q.key: q for q in INTAKE_QUESTIONS}
HEALTH_KEYS = tuple(q.key for q in SCREENING_QUESTIONS if q.health)


def next_questions(slots: Slots, only: Optional[Collection[str]] = None) -> list:
    """The keys of the intake questions that apply, given what is known so far, in order.

    Consent declined means nothing more is asked. ``only``: the questions of a short intake.
    """
    keys = []
    for question in INTAKE_QUESTIONS:
        if only is not None and question.key not in only:
            continue
        if question.key != "consent_data" and slots.get("consent_data") != "yes":
            break
        if question.applies(slots):
            keys.append(question.key)
    return keys
