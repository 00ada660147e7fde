"""Helpers for running custom actions without a Rasa server.

A ``rasa_sdk.Tracker`` is built by hand the way Rasa sends it to the action server, the
action runs with a ``CollectingDispatcher`` and the domain of ``domain.yml``, and the tests
look at the returned events and the messages.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from bot.db.models import Base
from tests.answers import COMPLETE_ANSWERS
from tests.bot.intake.conftest import Factory
from tests.conftest import PROJECT_ROOT

with (PROJECT_ROOT / "domain.yml").open(encoding="utf-8") as _handle:
    _DOMAIN = yaml.safe_load(_handle)

SENDER = "sender-4711"


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """No test touches the project's own var/: a secret and data dir of its own.

    DATABASE_URL points at an empty, unmigrated SQLite file, so a test that does not ask for
    the ``env`` fixture fails loudly if an action unexpectedly uses the database. Tests that
    need the database use ``env`` (which overrides DATABASE_URL with a migrated one).
    """
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "isolated"))
    monkeypatch.setenv("INTAKE_SECRET", "test-secret")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'isolated' / 'no-tables.db'}")
    for name in ("INTAKE_PROGRAM_FILE", "INTAKE_LOCALES_DIR", "INTAKE_TIMEZONE", "INTAKE_PHONE_REGION", "INTAKE_ENV"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def domain() -> Dict[str, Any]:
    return copy.deepcopy(_DOMAIN)


@pytest.fixture
def make(db) -> Factory:
    """Row factories of tests/bot/intake/conftest.py on the test database."""
    return Factory(db)


# -- messages --------------------------------------------------------------------------------

def message(text: str, intent: Optional[str] = "inform", confidence: float = 0.95,
            entities: Sequence[Dict[str, Any]] = (), metadata: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The parse data of one user message."""
    parsed: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "entities": [dict(e) for e in entities],
    }
    if metadata is not None:
        parsed["metadata"] = metadata
    return parsed


def choose(code: str) -> Dict[str, Any]:
    """A tapped option button: ``/choose{"choice":"<code>"}``."""
    payload = "/choose" + json.dumps({"choice": code}, separators=(",", ":"))
    return message(payload, "choose", 1.0, [{"entity": "choice", "value": code}])


def set_language(code: str, text: Optional[str] = None, confidence: float = 0.95) -> Dict[str, Any]:
    text = text if text is not None else "/set_language" + json.dumps({"language": code}, separators=(",", ":"))
    return message(text, "set_language", confidence, [{"entity": "language", "value": code}])


def skip() -> Dict[str, Any]:
    return message("/skip", "skip", 1.0)


# -- trackers --------------------------------------------------------------------------------

def all_slots(**values: Any) -> Dict[str, Any]:
    """Every slot of the domain (None), plus requested_slot, with ``values`` filled in."""
    slots: Dict[str, Any] = {name: None for name in _DOMAIN["slots"]}
    slots["requested_slot"] = None
    for name, value in values.items():
        assert name in slots, f"unknown slot {name}"
        slots[name] = value
    return slots


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    latest: Optional[Dict[str, Any]] = None,
    *,
    sender_id: str = SENDER,
    form: Optional[str] = "intake_form",
    channel: str = "rest",
    after_user: Iterable[str] = (),
) -> Tracker:
    """A tracker as the action server receives it.

    ``latest`` is the parse data of the latest user message; its ``user`` event is the last
    event unless ``after_user`` names actions that ran after it (an interruption).
    """
    latest = latest if latest is not None else message("")
    filled = all_slots()
    filled.update(slots or {})
    now = time.time()
    events: List[Dict[str, Any]] = [
        {"event": "action", "name": "action_session_start", "timestamp": now - 10},
        {"event": "session_started", "timestamp": now - 10},
        {"event": "action", "name": "action_listen", "timestamp": now - 9},
    ]
    if form:
        events.append({"event": "active_loop", "name": form, "timestamp": now - 8})
        events.append({"event": "action", "name": form, "timestamp": now - 8})
        events.append({"event": "action", "name": "action_listen", "timestamp": now - 7})
    events.append({
        "event": "user",
        "timestamp": now - 5,
        "text": latest.get("text"),
        "parse_data": latest,
        "input_channel": channel,
        "metadata": latest.get("metadata") or {},
    })
    latest_action = "action_listen"
    for name in after_user:
        events.append({"event": "action", "name": name, "timestamp": now - 4, "policy": "RulePolicy", "confidence": 1.0})
        latest_action = name
    return Tracker(
        sender_id,
        filled,
        latest,
        events,
        False,
        None,
        {"name": form} if form else {},
        latest_action,
    )


