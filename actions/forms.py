"""The intake form: language, consent, then the screening questions of bot/intake/questions.py.

One generic extraction reads the answer to whatever question was asked (a tapped button, a
typed label, a number, a place, yes/no words); anything it cannot read gets a polite
"I did not understand" and the same question again.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    INTERRUPT_CONFIDENCE,
    ask,
    catalog_of,
    channel_of,
    channel_slots,
    common_values,
    first_contact_language,
    funnel_key,
    in_transaction,
    is_interruption,
    language_of,
    latest_entity,
    latest_intent,
    participant_of,
    program,
    record_funnel,
    say,
    settings,
    short_intake,
)
from actions.language import (
    read_language_choice,
    send_language_menu,
    switch_language,
    switch_offer,
)
from bot.intake.answers import interpret
from bot.intake.funnel import answered as answered_step
from bot.intake.funnel import record_step, unlink_conversation
from bot.intake.participants import record_consent
from bot.intake.questions import (
    CHOICE,
    INTAKE_QUESTIONS,
    PHONE,
    QUESTIONS,
    TEXT,
    Question,
    next_questions,
)

INVALID = "__invalid__"
logger = logging.getLogger(__name__)
PASSTHROUGH_SLOTS = ("language", "answer_notes", "languages_offered", "channel_phone")


def _error_key(question: Question) -> str:
    if question.kind == PHONE:
        return "not_understood_phone"
    if question.kind == TEXT:
        return "not_understood_text"
    if set(question.options) == {"yes", "no"}:
        return "not_understood_yes_no"
    return "not_understood"


def answers_latest_message(tracker: Tracker, form_name: str) -> bool:
    """True when the form runs straight after the participant's message.

    After an interruption (help, a language change ...) the form runs again to repeat its
    question; the message that caused the interruption is then not an answer.
    """
    passive = {"action_listen", "action_extract_slots", form_name, f"validate_{form_name}"}
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return True
        if event.get("event") == "action" and event.get("name") not in passive:
            return False
    return False


def just_answered(tracker: Tracker, key: str) -> bool:
    """True when ``key`` was the question asked; False when Rasa re-checks a filled slot
    (the form starting again after "stopp", or a new session), which must not repeat side effects."""
    return tracker.get_slot("requested_slot") == key


def read_answer(question: Question, tracker: Tracker) -> Optional[Dict[Text, Any]]:
    """Slot values for the answer in the latest message: the value, or INVALID.

    None when the message is not an answer but a request (stop, help, a language ...): a
    firm answer ("ibland" to a choice question) wins over a guessed request.
    """
    catalog = catalog_of(tracker)
    intent, _confidence = latest_intent(tracker)
    prog = program()
    answer = interpret(
        question,
        tracker.latest_message.get("text") or "",
        choice=latest_entity(tracker, "choice") if intent == "choose" else None,
        intent=intent,
        labels=catalog.option_labels(question.key) if question.kind == CHOICE else {},
        also=catalog.option_words(question.key) if question.kind == CHOICE else {},
        yes_words=catalog.words("words_yes"),
        no_words=catalog.words("words_no"),
        place_to_municipality=prog.municipality_of if question.key == "municipality" else None,
        phone_region=settings().phone_region,
    )
    names_language = question.names_language and intent == "set_language"
    free_text = question.kind in (TEXT, PHONE)
    if is_interruption(tracker, free_text) and not names_language and not (answer is not None and answer.firm):
        return None
    if answer is None:
        return {question.key: INVALID}
    extracted: Dict[Text, Any] = {question.key: answer.value}
    if answer.free_text and question.kind == CHOICE:
        notes = dict(tracker.get_slot("answer_notes") or {})
        notes[question.key] = answer.free_text
        extracted["answer_notes"] = notes
    return extracted


def consent_wording(tracker: Tracker, key: str) -> str:
    """The consent question exactly as the participant was shown it."""
    return catalog_of(tracker).question_text(key).format(**common_values())


class QuestionFormValidation(FormValidationAction, ABC):
    """Generic extraction for the question a form asked last. Abstract: not registered."""

    @abstractmethod
    def name(self) -> Text:
        ...

    def form_questions(self) -> Dict[str, Question]:
        return QUESTIONS

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        requested = tracker.get_slot("requested_slot")
        question = self.form_questions().get(requested)
        if not answers_latest_message(tracker, self.form_name()):
            return []
        if requested is not None and tracker.active_loop.get("name") != self.form_name():
            return []
        from_channel = [SlotSet(key, value) for key, value in channel_slots(tracker).items()]
        if requested is None:  # the form starts: answer a first message in its language
            found = None if tracker.get_slot("language") else first_contact_language(tracker)
            if self.form_name() == "intake_form":
                await record_funnel(tracker, "started")
            return from_channel + ([SlotSet("language", found)] if found else [])
        events = self.extract_answer(requested, question, dispatcher, tracker)
        if question is not None and any(
            e.get("name") == question.key and e.get("value") not in (None, INVALID) for e in events
        ):
            await record_funnel(tracker, answered_step(question.key))
        return from_channel + events

    def extract_answer(
        self, requested: str, question: Optional[Question], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> List[EventType]:
        intent, confidence = latest_intent(tracker)
        wanted = latest_entity(tracker, "language") if intent == "set_language" else None
        tapped = (tracker.latest_message.get("text") or "").startswith("/")
        # "arabiska" answers "which language for the interpreter?"; a tapped menu button never does
        if wanted is not None and (tapped or not (question is not None and question.names_language)):
            return switch_language(wanted, dispatcher, tracker)
        if requested == "language":
            return read_language_choice(dispatcher, tracker)
        if question is None:
            return []
        if intent == "change_answer" and confidence >= INTERRUPT_CONFIDENCE:
            return self.go_back(requested, dispatcher, tracker)
        values = self.read(question, tracker)
        if values is None:  # a request (stop, help ...): Rasa's rules take it
            return []
        # not a name: "Amina" says nothing about the language the participant wants
        if values.get(question.key) == INVALID or (question.kind == TEXT and question.key != "name"):
            # not an answer we could read, or free text: is it another language?
            offer = switch_offer(dispatcher, tracker)
            if offer is not None:
                return offer
        return [SlotSet(key, value) for key, value in values.items()]

    def read(self, question: Question, tracker: Tracker) -> Optional[Dict[Text, Any]]:
        return read_answer(question, tracker)

    def go_back(self, requested: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """ "That was wrong": forget the answer given last, so that its question comes again."""
        keys = [q for q in self.form_questions() if q not in ("consent_data", "consent_health")]
        answered = [k for k in keys[: keys.index(requested)] if tracker.get_slot(k) is not None] if requested in keys else []
        say(dispatcher, catalog_of(tracker), "change_answer_again")
        if not answered:
            return [SlotSet(requested, None)]
        return [SlotSet(answered[-1], None)]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        events = []
        for key, value in tracker.slots_to_validate().items():
            if value == INVALID:
                question = self.form_questions()[key]
                say(dispatcher, catalog_of(tracker), _error_key(question))
                events.append(SlotSet(key, None))
        tracker.add_slots(events)
        validated = events + await super().get_validation_events(dispatcher, tracker, domain)
        # slots that go with an answer but are no question of this form are kept as extracted
        names = {e["name"] for e in validated}
        for key in PASSTHROUGH_SLOTS:
            if key in tracker.slots_to_validate() and key not in names:
                validated.append(SlotSet(key, tracker.get_slot(key)))
        return validated


class ValidateIntakeForm(QuestionFormValidation):
    def name(self) -> Text:
        return "validate_intake_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        prog = program()
        only = prog.short_intake_questions if short_intake(tracker) else None
        return ["language"] + next_questions(tracker.slots, only=only)

    async def validate_consent_data(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        intake_key = tracker.get_slot("intake_key") or uuid.uuid4().hex
        if value != "yes":
            if value == "no" and just_answered(tracker, "consent_data"):
                conversation = funnel_key(tracker)
                try:
                    await in_transaction(lambda session: unlink_conversation(session, conversation))
                except Exception:  # noqa: BLE001 - statistics must never stop the conversation
                    logger.warning("funnel steps of a declined consent were not unlinked", exc_info=True)
            return {"consent_data": value}
        if not just_answered(tracker, "consent_data"):
            return {"consent_data": value, "intake_key": intake_key}
        language, channel = language_of(tracker), channel_of(tracker)
        wording, version = consent_wording(tracker, "consent_data"), program().consent_version

        def store(session):
            participant = participant_of(session, tracker)
            record_consent(session, participant, "data", True, language, version, wording)
            record_step(session, funnel_key(tracker), "consented", channel, language)

        await in_transaction(store)
        return {"consent_data": "yes", "intake_key": intake_key}

    async def validate_consent_health(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value not in ("yes", "no") or not just_answered(tracker, "consent_health"):
            return {"consent_health": value}
        language = language_of(tracker)
        wording, version = consent_wording(tracker, "consent_health"), program().consent_version

        def store(session):
            participant = participant_of(session, tracker)
            record_consent(session, participant, "health", value == "yes", language, version, wording)

        await in_transaction(store)
        if value == "no":
            say(dispatcher, catalog_of(tracker), "health_skipped")
        return {"consent_health": value}


class AskQuestionAction(Action, ABC):
    """Asks one intake question. Subclasses are made below, one per question."""

    @property
    @abstractmethod
    def question_key(self) -> str:
        """The key of the question; a plain class attribute in each subclass."""

    def name(self) -> Text:
        return f"action_ask_{self.question_key}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        question = QUESTIONS[self.question_key]
        events: List[EventType] = []
        if question.key == "consent_data" and not tracker.get_slot("welcomed"):
            say(dispatcher, catalog, "welcome")
            events.append(SlotSet("welcomed", True))
        ask(dispatcher, catalog, question)
        return events


def _make_ask_action(key: str) -> type:
    class_name = "Ask" + "".join(part.capitalize() for part in key.split("_"))
    return type(class_name, (AskQuestionAction,), {"question_key": key, "__module__": __name__})


ASK_ACTIONS = [_make_ask_action(q.key) for q in INTAKE_QUESTIONS]


class ActionAskLanguage(Action):
    def name(self) -> Text:
        return "action_ask_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        send_language_menu(dispatcher)
        return []
