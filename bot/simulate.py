"""A scripted participant that does a whole intake over the REST channel (tests, benchmarks)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import requests

from bot.config import PROJECT_ROOT
from bot.i18n import load_catalogs

BOOKING = "booking_session"

# Answers a participant in Värmdö might give, typed or tapped.
SWEDISH_ANSWERS: Dict[str, str] = {
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


# Answers that read the same in every language: buttons tapped, numbers, a phone number.
TAPPED_ANSWERS: Dict[str, str] = {
    "consent_data": '/choose{"choice":"yes"}',
    "consent_health": '/choose{"choice":"yes"}',
    "name": "Amina",
    "phone": "0701234567",
    "municipality": '/choose{"choice":"varmdo"}',
    "age_band": '/choose{"choice":"25_34"}',
    "swedish_level": '/choose{"choice":"basic"}',
    "sfi_status": '/choose{"choice":"ongoing"}',
    "schooling": '/choose{"choice":"1_6"}',
    "work_experience": '/choose{"choice":"home_country"}',
    "support": '/choose{"choice":"income_support"}',
    "care_duties": '/choose{"choice":"children"}',
    "housing": '/choose{"choice":"sublet"}',
    "phq_1": '/choose{"choice":"1"}',
    "phq_2": '/choose{"choice":"2"}',
    "phq_3": '/choose{"choice":"1"}',
    "phq_4": '/choose{"choice":"0"}',
    "physical_limits": '/choose{"choice":"no"}',
    "authority_help": '/choose{"choice":"often"}',
    "digital_help": '/choose{"choice":"bankid_only"}',
    "preferred_times": '/choose{"choice":"morning"}',
    "interpreter": '/choose{"choice":"yes"}',
}


def texts(replies: List[Dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def buttons(replies: List[Dict]) -> List[Dict]:
    return [b for r in replies for b in r.get("buttons") or []]


@dataclass
class RestClient:
    url: str  # http://host:port/webhooks/rest/webhook
    timeout: float = 60.0
    latencies: List[float] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, sender: str, message: str, metadata: Optional[Dict] = None) -> List[Dict]:
        body = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        started = time.perf_counter()
        response = self.session.post(self.url, json=body, timeout=self.timeout)
        self.latencies.append(time.perf_counter() - started)
        response.raise_for_status()
        return response.json()


class QuestionReader:
    """Finds which question a reply asks, by the catalogue's question texts.

    ``sms``: the catalogue's SMS texts, sent as the SMS channel sends them (GSM-7 where possible).
    """

    def __init__(self, language: str = "sv", sms: bool = False) -> None:
        catalog = load_catalogs(PROJECT_ROOT / "locales").get(language)
        self.catalog = catalog.for_sms() if sms else catalog
        self.sms = sms

    def asks(self, key: str, said: str) -> bool:
        from bot.channels.sms_text import to_gsm

        last_line = self.catalog.question_text(key).split("\n")[-1]
        fragments = [f.strip() for f in re.split(r"\{[^}]*\}", last_line) if f.strip()]
        if self.sms:
            fragments = [to_gsm(f) for f in fragments]
        return bool(fragments) and all(f in said for f in fragments)

    def asked(self, replies: List[Dict]) -> Optional[str]:
        said = texts(replies)
        found = None
        for key in self.catalog.questions:
            if self.asks(key, said):
                found = key
        return found


def run_intake(client, sender: str, answers: Dict[str, str], first: str = "hej",
               language: str = "sv", stop_at: Optional[str] = None, limit: int = 40, sms: bool = False):
    """Answer the questions asked until none is, the booking question is, or ``stop_at`` is.

    ``client`` has ``send(sender, text) -> replies``: the REST client, or a channel's (tests).
    Returns (the question keys asked, in order; the last replies).
    """
    reader = QuestionReader(language, sms=sms)
    replies = client.send(sender, first)
    if any(b["payload"].startswith("/set_language") for b in buttons(replies)):  # the language menu
        replies = client.send(sender, '/set_language{"language":"%s"}' % language)
    seen: List[str] = []
    for _ in range(limit):
        key = reader.asked(replies)
        if key is None or key == stop_at:
            return seen, replies
        seen.append(key)
        if key == BOOKING:
            return seen, replies
        if key not in answers:
            raise KeyError(f"no answer for {key}: {texts(replies)}")
        replies = client.send(sender, answers[key])
    raise RuntimeError("the intake did not end")


def book_first_free(client: RestClient, sender: str, replies: List[Dict]) -> List[Dict]:
    sessions = [b for b in buttons(replies) if b["payload"].startswith("/choose")]
    return client.send(sender, sessions[0]["payload"])
