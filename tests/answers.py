"""One complete, consistent set of intake answers (slot values) shared by the tests."""

from bot.intake.questions import SKIPPED

COMPLETE_ANSWERS = {
    "consent_data": "yes",
    "consent_health": "yes",
    "name": "Amina Hassan",
    "phone": "+46701234567",
    "municipality": "varmdo",
    "age_band": "25_34",
    "swedish_level": "basic",
    "sfi_status": "paused",
    "schooling": "7_9",
    "work_experience": "home_country",
    "work_kind": "Sömmerska i tio år",
    "support": "other",
    "care_duties": "children",
    "housing": "sublet",
    "phq_1": "2",
    "phq_2": "2",
    "phq_3": "1",
    "phq_4": "1",
    "physical_limits": "some",
    "authority_help": SKIPPED,
    "digital_help": "bankid_only",
    "goals": "Jobba med barn",
    "preferred_times": "morning",
    "interpreter": "yes",
    "interpreter_language": "Somaliska",
}
