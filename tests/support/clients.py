"""Participants on Telegram and SMS, as the gateways would bring them (tests and benchmarks).

Each client sends what a phone would send to our webhook (a Telegram update, a 46elks form,
a Twilio form signed with the real library) and returns the assistant's replies, read back from
the gateway stand-in, in the shape of the REST channel's replies (``text``, ``buttons``), so
that :func:`bot.simulate.run_intake` drives a whole intake on any channel.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Dict, List, Optional

import requests
from twilio.request_validator import RequestValidator

from tests.support.gateways import ElksApi, TelegramBotApi, TwilioApi, update_json

_ids = itertools.count(int(time.time() * 1000) % 10**9)


def next_id() -> int:
    return next(_ids)


class TelegramClient:
    """A Telegram user in a private chat with the bot; ``send`` types or taps."""

    def __init__(self, api: TelegramBotApi, webhook: str, secret: str, language_code: Optional[str] = "sv") -> None:
        self.api = api
        self.webhook = webhook
        self.secret = secret
        self.language_code = language_code
        self.http = requests.Session()
        self.last_status = 0

    def post(self, update: Dict, secret: Optional[str] = None) -> requests.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret}
        reply = self.http.post(self.webhook, json=update, headers=headers, timeout=60)
        self.last_status = reply.status_code
        return reply

    def messages(self, chat: int) -> List[Dict]:
        return self.api.sent_messages(chat)

    def send(self, sender: str, message: str, metadata: Optional[Dict] = None) -> List[Dict]:
        """Type ``message``; a "/choose{...}" or "/set_language{...}" taps the matching button."""
        chat = int(sender)
        before = len(self.messages(chat))
        button = self.find_button(chat, message) if message.startswith("/") else None
        if button is not None:
            bot_message, data = button
            update = update_json("callback_query", next_id(), user_id=chat, data=data, text=bot_message.get("text"),
                                 message_id=bot_message["message_id"],
                                 inline_keyboard=bot_message["reply_markup"]["inline_keyboard"],
                                 language_code=self.language_code)
        else:
            update = update_json("text", next_id(), user_id=chat, text=message, language_code=self.language_code)
        self.post(update).raise_for_status()
        return [self.as_reply(m) for m in self.messages(chat)[before:]]

    def find_button(self, chat: int, payload: str):
        from bot.channels.telegram import encode_callback

        for bot_message in reversed(self.messages(chat)):
            keyboard = (bot_message.get("reply_markup") or {}).get("inline_keyboard")
            if not keyboard:
                continue
            for i, row in enumerate(keyboard):
                for button in row:
                    if button.get("callback_data") == encode_callback(payload, i):
                        return bot_message, button["callback_data"]
            return None
        return None

    @staticmethod
    def as_reply(message: Dict) -> Dict:
        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = []
        for row in keyboard:
            for button in row:
                from bot.channels.telegram import decode_callback

                buttons.append({"title": button["text"], "payload": decode_callback(button["callback_data"], []) or ""})
        return {"text": message.get("text", ""), "buttons": buttons}


class SmsClient:
    """A phone that writes SMS to the assistant's number through a gateway; ``send`` waits for the answer."""

    def __init__(self, gateway: str, webhook: str, api, *, webhook_password: str = "", auth_token: str = "",
                 our_number: str = "+46766861004", timeout: float = 30.0) -> None:
        assert gateway in ("46elks", "twilio")
        self.gateway = gateway
        self.webhook = webhook
        self.api = api  # ElksApi or TwilioApi: where our replies arrive
        self.webhook_password = webhook_password
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.our_number = our_number
        self.timeout = timeout
        self.http = requests.Session()
        self.last_status = 0

    def received(self, phone: str) -> List[str]:
        if isinstance(self.api, ElksApi):
            return [s["message"] for s in self.api.sent() if s["to"] == phone]
        assert isinstance(self.api, TwilioApi)
        return [s["body"] for s in self.api.sent() if s["to"] == phone]

    def segments(self, phone: str) -> int:
        if isinstance(self.api, ElksApi):
            return sum(int(s["parts"]) for s in self.api.sent() if s["to"] == phone)
        return sum(int(s["num_segments"]) for s in self.api.sent() if s["to"] == phone)

    def form(self, phone: str, text: str, message_id: Optional[str] = None) -> Dict[str, str]:
        if self.gateway == "46elks":
            return {"id": message_id or f"s{next_id():032x}", "from": phone, "to": self.our_number, "message": text,
                    "direction": "incoming", "created": "2026-11-24T10:00:00.000000"}
        return {"MessageSid": message_id or f"SM{next_id():032x}", "AccountSid": "AC" + "0" * 32, "From": phone,
                "To": self.our_number, "Body": text, "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
                "ApiVersion": "2010-04-01"}

    def post(self, form: Dict[str, str], authentic: bool = True, url: Optional[str] = None) -> requests.Response:
        url = url or self.webhook
        if self.gateway == "46elks":
            auth = ("intake", self.webhook_password) if authentic else ("intake", "wrong")
            reply = self.http.post(url, data=form, auth=auth, timeout=60)
        else:
            signature = self.validator.compute_signature(url, form) if authentic else "forged"
            reply = self.http.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=60)
        self.last_status = reply.status_code
        return reply

    def send(self, sender: str, message: str, metadata: Optional[Dict] = None, message_id: Optional[str] = None,
             expect_reply: bool = True) -> List[Dict]:
        before = len(self.received(sender))
        self.post(self.form(sender, message, message_id)).raise_for_status()
        if not expect_reply:
            return []
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            got = self.received(sender)
            if len(got) > before:
                time.sleep(0.05)
                return [{"text": text, "buttons": []} for text in self.received(sender)[before:]]
            time.sleep(0.02)
        raise TimeoutError(f"no SMS back to {sender} after {message!r}")


def sms_answers(language: str) -> Dict[str, str]:
    """Answers as an SMS participant types them: numbers from the lists, an age, a name."""
    return {
        "consent_data": "1",
        "name": "Amina",
        "municipality": "1",
        "age_band": "34",
        "interpreter": "1",  # 1 no, 2 yes
        "interpreter_language": language,
    }


def payload_json(payload: str) -> Dict:
    return json.loads(payload[payload.index("{"):]) if "{" in payload else {}
