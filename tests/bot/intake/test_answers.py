"""Reading what a participant typed or tapped, with the real Swedish labels and words."""

from __future__ import annotations

import pytest

from bot.i18n import load_catalogs
from bot.intake.answers import MAX_TEXT, first_number, interpret, normalize, normalize_phone
from bot.intake.program import load_program
from bot.intake.questions import CHOICE, QUESTIONS, SKIPPED
from tests.conftest import PROJECT_ROOT

SV = load_catalogs(PROJECT_ROOT / "locales").get("sv")
PROGRAM = load_program(PROJECT_ROOT / "program.yml")


def got(answer):
    """What an answer says: its value and kept text (how it was understood is not compared)."""
    return None if answer is None else (answer.value, answer.free_text)


def want(value, free_text=None):
    return (value, free_text)


def ask(key: str, text: str = "", **kwargs):
    """interpret() as the intake form calls it, with the Swedish catalogue."""
    question = QUESTIONS[key]
    kwargs.setdefault("labels", SV.option_labels(key) if question.kind == CHOICE else {})
    kwargs.setdefault("yes_words", SV.words("words_yes"))
    kwargs.setdefault("no_words", SV.words("words_no"))
    if key == "municipality":
        kwargs.setdefault("place_to_municipality", PROGRAM.municipality_of)
    return interpret(question, text, **kwargs)


