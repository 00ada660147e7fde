"""Drive an intake over the REST channel by answering whichever question the assistant asks."""

from __future__ import annotations

from typing import Dict, List, Optional

from bot.i18n import load_catalogs
from bot.config import PROJECT_ROOT
from tests.e2e.conftest import Servers, texts

SWEDISH = load_catalogs(PROJECT_ROOT / "locales").get("sv")
BOOKING = "booking_session"


def asked(replies: List[Dict]) -> Optional[str]:
    """The key of the question in the replies (the last one asked), if any."""
    said = texts(replies)
    found = None
    for key in SWEDISH.questions:
        if SWEDISH.question_text(key).format(provider="", retention_months="").split("\n")[-1] in said:
            found = key
    return found


def run_intake(servers: Servers, sender: str, answers: Dict[str, str], first: str = "hej",
               language: str = "sv", stop_at: Optional[str] = None, limit: int = 40):
    """Answer questions from ``answers`` until none is asked, the booking question is, or ``stop_at`` is.

    Returns (questions asked in order, the last replies).
    """
    replies = servers.send(sender, first)
    assert "Välj språk" in texts(replies)
    replies = servers.send(sender, '/set_language{"language":"%s"}' % language)
    seen: List[str] = []
    for _ in range(limit):
        key = asked(replies)
        if key is None or key == stop_at:
            return seen, replies
        seen.append(key)
        if key == BOOKING:  # the intake is done; the caller books
            return seen, replies
        assert key in answers, f"no answer for {key}: {texts(replies)}"
        replies = servers.send(sender, answers[key])
    raise AssertionError("the intake did not end")


BASE_ANSWERS = {
    "consent_data": "ja",
    "consent_health": "ja",
    "name": "Sara",
    "phone": "0701234567",
    "municipality": "Gustavsberg",
    "age_band": "41",
    "swedish_level": '/choose{"choice":"basic"}',
    "sfi_status": '/choose{"choice":"ongoing"}',
    "schooling": "9",
    "work_experience": '/choose{"choice":"none"}',
    "support": '/choose{"choice":"income_support"}',
    "care_duties": "nej",
    "housing": '/choose{"choice":"own_contract"}',
    "phq_1": "1",
    "phq_2": "1",
    "phq_3": "1",
    "phq_4": "1",
    "physical_limits": "nej",
    "authority_help": "ofta",
    "digital_help": "ja båda",
    "goals": "Lära mig svenska och jobba",
    "preferred_times": "förmiddag",
    "interpreter": "nej",
}
