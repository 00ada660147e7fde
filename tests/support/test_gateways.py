"""The local API stand-ins, driven by the real client libraries where we have them."""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
import types

import pytest
import requests
from telegram import (
    Bot,
    BotCommand,
    ChatMemberBanned,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
)
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from tests.support.gateways import (
    UPDATE_KINDS,
    ElksApi,
    TelegramBotApi,
    TwilioApi,
    UploadedFile,
    sms_parts,
    update_json,
)

CHAT = 111222333


@pytest.fixture
def telegram_api():
    with TelegramBotApi() as api:
        yield api


@pytest.fixture
def elks_api():
    with ElksApi() as api:
        yield api


@pytest.fixture
def twilio_api():
    with TwilioApi() as api:
        yield api


def make_bot(api: TelegramBotApi, token: str | None = None) -> Bot:
    return Bot(token or api.token, base_url=api.base_url, base_file_url=api.base_file_url)


# --------------------------------------------------------------------------- life cycle


def test_starts_on_a_free_port_and_stops_cleanly():
    api = TelegramBotApi()
    with api:
        other = TwilioApi().start()
        other_url = other.root_url
        try:
            assert api.port != other.port
            assert requests.get(f"{api.base_url}{api.token}/getMe", timeout=5).json()["ok"] is True
        finally:
            other.stop()
    assert not api.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{other_url}/", timeout=2)


def test_stop_does_not_wait_out_a_long_poll(telegram_api):
    url = f"{telegram_api.base_url}{telegram_api.token}/getUpdates"
    poller = threading.Thread(target=requests.post, args=(url,), kwargs={"data": {"timeout": 30}})
    poller.start()
    telegram_api.wait_for(lambda: telegram_api.calls("getUpdates"))
    started = time.monotonic()
    telegram_api.stop()
    poller.join(timeout=5)
    assert time.monotonic() - started < 1.5


# --------------------------------------------------------------------------- Telegram via PTB


async def test_ptb_bot_round_trip(telegram_api):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="yes"),
                                      InlineKeyboardButton("Nej", callback_data="no")]])
    async with make_bot(telegram_api) as bot:  # initialize() calls getMe
        assert bot.username == "intake_test_bot"
        me = await bot.get_me()
        assert me.is_bot and me.id == 123456789 and me.first_name == "Intake Assistant"

        sent = await bot.send_message(CHAT, "Vill du fortsätta?", reply_markup=keyboard)
        assert sent.text == "Vill du fortsätta?"
        assert sent.chat.id == CHAT and sent.chat.type == "private"
        assert sent.from_user.id == bot.id
        assert sent.reply_markup == keyboard
        second = await bot.send_message(CHAT, "Andra")
        assert second.message_id > sent.message_id and second.reply_markup is None

        assert await bot.answer_callback_query("cbq-1", text="Tack!") is True
        edited = await bot.edit_message_text("Du valde ja", chat_id=CHAT, message_id=sent.message_id)
        assert edited.text == "Du valde ja" and edited.reply_markup is None  # keyboard removed
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("Du valde ja", chat_id=CHAT, message_id=sent.message_id)
        again = await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=keyboard)
        assert again.reply_markup == keyboard
        assert await bot.send_chat_action(CHAT, "typing") is True

        assert await bot.set_webhook("https://bot.example.org/telegram", secret_token="s3cret_T-1",
                                     allowed_updates=["message", "callback_query"]) is True
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example.org/telegram"
        assert list(info.allowed_updates) == ["message", "callback_query"]
        with pytest.raises(Conflict):
            await bot.get_updates()
        with pytest.raises(BadRequest, match="(?i)https url"):
            await bot.set_webhook("http://bot.example.org/telegram")
        assert await bot.delete_webhook() is True
        assert (await bot.get_webhook_info()).url == ""

        assert await bot.set_my_commands([BotCommand("start", "Börja om")], language_code="sv")
        assert await bot.set_my_commands([BotCommand("start", "Start over")])
        assert [c.description for c in await bot.get_my_commands(language_code="sv")] == ["Börja om"]
        assert [c.description for c in await bot.get_my_commands()] == ["Start over"]
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Start", "capitals are not allowed")])
        assert await bot.leave_chat(-987654321) is True

    # What went over the wire: form fields, JSON-valued ones decoded by calls().
    [first, _] = telegram_api.calls("sendMessage")
    assert first == {"chat_id": CHAT, "text": "Vill du fortsätta?", "reply_markup": {
        "inline_keyboard": [[{"text": "Ja", "callback_data": "yes"},
                             {"text": "Nej", "callback_data": "no"}]]}}
    raw = next(r for r in telegram_api.requests if r.endpoint == "sendMessage")
    assert raw.method == "POST" and raw.path == f"/bot{telegram_api.token}/sendMessage"
    assert raw.headers["content-type"] == "application/x-www-form-urlencoded"
    assert raw.raw_params["chat_id"] == str(CHAT) and raw.raw_params["reply_markup"].startswith("{")
    assert telegram_api.calls("answerCallbackQuery") == [{"callback_query_id": "cbq-1", "text": "Tack!"}]
    assert telegram_api.calls("setWebhook")[0]["secret_token"] == "s3cret_T-1"
    assert telegram_api.calls("setMyCommands")[0] == {
        "commands": [{"command": "start", "description": "Börja om"}], "language_code": "sv"}
    assert telegram_api.commands(language_code="sv") == [{"command": "start", "description": "Börja om"}]
    assert telegram_api.sent_texts() == ["Vill du fortsätta?", "Andra"]
    assert telegram_api.sent_texts(chat_id=42) == []