# -- normalize ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Värmdö", "varmdo"),
        ("  SALTSJÖBADEN!  ", "saltsjobaden"),
        ("Ingarö.", "ingaro"),
        ("Ganska   bra", "ganska bra"),
        ("Straße", "strasse"),
        ("٣٤", "34"),  # Arabic-Indic digits
        ("۳۴", "34"),  # Persian (extended Arabic-Indic) digits
        ("٠٧٠", "070"),
        ("jag är ۲۵ år", "jag ar 25 ar"),
        ("می\u200cخواهم", "می خواهم"),  # zero-width non-joiner becomes a word break
        ("a\u200db", "a b"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_zero_width_non_joiner_matches_a_label_written_with_a_space():
    labels = {"basic": "کمی بلد\u200cام", "good": "خوب"}
    assert got(ask("swedish_level", "کمی بلد ام", labels=labels)) == want("basic")
    labels = {"basic": "کمی بلد ام", "good": "خوب"}
    assert got(ask("swedish_level", "کمی بلد\u200cام", labels=labels)) == want("basic")


@pytest.mark.parametrize("raw, number", [("jag är 34 år", 34), ("٣٤", 34), ("۱۷ سال", 17), ("inget", None)])
def test_first_number(raw, number):
    assert first_number(raw) == number


# -- tapped choices and skipping ------------------------------------------------------------

def test_tapped_choice_code():
    assert got(ask("municipality", "/choose", choice="nacka")) == want("nacka")
    assert got(ask("age_band", "", choice="25_34")) == want("25_34")
    # a tapped code wins over whatever text came with it
    assert got(ask("swedish_level", "Bra", choice="none")) == want("none")


def test_tapped_code_of_another_question_is_not_understood():
    assert ask("municipality", "", choice="25_34") is None
    assert ask("name", "", choice="varmdo") is None


def test_skip_intent_and_skip_button():
    assert got(ask("age_band", "hoppa över", intent="skip")) == want(SKIPPED)
    assert ask("age_band", "hoppa över", intent="skip").skipped
    assert got(ask("goals", "", intent="skip")) == want(SKIPPED)
    assert got(ask("phone", "", choice=SKIPPED)) == want(SKIPPED)


def test_consent_cannot_be_skipped():
    assert ask("consent_data", "hoppa över", intent="skip") is None
    assert ask("consent_health", "", choice=SKIPPED) is None


# -- typed labels and numbers ---------------------------------------------------------------

@pytest.mark.parametrize(
    "key, typed, code",
    [
        ("municipality", "Värmdö", "varmdo"),
        ("municipality", "varmdo", "varmdo"),
        ("municipality", "VARMDO", "varmdo"),
        ("municipality", "Annan kommun", "other"),
        ("swedish_level", "Lite", "basic"),
        ("swedish_level", "lite!", "basic"),
        ("swedish_level", "ganska bra", "everyday"),
        ("swedish_level", "Bra", "good"),
        ("swedish_level", "inte alls", "none"),
        ("housing", "Hos släkt eller vänner", "family_friends"),
        ("housing", "hos slakt eller vanner", "family_friends"),
        ("housing", "andra hand", "sublet"),
        ("support", "forsorjningsstod", "income_support"),
        ("preferred_times", "Förmiddag", "morning"),
        ("preferred_times", "eftermidag", "afternoon"),  # a small typo
        ("digital_help", "bankid", "bankid_only"),
        ("schooling", "Inga år", "0"),
        ("phq_1", "Nästan varje dag", "3"),
        ("phq_1", "nastan varje dag", "3"),
    ],
)
def test_typed_label(key, typed, code):
    assert got(ask(key, typed)) == want(code)


@pytest.mark.parametrize(
    "key, typed, code",
    [
        ("swedish_level", "1", "none"),
        ("swedish_level", "2", "basic"),
        ("swedish_level", "4", "good"),
        ("swedish_level", "٢", "basic"),
        ("housing", "5", "homeless"),
        ("phq_1", "1", "0"),  # the first option, "Inte alls"
        ("phq_1", "4", "3"),
    ],
)
def test_typed_number_is_the_nth_option(key, typed, code):
    assert got(ask(key, typed)) == want(code)


@pytest.mark.parametrize("key, typed", [("swedish_level", "0"), ("swedish_level", "5"), ("housing", "6")])
def test_typed_number_out_of_range_is_not_understood(key, typed):
    assert ask(key, typed) is None


@pytest.mark.parametrize(
    "typed, code",
    [
        ("jag är 34 år", "25_34"),
        ("34", "25_34"),
        ("17", "under_18"),
        ("18", "18_24"),
        ("64", "55_64"),
        ("65", "65_plus"),
        ("٣٤", "25_34"),
        ("۱۷", "under_18"),
    ],
)
def test_age_as_a_number(typed, code):
    assert got(ask("age_band", typed)) == want(code)


@pytest.mark.parametrize("typed", ["150", "-"])
def test_impossible_age_is_not_understood(typed):
    assert ask("age_band", typed) is None


@pytest.mark.parametrize("typed, code", [("0", "0"), ("6 år", "1_6"), ("12", "10_12"), ("14", "13_plus")])
def test_school_years_as_a_number(typed, code):
    assert got(ask("schooling", typed)) == want(code)


def test_school_years_in_words_are_not_understood():
    assert ask("schooling", "nio år") is None


def test_typed_age_label_under_18():
    assert got(ask("age_band", "Under 18 år")) == want("under_18")


def test_typed_schooling_label_more_than_12():
    assert got(ask("schooling", "Mer än 12 år")) == want("13_plus")


# -- places and "other" ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "typed, code",
    [
        ("Gustavsberg", "varmdo"),
        ("jag bor i Gustavsberg", "varmdo"),
        ("Ingarö", "varmdo"),
        ("Saltsjöbaden", "nacka"),
        ("Rinkeby", "stockholm"),
        ("skarholmen", "stockholm"),
    ],
)
def test_place_names_give_the_municipality_and_keep_the_text(typed, code):
    assert got(ask("municipality", typed)) == want(code, free_text=typed)


def test_place_names_need_the_place_lookup():
    assert got(ask("municipality", "Gustavsberg", place_to_municipality=None)) == want("other", free_text="Gustavsberg")


def test_other_keeps_the_free_text():
    assert got(ask("municipality", "Uppsala")) == want("other", free_text="Uppsala")
    assert got(ask("support", "Pengar från kyrkan")) == want("other", free_text="Pengar från kyrkan")
    long_text = "Uppsala " * 100
    answer = ask("municipality", long_text)
    assert answer.value == "other" and len(answer.free_text) == MAX_TEXT