def intake_tracker(requested: Optional[str], latest: Dict[str, Any], *, sender_id: str = SENDER,
                   channel: str = "rest", after_user: Iterable[str] = (), **slots: Any) -> Tracker:
    """Inside the intake form, ``requested`` asked, the participant just answered ``latest``.

    Defaults: Swedish, both consents given, welcomed; override with keyword arguments.
    """
    values = {"language": "sv", "welcomed": True, "consent_data": "yes", "consent_health": "yes",
              "intake_key": "intake-test"}
    values.update(slots)
    values["requested_slot"] = requested
    return make_tracker(all_slots(**values), latest, sender_id=sender_id, channel=channel, after_user=after_user)


async def run(action, tracker: Tracker, domain: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Run ``action``; return (events, messages)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return list(events), dispatcher.messages


# -- looking at results ----------------------------------------------------------------------

def slot_events(events: Iterable[Dict[str, Any]]) -> List[Tuple[str, Any]]:
    return [(e["name"], e["value"]) for e in events if e.get("event") == "slot"]


def slots_set(events: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """The slot values the events leave behind (the last event for a slot wins)."""
    return dict(slot_events(events))


def texts(messages: Iterable[Dict[str, Any]]) -> List[str]:
    return [m.get("text") for m in messages]


def table_counts(db) -> Dict[str, int]:
    """Row counts of every table of the models."""
    with db.transaction() as session:
        return {
            table.name: session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def all_rows(db, model) -> list:
    with db.transaction() as session:
        rows = list(session.execute(select(model).order_by(model.id)).scalars())
        session.expunge_all()
        return rows


# -- a complete, consistent set of intake answers --------------------------------------------

FULL_ANSWERS: Dict[str, Any] = {
    **COMPLETE_ANSWERS,
    "language": "sv",
    "welcomed": True,
    "intake_key": "intake-full-1",
    "name": "Amina",
    "work_kind": "Städare på hotell",
    "interpreter_language": "somaliska",
    "answer_notes": {"support": "Pengar från min bror"},
}

QUESTION_ORDER = [
    "consent_data", "consent_health", "name", "phone", "municipality", "age_band", "swedish_level",
    "sfi_status", "schooling", "work_experience", "work_kind", "support", "care_duties", "housing",
    "phq_1", "phq_2", "phq_3", "phq_4", "physical_limits", "authority_help", "digital_help", "goals",
    "preferred_times", "interpreter", "interpreter_language",
]


def answers_before(key: str) -> Dict[str, Any]:
    """The answers of FULL_ANSWERS to every question asked before ``key`` (and nothing after)."""
    index = QUESTION_ORDER.index(key)
    later = set(QUESTION_ORDER[index:])
    return {k: v for k, v in FULL_ANSWERS.items() if k not in later and k != "answer_notes"}


# -- catalogues on disk ----------------------------------------------------------------------

LOCALES = PROJECT_ROOT / "locales"


def available_languages() -> List[Tuple[str, str, str]]:
    """(code, own name, menu prompt) of every catalogue in locales/, in the order of ORDER.

    The prompt of a right-to-left language starts with a RIGHT-TO-LEFT MARK."""
    found = {}
    for path in sorted(LOCALES.glob("*.yml")):
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle)
        mark = "\u200f" if raw["meta"].get("direction") == "rtl" else ""
        found[path.stem] = (path.stem, raw["meta"]["name"], mark + raw["messages"]["language_menu_prompt"].strip())
    order_file = LOCALES / "ORDER"
    order = order_file.read_text(encoding="utf-8").split() if order_file.exists() else []
    order = [c for c in order if c in found] + [c for c in sorted(found) if c not in order]
    return [found[c] for c in order]


def unavailable_language() -> str:
    """A language code without a catalogue: "ar" while there is no locales/ar.yml."""
    for code in ("ar", "de", "xx"):
        if not (LOCALES / f"{code}.yml").exists():
            return code
    raise AssertionError("no unavailable language code left")
