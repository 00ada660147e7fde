"""The intake form: validate_intake_form and the action_ask_<question> actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from actions.forms import ASK_ACTIONS, INVALID, ActionAskLanguage, ValidateIntakeForm
from bot.db.models import ConsentRecord, FunnelEvent, Participant
from bot.intake.funnel import conversation_key
from bot.intake.participants import CONSENT_TEXT_VERSION, pseudonym
from bot.intake.questions import QUESTIONS, SKIPPED
from rasa_sdk.executor import CollectingDispatcher
from tests.actions.conftest import (
    QUESTION_ORDER,
    SENDER,
    all_rows,
    all_slots,
    answers_before,
    choose,
    intake_tracker,
    make_tracker,
    message,
    run,
    set_language,
    skip,
    slot_events,
    slots_set,
    table_counts,
    texts,
    unavailable_language,
)

NOT_UNDERSTOOD = "Jag förstod inte. Tryck på ett svar eller skriv en siffra."
NOT_UNDERSTOOD_YES_NO = "Svara ja eller nej, tack."
NOT_UNDERSTOOD_PHONE = "Numret ser inte rätt ut. Skriv till exempel 070 123 45 67."
NOT_UNDERSTOOD_TEXT = "Skriv ditt svar med egna ord."
HEALTH_SKIPPED = "Okej. Vi frågar inte om din hälsa."
HEALTH_KEYS = ["phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"]


async def validate(tracker, domain):
    return await run(ValidateIntakeForm(), tracker, domain)


def at(key, latest, **slots):
    """The form asked ``key``; every earlier question is answered; ``latest`` is the reply."""
    values = {k: None for k in QUESTION_ORDER[QUESTION_ORDER.index(key):]}
    values.update(answers_before(key))
    if key == "consent_data":
        values["intake_key"] = None
    values.update(slots)
    return intake_tracker(key, latest, **values)


def ask_action(key):
    matches = [cls for cls in ASK_ACTIONS if cls().name() == f"action_ask_{key}"]
    assert len(matches) == 1
    return matches[0]()


async def required(tracker, domain):
    form = ValidateIntakeForm()
    return await form.required_slots(form.domain_slots(domain), CollectingDispatcher(), tracker, domain)


# -- reading answers ---------------------------------------------------------------------------

async def test_tapped_choice_fills_the_slot_and_requests_the_next_question(domain):
    events, messages = await validate(at("age_band", choose("25_34")), domain)

    assert slots_set(events) == {"age_band": "25_34", "requested_slot": "swedish_level"}
    assert messages == []


async def test_typed_age_is_read_as_its_band(domain):
    events, messages = await validate(at("age_band", message("jag är 34 år")), domain)

    assert slots_set(events) == {"age_band": "25_34", "requested_slot": "swedish_level"}
    assert messages == []


@pytest.mark.parametrize(
    "key, text, expected",
    [
        ("municipality", "Nacka", "nacka"),
        ("swedish_level", "lite", "basic"),
        ("housing", "jag bor hos min bror", "family_friends"),
        ("schooling", "9", "7_9"),
        ("phq_1", "Nästan varje dag", "3"),
        ("preferred_times", "2", "afternoon"),
    ],
)
async def test_typed_labels_words_and_numbers(domain, key, text, expected):
    events, _ = await validate(at(key, message(text)), domain)

    assert slots_set(events)[key] == expected


async def test_unreadable_answer_asks_again_and_keeps_nothing_of_the_text(domain):
    events, messages = await validate(at("age_band", message("blablabla")), domain)

    assert texts(messages) == [NOT_UNDERSTOOD]
    assert slots_set(events) == {"age_band": None, "requested_slot": "age_band"}
    values = [value for _, value in slot_events(events)]
    assert "blablabla" not in values
    assert INVALID not in values


@pytest.mark.parametrize(
    "key, text, error",
    [
        ("consent_data", "kanske", NOT_UNDERSTOOD_YES_NO),
        ("phone", "123", NOT_UNDERSTOOD_PHONE),
        ("name", "/choose{\"choice\":\"yes\"}", NOT_UNDERSTOOD_TEXT),
    ],
)
async def test_error_message_fits_the_kind_of_question(domain, key, text, error):
    events, messages = await validate(at(key, message(text)), domain)

    assert texts(messages) == [error]
    assert slots_set(events)[key] is None
    assert slots_set(events)["requested_slot"] == key


async def test_phone_is_stored_in_e164(domain):
    events, messages = await validate(at("phone", message("070-123 45 67")), domain)

    assert slots_set(events) == {"phone": "+46701234567", "requested_slot": "municipality"}
    assert messages == []


async def test_free_text_answer_is_kept_as_written(domain):
    events, _ = await validate(at("goals", message("Jag vill jobba i ett kök")), domain)

    assert slots_set(events) == {"goals": "Jag vill jobba i ett kök", "requested_slot": "preferred_times"}


async def test_skip_gives_skipped(domain):
    events, messages = await validate(at("swedish_level", skip()), domain)

    assert slots_set(events) == {"swedish_level": SKIPPED, "requested_slot": "sfi_status"}
    assert messages == []


async def test_consent_cannot_be_skipped(domain):
    events, messages = await validate(at("consent_data", skip()), domain)

    assert texts(messages) == [NOT_UNDERSTOOD_YES_NO]
    assert slots_set(events) == {"consent_data": None, "requested_slot": "consent_data"}


# -- interruptions -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "intent, text",
    [
        ("stop", "stopp"),
        ("help", "hjälp"),
        ("talk_to_human", "jag vill prata med en människa"),
        ("change_language", "språk"),
    ],
)
@pytest.mark.parametrize("key", ["consent_data", "phone", "municipality", "age_band", "goals"])
async def test_confident_interruption_sets_no_slot_so_the_form_is_rejected(domain, intent, text, key):
    # a question answered in one's own words needs a near-certain request (bot.safety.interruptions)
    confidence = 0.96 if key in ("phone", "goals") else 0.6
    events, messages = await validate(at(key, message(text, intent, confidence)), domain)

    assert [name for name, _ in slot_events(events)] == ["requested_slot"]
    assert slots_set(events)["requested_slot"] == key
    assert messages == []


async def test_a_name_the_classifier_takes_for_a_request_is_the_name(domain):
    events, _ = await validate(at("name", message("Sara", "help", 0.76)), domain)

    assert slots_set(events)["name"] == "Sara"


async def test_unsure_interruption_is_read_as_an_answer(domain):
    # below the confidence threshold a free-text question takes the text as its answer
    events, _ = await validate(at("goals", message("hjälp andra", "help", 0.59)), domain)

    assert slots_set(events)["goals"] == "hjälp andra"


async def test_firm_answer_wins_over_a_guessed_interruption(domain):
    events, messages = await validate(at("authority_help", message("ibland", "help", 0.7)), domain)

    assert slots_set(events) == {"authority_help": "sometimes", "requested_slot": "digital_help"}
    assert messages == []


async def test_other_option_does_not_win_over_an_interruption(domain):
    # "hjälp" would fall back to municipality "other", which is no firm answer
    events, _ = await validate(at("municipality", message("hjälp", "help", 0.8)), domain)

    assert "municipality" not in slots_set(events)


@pytest.mark.parametrize("interruption", ["action_help", "action_talk_to_human", "action_ask_language"])
async def test_after_an_interruption_the_old_message_is_not_read_again(domain, interruption):
    tracker = intake_tracker("age_band", choose("25_34"), after_user=[interruption], **answers_before("age_band"))

    events, messages = await validate(tracker, domain)

    assert "age_band" not in slots_set(events)
    assert slots_set(events).get("requested_slot") == "age_band"
    assert messages == []


async def test_nothing_is_read_when_the_form_is_not_active(domain):
    tracker = make_tracker(all_slots(**answers_before("age_band"), requested_slot="age_band"), choose("25_34"),
                           form=None)

    events, _ = await validate(tracker, domain)

    assert "age_band" not in slots_set(events)


# -- consent -----------------------------------------------------------------------------------

async def test_consent_yes_stores_a_pseudonymous_participant_and_a_data_consent(env, db, domain):
    tracker = intake_tracker("consent_data", message("ja", "affirm"), intake_key=None, consent_data=None,
                             consent_health=None, channel="telegram")

    events, messages = await validate(tracker, domain)

    values = slots_set(events)
    assert values["consent_data"] == "yes"
    assert re.fullmatch(r"[0-9a-f]{32}", values["intake_key"])
    assert values["requested_slot"] == "consent_health"
    assert messages == []

    participants = all_rows(db, Participant)
    assert len(participants) == 1
    participant = participants[0]
    assert participant.pseudonym == pseudonym(b"test-secret", "telegram", SENDER)
    assert participant.channel == "telegram"
    assert participant.language == "sv"
    with db.transaction() as session:
        row = session.execute(select(Participant.__table__)).one()
    assert all(SENDER not in str(value) for value in row), "the sender id is stored in clear"

    consents = all_rows(db, ConsentRecord)
    assert [(c.participant_id, c.scope, c.given, c.language, c.text_version) for c in consents] == [
        (participant.id, "data", True, "sv", CONSENT_TEXT_VERSION)
    ]


async def test_consent_yes_keeps_an_existing_intake_key(env, db, domain):
    tracker = intake_tracker("consent_data", message("ja, det får ni"), intake_key="abc123", consent_data=None,
                             consent_health=None)

    events, _ = await validate(tracker, domain)

    assert slots_set(events)["intake_key"] == "abc123"


@pytest.mark.parametrize("answer", [message("nej", "deny"), message("nej tack"), choose("no")])
async def test_consent_no_stores_nothing_and_ends_the_questions(env, db, domain, answer):
    tracker = intake_tracker("consent_data", answer, intake_key=None, consent_data=None, consent_health=None)

    events, messages = await validate(tracker, domain)

    values = slots_set(events)
    assert values["consent_data"] == "no"
    assert values.get("intake_key") is None
    assert values["requested_slot"] is None  # the form is done
    assert messages == []
    counts = table_counts(db)
    funnel = counts.pop("funnel_events")
    assert set(counts.values()) == {0}
    # the funnel counts that a conversation stopped at consent, and nothing links it to the person
    assert funnel == 1
    with db.transaction() as session:
        kept = session.execute(select(FunnelEvent)).scalar_one()
    assert kept.step == "answered:consent_data"
    assert kept.conversation != conversation_key(b"test-secret", "rest", tracker.sender_id)
    assert await required(tracker, domain) == ["language", "consent_data"]


async def test_consent_health_no_records_a_refusal_and_skips_the_health_questions(env, db, domain):
    first = intake_tracker("consent_data", message("ja"), intake_key=None, consent_data=None, consent_health=None)
    events, _ = await validate(first, domain)
    intake_key = slots_set(events)["intake_key"]

    second = intake_tracker("consent_health", message("nej", "deny"), consent_data="yes", intake_key=intake_key,
                            consent_health=None)
    events, messages = await validate(second, domain)

    assert texts(messages) == [HEALTH_SKIPPED]
    assert slots_set(events) == {"consent_health": "no", "requested_slot": "name"}
    participants = all_rows(db, Participant)
    assert len(participants) == 1
    consents = all_rows(db, ConsentRecord)
    assert [(c.participant_id, c.scope, c.given) for c in consents] == [
        (participants[0].id, "data", True),
        (participants[0].id, "health", False),
    ]
    after = await required(second, domain)
    assert not set(HEALTH_KEYS) & set(after)
    assert after[:4] == ["language", "consent_data", "consent_health", "name"]


async def test_consent_health_yes_records_consent_and_asks_health_questions(env, db, domain):
    tracker = intake_tracker("consent_health", choose("yes"), consent_health=None)

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"consent_health": "yes", "requested_slot": "name"}
    assert messages == []
    assert [(c.scope, c.given) for c in all_rows(db, ConsentRecord)] == [("health", True)]
    keys = await required(tracker, domain)
    start = keys.index("housing") + 1
    assert keys[start:start + 5] == HEALTH_KEYS
    assert keys[start + 5] == "authority_help"


@pytest.mark.parametrize("health, asked", [("yes", True), ("no", False), (None, False)])
async def test_health_questions_only_with_health_consent(domain, health, asked):
    tracker = intake_tracker("name", message(""), consent_health=health)

    keys = await required(tracker, domain)

    assert all((key in keys) is asked for key in HEALTH_KEYS)


async def test_required_slots_follow_the_answers(domain):
    tracker = intake_tracker("name", message(""), work_experience="none", interpreter="no")
    keys = await required(tracker, domain)
    assert "work_kind" not in keys and "interpreter_language" not in keys

    tracker = intake_tracker("name", message(""), work_experience="both", interpreter="yes")
    keys = await required(tracker, domain)
    assert keys.index("work_kind") == keys.index("work_experience") + 1
    assert keys[-1] == "interpreter_language"


async def test_phone_not_asked_when_the_channel_gives_the_number(domain):
    with_phone = intake_tracker("name", message(""), channel_phone="+46701234567")
    without = intake_tracker("name", message(""))

    assert "phone" not in await required(with_phone, domain)
    assert "phone" in await required(without, domain)

    events, _ = await validate(at("name", message("Amina"), channel_phone="+46701234567"), domain)
    assert slots_set(events) == {"name": "Amina", "requested_slot": "municipality"}


# -- languages inside the form -----------------------------------------------------------------

async def test_language_named_in_a_message_switches_language_and_goes_on(domain):
    latest = set_language("en", text="kan vi skriva på engelska?")

    events, messages = await validate(at("age_band", latest), domain)

    assert slots_set(events) == {"language": "en", "requested_slot": "age_band"}
    assert texts(messages) == ["I will write in English now."]


async def test_unavailable_language_keeps_the_current_one_and_says_so(domain):
    events, messages = await validate(at("age_band", set_language(unavailable_language(), text="arabiska")), domain)

    assert slots_set(events) == {"language": "sv", "requested_slot": "age_band"}
    assert texts(messages) == ["Det språket finns inte än. Välj ett språk i listan."]


async def test_interpreter_language_answer_does_not_switch_the_chat_language(domain):
    values = answers_before("interpreter_language")
    values.update(interpreter="yes", channel_phone="+46701234567", phone=None)
    tracker = intake_tracker("interpreter_language", set_language("ar", text="arabiska"), **values)

    events, messages = await validate(tracker, domain)

    result = slots_set(events)
    assert result["interpreter_language"] == "arabiska"
    assert result.get("language", "sv") == "sv"
    assert result["requested_slot"] is None
    assert messages == []


async def test_language_menu_button_at_interpreter_language_switches_the_chat_language(domain):
    values = answers_before("interpreter_language")
    values.update(interpreter="yes", channel_phone="+46701234567", phone=None)
    tracker = intake_tracker("interpreter_language", set_language("en"), **values)

    events, messages = await validate(tracker, domain)

    assert slots_set(events).get("language") == "en"
    assert "interpreter_language" not in slots_set(events) or slots_set(events)["interpreter_language"] is None
    assert NOT_UNDERSTOOD_TEXT not in texts(messages)


async def test_place_name_gives_the_municipality_and_keeps_the_text(domain):
    tracker = at("municipality", message("jag bor i Gustavsberg"), answer_notes={"support": "från min bror"})

    events, messages = await validate(tracker, domain)

    result = slots_set(events)
    assert result["municipality"] == "varmdo"
    assert result["answer_notes"] == {"support": "från min bror", "municipality": "jag bor i Gustavsberg"}
    assert result["requested_slot"] == "age_band"
    assert messages == []


async def test_other_municipality_keeps_the_typed_name(domain):
    events, _ = await validate(at("municipality", message("Göteborg")), domain)

    result = slots_set(events)
    assert result["municipality"] == "other"
    assert result["answer_notes"] == {"municipality": "Göteborg"}


# -- the language menu as the first question ---------------------------------------------------

@pytest.mark.parametrize(
    "latest, expected",
    [
        (set_language("en"), "en"),
        (set_language("sv"), "sv"),
        (message("2"), "en"),
        (message("Svenska"), "sv"),
        (message("english"), "en"),
    ],
)
async def test_language_menu_answer_sets_the_language(domain, latest, expected):
    tracker = make_tracker(all_slots(requested_slot="language"), latest)

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"language": expected, "requested_slot": "consent_data"}
    assert messages == []


async def test_language_menu_unreadable_answer_asks_again(domain):
    tracker = make_tracker(all_slots(requested_slot="language"), message("qwerty"))

    events, messages = await validate(tracker, domain)

    assert slots_set(events) == {"language": None, "requested_slot": "language"}
    assert texts(messages) == [NOT_UNDERSTOOD]


@pytest.mark.parametrize("intent, text", [("stop", "stopp"), ("help", "hjälp")])
async def test_language_menu_interruption_sets_no_slot(domain, intent, text):
    tracker = make_tracker(all_slots(requested_slot="language"), message(text, intent, 0.95))

    events, messages = await validate(tracker, domain)

    assert [name for name, _ in slot_events(events)] == ["requested_slot"]
    assert messages == []


# -- asking ------------------------------------------------------------------------------------

def choose_payload(code):
    return '/choose{"choice":"' + code + '"}'


async def test_ask_municipality_in_swedish(domain):
    tracker = intake_tracker("municipality", message(""))

    events, messages = await run(ask_action("municipality"), tracker, domain)

    assert events == []
    assert len(messages) == 1
    assert messages[0]["text"] == "Var bor du? Tryck eller skriv kommun eller område."
    assert messages[0]["buttons"] == [
        {"title": "Värmdö", "payload": choose_payload("varmdo")},
        {"title": "Nacka", "payload": choose_payload("nacka")},
        {"title": "Stockholm", "payload": choose_payload("stockholm")},
        {"title": "Annan kommun", "payload": choose_payload("other")},
        {"title": "Hoppa över", "payload": "/skip"},
    ]


@pytest.mark.parametrize("key", [k for k, q in QUESTIONS.items() if q.kind == "choice"])
async def test_every_choice_question_has_a_button_per_option(domain, key):
    question = QUESTIONS[key]
    tracker = intake_tracker(key, message(""))

    _, messages = await run(ask_action(key), tracker, domain)

    buttons = messages[-1]["buttons"]
    payloads = [b["payload"] for b in buttons]
    expected = [choose_payload(code) for code in question.options]
    if question.skippable:
        expected.append("/skip")
    assert payloads == expected
    assert all(b["title"] for b in buttons)
    assert ("Hoppa över" in [b["title"] for b in buttons]) is question.skippable


async def test_ask_consent_data_welcomes_once(domain):
    tracker = intake_tracker("consent_data", message(""), welcomed=None, consent_data=None)

    events, messages = await run(ask_action("consent_data"), tracker, domain)

    assert slots_set(events) == {"welcomed": True}
    assert len(messages) == 2
    welcome, question = messages
    assert welcome["text"].startswith("Hej och välkommen!\nHär kan du anmäla dig till "
                                      "Steg ett – arbetsförberedande aktivitet.")
    assert "Värmdö kommun och Föreningen Vägen In gör aktiviteten tillsammans." in welcome["text"]
    assert question["text"].startswith("Först vill vi fråga om lov.")
    assert "personal på Föreningen Vägen In ser dem" in question["text"]
    assert "Vi sparar svaren i högst 24 månader." in question["text"]
    assert question["text"].endswith("Får vi spara dina svar?")
    assert question["buttons"] == [
        {"title": "Ja, det får ni", "payload": choose_payload("yes")},
        {"title": "Nej", "payload": choose_payload("no")},
    ]

    again = intake_tracker("consent_data", message(""), welcomed=True, consent_data=None)
    events, messages = await run(ask_action("consent_data"), again, domain)
    assert events == []
    assert len(messages) == 1
    assert messages[0]["text"].startswith("Först vill vi fråga om lov.")


async def test_ask_consent_health_has_no_skip_button(domain):
    _, messages = await run(ask_action("consent_health"), intake_tracker("consent_health", message("")), domain)

    assert messages[0]["text"].endswith("Får vi fråga om din hälsa?")
    assert messages[0]["buttons"] == [
        {"title": "Ja, fråga", "payload": choose_payload("yes")},
        {"title": "Nej, hoppa över", "payload": choose_payload("no")},
    ]


async def test_ask_text_question_offers_only_skip(domain):
    _, messages = await run(ask_action("name"), intake_tracker("name", message("")), domain)

    assert len(messages) == 1
    assert messages[0]["text"] == "Vad vill du att vi kallar dig? Du behöver inte svara."
    assert messages[0]["buttons"] == [{"title": "Hoppa över", "payload": "/skip"}]


async def test_ask_in_english(domain):
    tracker = intake_tracker("consent_data", message(""), language="en", welcomed=None, consent_data=None)

    events, messages = await run(ask_action("consent_data"), tracker, domain)

    assert slots_set(events) == {"welcomed": True}
    assert messages[0]["text"].startswith("Hello and welcome!\nHere you can sign up for Steg ett")
    assert messages[1]["text"].startswith("First we want to ask for your permission.")
    assert "We save the answers for 24 months at the most." in messages[1]["text"]
    assert [b["title"] for b in messages[1]["buttons"]] == ["Yes, you may", "No"]

    _, messages = await run(ask_action("municipality"), intake_tracker("municipality", message(""), language="en"),
                            domain)
    assert messages[0]["text"] == "Where do you live? Tap, or type your municipality or area."
    assert [b["title"] for b in messages[0]["buttons"]] == ["Värmdö", "Nacka", "Stockholm", "Another municipality",
                                                           "Skip"]


async def test_unknown_language_slot_falls_back_to_swedish(domain):
    _, messages = await run(ask_action("age_band"), intake_tracker("age_band", message(""), language="xx"), domain)

    assert messages[0]["text"] == "Hur gammal är du?"


async def test_every_intake_question_has_an_ask_action_in_the_domain(domain):
    names = {cls().name() for cls in ASK_ACTIONS} | {ActionAskLanguage().name()}
    assert names == {f"action_ask_{key}" for key in QUESTIONS} | {"action_ask_language"}
    assert names <= set(domain["actions"])


# -- resuming the form -------------------------------------------------------------------------

def activation_tracker(slots, domain, sender_id=SENDER):
    """The tracker Rasa sends to validate_intake_form when the form is activated again ("hej"
    after "stopp", or in a new session with carried-over slots): the slots filled before are
    sent as slot candidates after the form's action event (rasa.core.actions.forms
    FormAction.activate and validate_slots; checked against Rasa 3.6's FormAction)."""
    tracker = make_tracker(all_slots(**slots), message("hej", "greet"), sender_id=sender_id)
    tracker.events.append({"event": "slot", "name": "requested_slot", "value": None})
    tracker.events.append({"event": "action", "name": "intake_form"})
    required = domain["forms"]["intake_form"]["required_slots"]
    tracker.events.extend({"event": "slot", "name": k, "value": v} for k, v in slots.items()
                          if v is not None and k in required)
    tracker.latest_action_name = "intake_form"
    return tracker


