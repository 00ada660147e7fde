"""The tablet channel: Rasa's side of the tablet chat (``/webhooks/tablet/webhook``).

Only our web app calls it, with a key derived from INTAKE_SECRET (``X-Intake-Tablet-Key``); the
web app has signed the staff member in and passes them as ``assisted_by``. Each message has an
id from the page: a message sent again after a dropped connection gets the first answer back
instead of being taken twice. Replies keep their ``language`` and ``direction``, which the
page uses to lay out Arabic, Persian and Sorani right to left.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import select

from bot.channels import store
from bot.channels.base import as_user_text, settings, unit_of_work, webhook_blueprint
from bot.db.models import InboundMessage
from bot.web.config import tablet_key

logger = logging.getLogger(__name__)
CHANNEL = "tablet"
KEY_HEADER = "X-Intake-Tablet-Key"
WAIT_FOR_FIRST = 65.0  # seconds a resent message waits for the first one's answer (the web app waits 60)


class TabletOutput(OutputChannel):
    """Collects the replies of one turn with everything our front end needs."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self) -> None:
        self.replies: List[Dict[str, Any]] = []

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        reply = {
            "text": message.get("text") or "",
            "buttons": [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in message.get("buttons") or message.get("quick_replies") or []],
            "language": message.get("language"),
            "direction": message.get("direction"),  # None: the page keeps the conversation's
        }
        if reply["text"] or reply["buttons"]:
            self.replies.append(reply)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text, **kwargs})


def _set_response(session, message_id: str, replies: List[Dict[str, Any]]) -> None:
    store.mark_handled(session, CHANNEL, message_id, {"replies": replies})


def _get_response(session, message_id: str) -> Optional[Dict[str, Any]]:
    return session.execute(select(InboundMessage.response).where(
        InboundMessage.channel == CHANNEL, InboundMessage.external_id == message_id[:100])).scalar_one_or_none()


class TabletInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def key(self) -> str:
        return tablet_key(settings())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        return webhook_blueprint("tablet_webhook", lambda request: self.receive(request, on_new_message))

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        given = request.headers.get(KEY_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.key().encode()):
            return response.json({"error": "forbidden"}, status=403)
        try:
            data = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return response.json({"error": "not JSON"}, status=400)
        if not isinstance(data, dict):
            return response.json({"error": "JSON object expected"}, status=400)
        sender, message_id, text = data.get("sender"), data.get("message_id"), data.get("text")
        if not all(isinstance(v, str) and v for v in (sender, message_id, text)):
            return response.json({"error": "sender, message_id and text are required"}, status=400)
        if not await unit_of_work(store.first_delivery, CHANNEL, message_id):
            first = await self.first_answer(message_id)
            if first is None:  # the first delivery is still not answered: the page tries again
                return response.json({"error": "still working on it"}, status=503)
            return response.json(first)
        metadata: Dict[str, Any] = {}
        if data.get("language"):
            metadata["language"] = str(data["language"])
        if data.get("assisted_by"):
            metadata["assisted_by"] = str(data["assisted_by"])[:100]
        output = TabletOutput()
        # a tapped button's payload is an intent; what the participant types is plain text
        user_text = text if data.get("tapped") and text.startswith("/") else as_user_text(text)
        try:
            await on_new_message(UserMessage(user_text, output, f"tablet-{sender}", input_channel=CHANNEL,
                                             metadata=metadata))
        except Exception:  # noqa: BLE001 - the page sends it again: take it then
            logger.exception("tablet: a message failed")
            await unit_of_work(store.forget_delivery, CHANNEL, message_id)
            return response.json({"error": "temporarily unavailable"}, status=503)
        await unit_of_work(_set_response, message_id, output.replies)
        return response.json({"replies": output.replies})

    async def first_answer(self, message_id: str) -> Optional[Dict[str, Any]]:
        """The answer to the first delivery of a message sent again (waiting while it is made)."""
        waited = 0.0
        while waited < WAIT_FOR_FIRST:
            found = await unit_of_work(_get_response, message_id)
            if found is not None:
                return found
            await asyncio.sleep(0.2)
            waited += 0.2
        return None