async def test_get_updates_offset_and_long_poll(telegram_api):
    for update_id in (1, 2, 3):
        telegram_api.queue_update(update_json("text", update_id, text=f"meddelande {update_id}"))
    async with make_bot(telegram_api) as bot:
        assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]
        assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]  # 1 and 2 confirmed
        assert [u["update_id"] for u in telegram_api.pending_updates()] == [3]
        assert await bot.get_updates(offset=4) == ()

        started = time.monotonic()
        assert await bot.get_updates(offset=4, timeout=10) == ()  # waits min(10, 1) s
        assert 0.9 <= time.monotonic() - started < 2.5

        asyncio.get_running_loop().call_later(
            0.2, telegram_api.queue_update, update_json("callback_query", 4, data="lang:sv"))
        started = time.monotonic()
        [update] = await bot.get_updates(offset=4, timeout=10)  # woken by the queued update
        assert time.monotonic() - started < 0.9
        assert update.callback_query.data == "lang:sv"
        assert update.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data == "lang:sv"
    assert [c.get("offset") for c in telegram_api.calls("getUpdates")] == [None, 3, 4, 4, 4]
    assert telegram_api.calls("getUpdates")[-1]["timeout"] == 10


async def test_wrong_token_and_unknown_method_via_ptb(telegram_api):
    with pytest.raises(InvalidToken):
        async with make_bot(telegram_api, token="987654321:wrong") as bot:
            await bot.get_me()
    async with make_bot(telegram_api) as bot:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod", api_kwargs={"chat_id": CHAT})


def test_wrong_token_and_unknown_method_error_shapes(telegram_api):
    reply = requests.post(f"{telegram_api.base_url}987654321:wrong/getMe", timeout=5)
    assert (reply.status_code, reply.json()) == (401, {"ok": False, "error_code": 401,
                                                       "description": "Unauthorized"})
    reply = requests.post(f"{telegram_api.base_url}{telegram_api.token}/noSuchMethod", timeout=5)
    assert (reply.status_code, reply.json()) == (404, {"ok": False, "error_code": 404,
                                                       "description": "Not Found"})


async def test_fail_next_simulates_an_outage(telegram_api):
    telegram_api.fail_next("sendMessage", 2)
    async with make_bot(telegram_api) as bot:
        for _ in range(2):
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.send_message(CHAT, "hej")
        await bot.send_message(CHAT, "hej")
    assert len(telegram_api.calls("sendMessage")) == 3
    assert [r.status for r in telegram_api.requests if r.endpoint == "sendMessage"] == [502, 502, 200]
    assert telegram_api.sent_texts(CHAT) == ["hej"]


async def test_blocked_user_is_forbidden(telegram_api):
    telegram_api.queue_update(update_json("blocked", 1))
    async with make_bot(telegram_api) as bot:
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(CHAT, "hej")
        telegram_api.unblock(CHAT)
        message = await bot.send_message(CHAT, "hej")
    assert message.chat.first_name == "Alex"  # the chat as seen in the queued update


