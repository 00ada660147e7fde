"""What every action needs: settings, catalogues, the database in a worker thread, rendering."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, TypeVar
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Config
from bot.db import get_database
from bot.i18n import Catalog, Catalogs, load_catalogs
from bot.intake.participants import pseudonym
from bot.intake.program import Program, load_program
from bot.intake.questions import SKIPPED, Question

T = TypeVar("T")

# Intents that interrupt a form instead of answering its question, and how sure NLU must be.
INTERRUPT_INTENTS = frozenset({"stop", "help", "talk_to_human", "change_language"})
INTERRUPT_CONFIDENCE = 0.6


def settings() -> Config:
    return Config.from_env()


def catalogs() -> Catalogs:
    return load_catalogs(settings().locales_dir)


def program() -> Program:
    return load_program(settings().program_file)


def language_of(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    return language if language in catalogs() else "sv"


def catalog_of(tracker: Tracker) -> Catalog:
    return catalogs().get(language_of(tracker))


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def participant_key(tracker: Tracker) -> str:
    return pseudonym(settings().secret, channel_of(tracker), tracker.sender_id)


async def in_transaction(work: Callable[..., T], *args: Any) -> T:
    """Run ``work(session, *args)`` as one unit of work in a worker thread.

    The database driver is synchronous: running it here keeps the action server's event loop
    free for other participants.
    """

    def unit() -> T:
        with get_database(settings()).transaction() as session:
            return work(session, *args)

    return await asyncio.to_thread(unit)


def common_values(prog: Optional[Program] = None) -> Dict[str, Any]:
    prog = prog or program()
    activity = prog.activity
    return {
        "activity": activity.get("name", ""),
        "provider": activity.get("provider", ""),
        "municipality": activity.get("municipality", ""),
        "phone": activity.get("contact_phone", ""),
        "hours": activity.get("contact_hours", ""),
        "retention_months": activity.get("retention_months", 24),
    }


def say(dispatcher: CollectingDispatcher, catalog: Catalog, key: str, **values: Any) -> None:
    dispatcher.utter_message(text=catalog.text(key, **{**common_values(), **values}))


def choice_payload(code: str) -> str:
    return "/choose" + json.dumps({"choice": code}, ensure_ascii=False, separators=(",", ":"))


def skip_button(catalog: Catalog) -> Dict[str, str]:
    return {"title": catalog.text("button_skip"), "payload": "/skip"}


def ask(dispatcher: CollectingDispatcher, catalog: Catalog, question: Question) -> None:
    """Send one question: its text, a button per option, and "skip" where allowed."""
    text = catalog.question_text(question.key).format(**common_values())
    buttons: List[Dict[str, str]] = [
        {"title": catalog.option_label(question.key, code), "payload": choice_payload(code)}
        for code in question.options
    ]
    if question.skippable:
        buttons.append(skip_button(catalog))
    dispatcher.utter_message(text=text, buttons=buttons or None)


def latest_intent(tracker: Tracker) -> tuple:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == entity and found.get("value") is not None:
            return str(found["value"])
    return None


def is_interruption(tracker: Tracker) -> bool:
    """True when the latest message asks for something else than answering (stop, help ...)."""
    name, confidence = latest_intent(tracker)
    return name in INTERRUPT_INTENTS and confidence >= INTERRUPT_CONFIDENCE


def format_day(catalog: Catalog, when: datetime, timezone: str) -> Dict[str, str]:
    local = when.astimezone(ZoneInfo(timezone))
    weekdays = catalog.words("weekdays")
    months = catalog.words("months")
    day = catalog.text("day_format", weekday=weekdays[local.weekday()], day=local.day, month=months[local.month - 1])
    return {"day": day, "time": local.strftime("%H:%M")}


def answered(value: Any) -> bool:
    return value is not None and value != SKIPPED
