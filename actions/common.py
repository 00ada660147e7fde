"""What every action needs: settings, catalogues, the database in a worker thread, rendering."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.channels import PUSH_CHANNELS
from bot.config import PROJECT_ROOT, Config
from bot.db import in_worker_transaction
from bot.i18n import Catalog, Catalogs, format_day, load_catalogs, with_direction  # noqa: F401 - format_day: for the actions
from bot.intake.funnel import conversation_key, record_step
from bot.intake.participants import get_or_create_participant, pseudonym
from bot.intake.program import Program, load_program
from bot.intake.questions import SKIPPED, Question
from bot.language.detect import UNDETERMINED, Detection, with_context
from bot.language.model import words
from bot.language.names import language_code
from bot.safety.interruptions import interrupts_free_text
from bot.tracker import tracker_key

logger = logging.getLogger(__name__)

# Intents that interrupt a form instead of answering its question, and how sure NLU must be.
INTERRUPT_INTENTS = frozenset({
    "stop", "help", "talk_to_human", "change_language", "cancel_booking", "erase_data",
    "crisis", "show_my_data", "withdraw_consent",
})
INTERRUPT_CONFIDENCE = 0.6


def settings() -> Config:
    return Config.from_env()


def catalogs() -> Catalogs:
    return load_catalogs(settings().locales_dir)


def program() -> Program:
    return load_program(settings().program_file)


# How sure the detector must be to answer a first message in its language, or to offer a switch.
FIRST_CONTACT_CONFIDENCE = 0.9
SWITCH_CONFIDENCE = 0.97


def channel_hint(tracker: Tracker) -> Optional[str]:
    """A channel's guess at the participant's language (Telegram's language_code)."""
    metadata = tracker.latest_message.get("metadata") or {}
    code = metadata.get("language_code")
    return str(code).split("-")[0].lower() if code else None


def chosen_on_page(tracker: Tracker) -> Optional[str]:
    """A language the participant chose outside the chat (the web page's menu)."""
    metadata = tracker.latest_message.get("metadata") or {}
    code = metadata.get("language")
    return code if code in catalogs() else None


def detection(tracker: Tracker, current: Optional[str] = None) -> Detection:
    """The NLU component's detection of the latest message, weighed by context."""
    found = tracker.latest_message.get("language_detection") or {}
    return with_context(found.get("probabilities") or {}, current=current, hint=channel_hint(tracker))


def first_contact_language(tracker: Tracker) -> Optional[str]:
    """The language to answer a participant in before they chose one, if it is clear."""
    chosen = chosen_on_page(tracker)
    if chosen:
        return chosen
    found = detection(tracker)
    # one word ("hej", "salam") is often the only word someone knows of a language: show the menu
    enough = len(words(tracker.latest_message.get("text") or "")) >= 2
    if enough and found.language in catalogs() and found.confidence >= FIRST_CONTACT_CONFIDENCE:
        return found.language
    hint = channel_hint(tracker)
    if hint in catalogs() and found.language in (UNDETERMINED, hint):
        return hint
    return None


def language_of(tracker: Tracker) -> str:
    language = tracker.get_slot("language")
    if language in catalogs():
        return language
    return first_contact_language(tracker) or "sv"


def catalog_of(tracker: Tracker) -> Catalog:
    catalog = catalogs().get(language_of(tracker))
    return catalog.for_sms() if short_intake(tracker) else catalog


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def short_intake(tracker: Tracker) -> bool:
    """True on channels with the short intake and short texts (SMS, see program.yml)."""
    return program().short_intake_on(channel_of(tracker))


def channel_slots(tracker: Tracker) -> Dict[str, Any]:
    """Slots that a channel fills from what it knows: the number an SMS comes from."""
    metadata = tracker.latest_message.get("metadata") or {}
    phone = metadata.get("phone")
    if phone and tracker.get_slot("channel_phone") != phone:
        return {"channel_phone": str(phone)}
    return {}


def contact_address(tracker: Tracker) -> Optional[str]:
    """Where the assistant may write to this participant unasked: a Telegram chat id, or the
    number an SMS came from. None on the tablet and REST channels."""
    channel = channel_of(tracker)
    if channel == "telegram":
        return tracker.sender_id
    if channel in PUSH_CHANNELS:
        return tracker.get_slot("channel_phone") or (tracker.latest_message.get("metadata") or {}).get("phone")
    return None


def participant_key(tracker: Tracker) -> str:
    return pseudonym(settings().secret, channel_of(tracker), tracker.sender_id)


def tracker_key_of(tracker: Tracker) -> str:
    """The conversation's key in the tracker store (:mod:`bot.tracker`)."""
    return tracker_key(settings().secret, tracker.sender_id)


def participant_of(session, tracker: Tracker):
    """The conversation's participant, made now if needed, linked to the conversation's events."""
    return get_or_create_participant(
        session, participant_key(tracker), channel_of(tracker), language_of(tracker), tracker_key_of(tracker)
    )


def funnel_key(tracker: Tracker) -> str:
    """The conversation's anonymous key in the dashboard's funnel."""
    return conversation_key(settings().secret, channel_of(tracker), tracker.sender_id)


async def record_funnel(tracker: Tracker, *steps: str) -> None:
    """Record steps of the funnel (started, consented, answered:<question> ...), each once."""
    key, channel, language = funnel_key(tracker), channel_of(tracker), tracker.get_slot("language")

    def store(session):
        for step in steps:
            record_step(session, key, step, channel, language)

    try:
        await in_transaction(store)
    except Exception:  # noqa: BLE001 - statistics must never stop a participant's intake
        logger.warning("the funnel step %s was not recorded", ",".join(steps), exc_info=True)


# One unit of work per call, in a worker thread (see bot.db.engine.in_worker_transaction).
in_transaction = in_worker_transaction


def common_values(prog: Optional[Program] = None) -> Dict[str, Any]:
    prog = prog or program()
    activity = prog.activity
    return {
        "activity": activity.get("name", ""),
        "activity_short": activity.get("short_name") or activity.get("name", ""),
        "provider": activity.get("provider", ""),
        "municipality": activity.get("municipality", ""),
        "phone": activity.get("contact_phone", ""),
        "hours": activity.get("contact_hours", ""),
        "retention_months": activity.get("retention_months", 24),
    }


def send(dispatcher: CollectingDispatcher, catalog: Catalog, text: str, buttons: Optional[List[Dict]] = None) -> None:
    """Send a message marked with its language and direction.

    Every line of a right-to-left text starts with a RIGHT-TO-LEFT MARK (:func:`with_direction`);
    front ends of ours also get ``language`` and ``direction`` with the message.
    """
    text = with_direction(catalog, text)
    dispatcher.utter_message(text=text, buttons=buttons or None, language=catalog.code, direction=catalog.direction)


def say(dispatcher: CollectingDispatcher, catalog: Catalog, key: str, **values: Any) -> None:
    send(dispatcher, catalog, catalog.text(key, **{**common_values(), **values}))


def choice_payload(code: str) -> str:
    return "/choose" + json.dumps({"choice": code}, ensure_ascii=False, separators=(",", ":"))


def skip_button(catalog: Catalog) -> Dict[str, str]:
    return {"title": catalog.text("button_skip"), "payload": "/skip"}


def ask(dispatcher: CollectingDispatcher, catalog: Catalog, question: Question) -> None:
    """Send one question: its text, a button per option, and "skip" where allowed.

    In an SMS, a question that takes a typed number (an age) has no list of options: the
    question asks for the number, which costs fewer characters than seven age bands.
    """
    text = catalog.question_text(question.key).format(**common_values())
    typed = catalog.variant == "sms" and question.number_to_option is not None
    buttons: List[Dict[str, str]] = [
        {"title": catalog.option_label(question.key, code), "payload": choice_payload(code)}
        for code in question.options
        if not typed
    ]
    # in an SMS a typed answer (a name, an age) needs no numbered "skip": typing "skip" works
    if question.skippable and (buttons or catalog.variant != "sms"):
        buttons.append(skip_button(catalog))
    send(dispatcher, catalog, text, buttons)


def latest_intent(tracker: Tracker) -> tuple:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    for found in tracker.latest_message.get("entities") or []:
        if found.get("entity") == entity and found.get("value") is not None:
            value = str(found["value"])
            if entity == "language":  # "بالعربية", "по-українськи" -> a code when we know the name
                names = {c.code: c.name for c in catalogs().all()}
                return language_code(value, PROJECT_ROOT / "data" / "nlu", names) or value
            return value
    return None


def is_interruption(tracker: Tracker, free_text: bool = False) -> bool:
    """True when the latest message asks for something else than answering (stop, help ...).

    A crisis always interrupts (the NLU component has decided it). At a question answered in
    the participant's own words few requests interrupt (:mod:`bot.safety.interruptions`).
    """
    name, confidence = latest_intent(tracker)
    if free_text:
        return interrupts_free_text(name, confidence)
    return name == "crisis" or (name in INTERRUPT_INTENTS and confidence >= INTERRUPT_CONFIDENCE)


def answered(value: Any) -> bool:
    return value is not None and value != SKIPPED