def test_form_json_and_multipart_bodies_are_parsed(telegram_api):
    url = f"{telegram_api.base_url}{telegram_api.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    r1 = requests.post(url, json={"chat_id": 5, "text": "123", "reply_markup": markup}, timeout=5)
    r2 = requests.post(url, files={"chat_id": (None, "5"), "text": (None, "true"),
                                   "thumbnail": ("t.jpg", b"\xff\xd8", "image/jpeg")}, timeout=5)
    assert r1.json()["result"]["reply_markup"] == markup and r2.json()["ok"]
    first, second = telegram_api.calls("sendMessage")
    assert first == {"chat_id": 5, "text": "123", "reply_markup": markup}
    assert second["chat_id"] == 5 and second["text"] == "true"
    assert second["thumbnail"] == UploadedFile("t.jpg", "image/jpeg", b"\xff\xd8")


@pytest.mark.parametrize("kind", UPDATE_KINDS)
def test_update_json_parses_as_ptb_update(kind):
    bot = Bot("123456789:unused")
    update = Update.de_json(update_json(kind, 7, text="/start" if kind == "text" else None), bot)
    assert update.update_id == 7
    assert update.effective_chat is not None
    if kind == "channel_post":
        assert update.channel_post.chat.type == "channel" and update.effective_user is None
        return
    assert update.effective_user.id == 111222333 and update.effective_user.language_code == "sv"
    expected = {
        "text": lambda u: u.message.text == "/start" and u.message.entities[0].type == "bot_command",
        "callback_query": lambda u: u.callback_query.data == "yes"
        and u.callback_query.message.reply_markup.inline_keyboard[0][0].callback_data == "yes",
        "sticker": lambda u: u.message.sticker.emoji == "👍",
        "photo": lambda u: u.message.photo[-1].width == 1280,
        "voice": lambda u: u.message.voice.mime_type == "audio/ogg",
        "location": lambda u: round(u.message.location.latitude, 2) == 59.33,
        "contact": lambda u: u.message.contact.user_id == 111222333,
        "document": lambda u: u.message.document.file_name == "intyg.pdf",
        "edited_message": lambda u: u.edited_message.edit_date is not None,
        "group_text": lambda u: u.message.chat.type == "group" and u.message.chat.id < 0,
        "bot_added_to_group": lambda u: isinstance(u.my_chat_member.new_chat_member, ChatMemberMember)
        and u.my_chat_member.chat.type == "group"
        and u.my_chat_member.new_chat_member.user.is_bot,
        "blocked": lambda u: isinstance(u.my_chat_member.new_chat_member, ChatMemberBanned)
        and u.my_chat_member.chat.type == "private",
    }
    assert expected[kind](update)


def test_update_json_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="unknown update kind"):
        update_json("poll", 1)


# --------------------------------------------------------------------------- 46elks


def test_elks_sends_an_sms(elks_api):
    auth = (elks_api.username, elks_api.password)
    reply = requests.post(f"{elks_api.base_url}/a1/sms", auth=auth, timeout=5, data={
        "from": "Intake", "to": "+46701234567", "message": "Hej! Välkommen.",
        "whendelivered": "https://bot.example.org/elks/dlr"})
    assert reply.status_code == 200
    body = reply.json()
    assert re.fullmatch(r"s[0-9a-f]{32}", body["id"])
    assert {k: body[k] for k in ("status", "direction", "from", "to", "message", "parts", "cost")} == {
        "status": "created", "direction": "outgoing", "from": "Intake", "to": "+46701234567",
        "message": "Hej! Välkommen.", "parts": 1, "cost": 5200}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", body["created"])

    long_text = "x" * 161
    reply = requests.post(elks_api.sms_url, auth=auth, timeout=5,
                          data={"from": "+46700000000", "to": "+46701234567", "message": long_text})
    assert (reply.json()["parts"], reply.json()["cost"]) == (sms_parts(long_text), 2 * 5200)
    dry = requests.post(elks_api.sms_url, auth=auth, timeout=5, data={
        "from": "Intake", "to": "+46701234567", "message": "🙂", "dryrun": "yes"})
    assert dry.json()["estimated_cost"] == 5200 and "id" not in dry.json()
    assert [(s["to"], s["from"], s["message"], s["parts"]) for s in elks_api.sent()] == [
        ("+46701234567", "Intake", "Hej! Välkommen.", 1), ("+46701234567", "+46700000000", long_text, 2)]
    assert elks_api.sent()[0]["whendelivered"] == "https://bot.example.org/elks/dlr"


