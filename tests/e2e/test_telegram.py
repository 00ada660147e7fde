"""Telegram end to end: Rasa with our channel, python-telegram-bot talking to a local Bot API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.simulate import TAPPED_ANSWERS, QuestionReader, texts
from tests.support.clients import next_id
from tests.support.gateways import update_json

pytestmark = pytest.mark.servers
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def new_chat() -> int:
    return 500_000_000 + next_id() % 400_000_000


def referral_rows(servers):
    return json.loads(servers.intake("referrals", "export", "--format", "json"))


def test_requests_without_the_secret_are_refused(servers):
    client = servers.telegram()
    chat = new_chat()
    update = update_json("text", next_id(), user_id=chat, text="hej")
    assert client.post(update, secret="wrong").status_code == 403
    assert client.post(update, secret="").status_code == 403
    assert servers.gateways.telegram.sent_texts(chat) == []


def test_a_whole_intake_on_telegram_by_tapping(servers):
    client = servers.telegram()
    chat = new_chat()
    before = len(referral_rows(servers))
    from bot.simulate import run_intake

    answers = {**TAPPED_ANSWERS, "work_kind": "Städning", "goals": "Jobba", "interpreter_language": "arabiska"}
    asked, replies = run_intake(client, str(chat), answers, first="Hej, jag vill anmäla mig")
    assert asked[:3] == ["consent_data", "consent_health", "name"]
    assert asked[-1] == "booking_session"
    # the sessions come as an inline keyboard; tapping the first books it
    sessions = [b for r in replies for b in r["buttons"] if b["payload"].startswith("/choose")]
    confirmation = client.send(str(chat), sessions[0]["payload"])
    assert "Du är bokad" in texts(confirmation)
    rows = referral_rows(servers)
    assert len(rows) == before + 1
    mine = [r for r in rows if r["channel"] == "telegram"][-1]
    assert mine["booking"]["status"] == "booked"
    assert mine["screening"] == "full"
    api = servers.gateways.telegram
    # every tap was answered, and the tapped question shows the choice without its keyboard
    assert len(api.calls("answerCallbackQuery")) >= len([a for a in asked if TAPPED_ANSWERS.get(a, "").startswith("/")])
    edits = [c for c in api.calls("editMessageText") if str(c.get("chat_id")) == str(chat)]
    assert edits and all("✓" in c["text"] and "reply_markup" not in c for c in edits)


def test_buttons_fit_telegrams_callback_data_limit(servers):
    api = servers.gateways.telegram
    for call in api.calls("sendMessage"):
        for row in (call.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                assert len(button["callback_data"].encode("utf-8")) <= 64


def test_a_redelivered_update_is_taken_once(servers):
    client = servers.telegram()
    chat = new_chat()
    update = update_json("text", next_id(), user_id=chat, text="Hej, jag vill anmäla mig")
    assert client.post(update).status_code == 200
    first = len(servers.gateways.telegram.sent_texts(chat))
    assert first >= 1
    assert client.post(update).status_code == 200
    assert client.post(update).status_code == 200
    assert len(servers.gateways.telegram.sent_texts(chat)) == first


def test_language_code_is_a_hint_for_the_first_reply(servers):
    client = servers.telegram(language_code="ar")
    chat = new_chat()
    replies = client.send(str(chat), "/start")
    reader = QuestionReader("ar")
    assert reader.asked(replies) == "consent_data", texts(replies)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "location", "contact", "document"])
def test_non_text_messages_get_a_polite_reply_in_the_chats_language(servers, kind):
    client = servers.telegram(language_code="en")
    chat = new_chat()
    client.send(str(chat), "Hello, I want to sign up please")  # the chat is in English now
    api = servers.gateways.telegram
    before = len(api.sent_texts(chat))
    assert client.post(update_json(kind, next_id(), user_id=chat, language_code="en")).status_code == 200
    replies = api.sent_texts(chat)[before:]
    assert replies == ["I can only read text. Please write your answer."]


def test_an_edited_message_is_answered_not_processed(servers):
    client = servers.telegram()
    chat = new_chat()
    client.send(str(chat), "Hej, jag vill anmäla mig")
    api = servers.gateways.telegram
    before = len(api.sent_texts(chat))
    assert client.post(update_json("edited_message", next_id(), user_id=chat, text="ja")).status_code == 200
    assert api.sent_texts(chat)[before:] == ["Jag ser inte ändrade meddelanden. Skicka ett nytt meddelande, tack."]


def test_groups_are_ignored_and_left(servers):
    client = servers.telegram()
    api = servers.gateways.telegram
    group = -100_000 - next_id() % 100_000
    assert client.post(update_json("group_text", next_id(), chat_id=group, text="hej")).status_code == 200
    assert api.sent_texts(group) == []
    assert client.post(update_json("bot_added_to_group", next_id(), chat_id=group)).status_code == 200
    assert api.sent_texts(group) == ["Jag pratar bara i enskilda chattar. Skriv direkt till mig."]
    assert any(str(c["chat_id"]) == str(group) for c in api.calls("leaveChat"))
    for kind in ("blocked", "channel_post"):
        assert client.post(update_json(kind, next_id())).status_code == 200


def test_typed_intents_are_plain_text(servers):
    """Typing '/set_language{...}' is not tapping the menu: no intent or entity can be typed in."""
    client = servers.telegram()
    chat = new_chat()
    client.send(str(chat), "Hej, jag vill anmäla mig")
    update = update_json("text", next_id(), user_id=chat, text='/set_language{"language":"uk"}')
    client.post(update).raise_for_status()
    last = servers.gateways.telegram.sent_texts(chat)[-1]
    assert "Я" not in last and "українськ" not in last.lower()
    assert QuestionReader("sv").asked([{"text": last}]) == "consent_data", last


malformed = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda d: json.dumps(d).encode(), st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10),
                                                                  max_size=4)),
    st.builds(
        lambda uid, kind, body: json.dumps({"update_id": uid, kind: body}).encode(),
        st.integers(min_value=0, max_value=2**31),
        st.sampled_from(["message", "edited_message", "callback_query", "my_chat_member", "channel_post", "poll"]),
        st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                     lambda children: st.lists(children, max_size=3) | st.dictionaries(
                         st.sampled_from(["chat", "id", "type", "from", "text", "data", "message", "date",
                                          "message_id", "is_bot", "first_name", "new_chat_member", "status"]),
                         children, max_size=5),
                     max_leaves=15),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=malformed)
def test_fuzzed_updates_never_make_a_server_error(servers, body):
    import requests

    reply = requests.post(servers.webhook("telegram"), data=body, timeout=60,
                          headers={"X-Telegram-Bot-Api-Secret-Token": "e2e-telegram-secret",
                                   "Content-Type": "application/json"})
    assert reply.status_code < 500, reply.text


def test_polling_mode_takes_the_same_path(servers):
    """`intake telegram poll` fetches updates and hands them to the webhook."""
    api = servers.gateways.telegram
    env = dict(servers.env)
    poller = subprocess.Popen(
        [str(Path(sys.executable).parent / "intake"), "telegram", "poll", "--webhook", servers.webhook("telegram"),
         "--timeout", "1"],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        chat = new_chat()
        api.queue_update(update_json("text", next_id(), user_id=chat, text="Hej, jag vill anmäla mig"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not api.sent_texts(chat):
            time.sleep(0.2)
        said = "\n".join(api.sent_texts(chat))
        assert QuestionReader("sv").asked([{"text": said}]) == "consent_data", said
        # a tap, fetched by polling too
        question = [m for m in api.sent_messages(chat) if m.get("reply_markup")][-1]
        api.queue_update(update_json("callback_query", next_id(), user_id=chat, data="c:yes", text=question["text"],
                                     message_id=question["message_id"],
                                     inline_keyboard=question["reply_markup"]["inline_keyboard"]))
        deadline = time.monotonic() + 30
        count = len(api.sent_texts(chat))
        while time.monotonic() < deadline and len(api.sent_texts(chat)) == count:
            time.sleep(0.2)
        assert QuestionReader("sv").asked([{"text": api.sent_texts(chat)[-1]}]) == "consent_health"
        assert api.webhook.get("url", "") == ""  # polling removed any webhook first
    finally:
        os.killpg(poller.pid, signal.SIGTERM)
        try:
            poller.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(poller.pid, signal.SIGKILL)


def test_a_keyboard_of_an_earlier_question_answers_nothing(servers):
    """Typed past a question, then its old button tapped: the current question is not answered."""
    client = servers.telegram()
    api = servers.gateways.telegram
    chat = new_chat()
    client.send(str(chat), "Hej, jag vill anmäla mig")
    consent = [m for m in api.sent_messages(chat) if m.get("reply_markup")][-1]
    client.send(str(chat), "ja")  # consent typed, not tapped; the health question comes
    client.send(str(chat), "ja")  # health consent typed; the name question (no buttons) comes
    before = len(api.sent_texts(chat))
    update = update_json("callback_query", next_id(), user_id=chat, data="c:yes", text=consent["text"],
                         message_id=consent["message_id"], inline_keyboard=consent["reply_markup"]["inline_keyboard"])
    assert client.post(update).status_code == 200
    assert len(api.sent_texts(chat)) == before  # nothing answered, nothing asked again
    assert any(c.get("message_id") == consent["message_id"] for c in api.calls("editMessageReplyMarkup"))
    # the name question still waits for its answer
    replies = client.send(str(chat), "Amina")
    assert QuestionReader("sv").asked(replies) == "phone", texts(replies)