async def consent_given(domain, health):
    """Both consent questions answered through the form; returns the intake key."""
    first = intake_tracker("consent_data", message("ja"), intake_key=None, consent_data=None, consent_health=None)
    events, _ = await validate(first, domain)
    intake_key = slots_set(events)["intake_key"]
    second = intake_tracker("consent_health", message(health), intake_key=intake_key, consent_health=None)
    await validate(second, domain)
    return intake_key


def resumed_slots(intake_key, health):
    slots = answers_before("age_band")
    slots.update(intake_key=intake_key, consent_health=health, requested_slot=None)
    return slots


async def test_resuming_the_form_reads_no_answer_from_the_greeting(env, db, domain):
    intake_key = await consent_given(domain, "ja")

    events, _ = await validate(activation_tracker(resumed_slots(intake_key, "yes"), domain), domain)

    result = slots_set(events)
    assert result["requested_slot"] == "age_band"
    assert result["consent_data"] == "yes" and result["intake_key"] == intake_key
    assert "age_band" not in result


async def test_resuming_the_form_does_not_record_consent_again(env, db, domain):
    intake_key = await consent_given(domain, "ja")
    assert [(c.scope, c.given) for c in all_rows(db, ConsentRecord)] == [("data", True), ("health", True)]

    await validate(activation_tracker(resumed_slots(intake_key, "yes"), domain), domain)

    assert [(c.scope, c.given) for c in all_rows(db, ConsentRecord)] == [("data", True), ("health", True)]


async def test_resuming_the_form_does_not_repeat_the_health_refusal(env, db, domain):
    intake_key = await consent_given(domain, "nej")

    _, messages = await validate(activation_tracker(resumed_slots(intake_key, "no"), domain), domain)

    assert messages == []