def test_elks_rejects_bad_auth_bad_numbers_and_can_fail(elks_api):
    form = {"from": "Intake", "to": "+46701234567", "message": "Hej"}
    assert requests.post(elks_api.sms_url, data=form, timeout=5).status_code == 401
    wrong = requests.post(elks_api.sms_url, auth=(elks_api.username, "nope"), data=form, timeout=5)
    assert wrong.status_code == 401

    auth = (elks_api.username, elks_api.password)
    bad = requests.post(elks_api.sms_url, auth=auth, data={**form, "to": "0701234567"}, timeout=5)
    assert (bad.status_code, bad.text) == (403, "Invalid to number")
    missing = requests.post(elks_api.sms_url, auth=auth, data={"to": "+46701234567"}, timeout=5)
    assert (missing.status_code, missing.text) == (403, "Missing key from")

    elks_api.fail_next(1)
    assert requests.post(elks_api.sms_url, auth=auth, data=form, timeout=5).status_code == 503
    assert requests.post(elks_api.sms_url, auth=auth, data=form, timeout=5).status_code == 200
    assert len(elks_api.sent()) == 1
    assert [r.status for r in elks_api.requests] == [401, 401, 403, 403, 503, 200]


def test_sms_parts_counts_gsm7_and_ucs2():
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2
    assert sms_parts("å" * 160) == 1  # å is in GSM-7
    assert sms_parts("€" * 80) == 1 and sms_parts("€" * 81) == 2  # extension characters count twice
    assert sms_parts("ж" * 70) == 1 and sms_parts("ж" * 71) == 2


def test_sms_parts_uses_the_projects_counter_when_it_exists(monkeypatch):
    class Count:
        parts = 7

    fake = types.ModuleType("bot.channels.sms_text")
    fake.count_segments = lambda text: Count()
    monkeypatch.setitem(sys.modules, "bot.channels.sms_text", fake)
    assert sms_parts("hej") == 7


# --------------------------------------------------------------------------- Twilio via twilio-python


def test_twilio_sync_client(twilio_api):
    client = Client(twilio_api.account_sid, twilio_api.auth_token)
    client.api.base_url = twilio_api.base_url  # the whole redirection (no edge/region set)
    message = client.messages.create(to="+46701234567", from_="+46700000000", body="Hej från Twilio",
                                     status_callback="https://bot.example.org/twilio/status")
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.num_segments, message.direction) == ("queued", "1", "outbound-api")
    assert (message.to, message.from_, message.body) == ("+46701234567", "+46700000000", "Hej från Twilio")
    assert message.account_sid == twilio_api.account_sid and message.price is None
    assert message.error_code is None and message.date_created.tzinfo is not None
    assert message.uri == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages/{message.sid}.json"
    assert client.messages(message.sid).fetch().body == "Hej från Twilio"

    [sent] = twilio_api.sent()
    assert sent["status_callback"] == "https://bot.example.org/twilio/status"
    request = twilio_api.requests[0]
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Messages.json"
    assert request.params == {"To": "+46701234567", "From": "+46700000000", "Body": "Hej från Twilio",
                              "StatusCallback": "https://bot.example.org/twilio/status"}

    service = client.messages.create(to="+46701234567", messaging_service_sid="MG" + "0" * 32, body="x")
    assert (service.status, service.from_) == ("accepted", None)


async def test_twilio_async_client(twilio_api):
    http_client = AsyncTwilioHttpClient()
    try:
        client = twilio_api.redirect(Client(twilio_api.account_sid, twilio_api.auth_token,
                                            http_client=http_client))
        message = await client.messages.create_async(to="+46701234567", from_="+46700000000",
                                                     body="ж" * 71)
        assert message.num_segments == "2" and message.status == "queued"
        twilio_api.fail_next(1, status=503)
        with pytest.raises(TwilioRestException) as failure:
            await client.messages.create_async(to="+46701234567", from_="+46700000000", body="hej")
        assert failure.value.status == 503
    finally:
        await http_client.close()
    assert [s["body"] for s in twilio_api.sent()] == ["ж" * 71]


def test_twilio_errors(twilio_api):
    client = twilio_api.redirect(Client(twilio_api.account_sid, "wrong-token"))
    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to="+46701234567", from_="+46700000000", body="hej")
    assert (failure.value.status, failure.value.code) == (401, 20003)

    client = twilio_api.redirect(Client(twilio_api.account_sid, twilio_api.auth_token))
    with pytest.raises(TwilioRestException) as failure:
        client.messages.create(to="0701234567", from_="+46700000000", body="hej")
    assert (failure.value.status, failure.value.code) == (400, 21211)
    assert twilio_api.sent() == []