def test_questions_without_other_do_not_guess():
    assert ask("housing", "i en båt") is None
    assert ask("municipality", "x") is None  # too short to keep as "other"


# -- yes and no -----------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["ja", "Ja!", "JA", "japp", "okej", "gärna", "garna", "Ja, det får ni"])
def test_yes_words(typed):
    assert got(ask("consent_data", typed)) == want("yes")


@pytest.mark.parametrize("typed", ["nej", "Nej.", "nej tack", "nää", "no"])
def test_no_words(typed):
    assert got(ask("consent_data", typed)) == want("no")


def test_affirm_and_deny_intents():
    assert got(ask("consent_health", "absolut inte tveksam", intent="affirm")) == want("yes")
    assert got(ask("consent_health", "hmm", intent="deny")) == want("no")
    assert got(ask("interpreter", "ja")) == want("yes")


def test_unclear_yes_no_is_not_understood():
    assert ask("consent_data", "kanske") is None


# A refusal that repeats words of the "yes" label must never be read as consent.
@pytest.mark.parametrize(
    "key, typed",
    [
        ("consent_data", "Nej, det får ni inte"),  # "No, you may not": shares "det", "får" with "Ja, det får ni"
        ("consent_data", "Det får ni inte"),
        ("consent_health", "fråga inte"),  # "do not ask": shares "fråga" with "Ja, fråga"
    ],
)
def test_a_refusal_is_never_read_as_consent(key, typed):
    assert got(ask(key, typed)) in (None, want("no"))


def test_a_refusal_is_never_read_as_consent_with_other_labels():
    labels = {"yes": "Yes, you may", "no": "No"}
    assert got(ask("consent_data", "No, you may not", labels=labels, no_words=["no", "nope"])) in (None, want("no"))


def test_no_own_contract_is_not_homeless():
    assert got(ask("housing", "jag har inget eget kontrakt")) != want("homeless")


def test_yes_words_do_not_apply_to_other_questions():
    # physical_limits has a "no" option but no "yes": "ja" must not become an answer code
    assert ask("physical_limits", "ja") is None
    assert ask("physical_limits", "ja", intent="affirm") is None


# -- phone numbers --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "typed",
    ["070-123 45 67", "0701234567", "+46 70 123 45 67", "+46701234567", "0046 70 123 45 67", "٠٧٠١٢٣٤٥٦٧"],
)
def test_swedish_mobile_numbers_become_e164(typed):
    assert got(ask("phone", typed)) == want("+46701234567")


def test_landline_number():
    assert normalize_phone("08-570 470 00") == "+46857047000"


@pytest.mark.parametrize("typed", ["hej", "123", "070-123", "+46 70 123 45 67 89 00 11", "/choose"])
def test_garbage_phone_numbers_are_not_understood(typed):
    assert ask("phone", typed) is None
    assert normalize_phone(typed) is None


def test_phone_region_is_used_for_national_numbers():
    assert normalize_phone("0701234567", "SE") == "+46701234567"
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


# -- free text ------------------------------------------------------------------------------

def test_text_questions_keep_the_text():
    assert got(ask("goals", "Jag vill jobba i ett kök.")) == want("Jag vill jobba i ett kök.", free_text="Jag vill jobba i ett kök.")
    assert got(ask("name", "  Amina  ")) == want("Amina", free_text="Amina")


def test_text_is_truncated():
    answer = ask("work_kind", "å" * (MAX_TEXT + 50))
    assert answer.value == "å" * MAX_TEXT
    assert answer.free_text == "å" * MAX_TEXT


@pytest.mark.parametrize("typed", ['/choose{"choice":"yes"}', "/skip", "  /choose"])
def test_text_questions_reject_payloads(typed):
    assert ask("goals", typed) is None


@pytest.mark.parametrize("key", ["goals", "name", "phone", "municipality", "consent_data"])
@pytest.mark.parametrize("typed", ["", "   ", None])
def test_empty_text_is_not_understood(key, typed):
    assert ask(key, typed) is None
