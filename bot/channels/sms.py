"""SMS through a gateway: what 46elks and Twilio share.

An inbound SMS is authenticated by the gateway's own means, taken once per gateway message id
(durably: gateways retry), and answered with ONE outbound SMS that holds all of Rasa's messages
of the turn, the last question's options as a numbered list. A reply "2", "٢" or "۲", or an
option's text, chooses that option; the options are kept in the database per participant.

Outbound messages go through the outbox (:mod:`bot.channels.store`): sent at once, retried with
back-off when the gateway does not take them, and marked failed after the last retry, so that
a caseworker sees a referral whose messages do not arrive.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Text, Tuple

import phonenumbers
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import store
from bot.channels.base import (
    as_user_text,
    catalog_for,
    conversation_language,
    settings,
    unit_of_work,
    webhook_blueprint,
)
from bot.channels.outbox import GatewayError, OutboxSender
from bot.channels.sms_text import (
    count_segments,
    numbered_list,
    parse_option_number,
    strip_redundant_bidi_marks,
    to_gsm,
)
from bot.intake.answers import normalize
from bot.intake.participants import pseudonym

logger = logging.getLogger(__name__)

MAX_INBOUND = 1000  # characters of an inbound SMS passed on (a long concatenated SMS is cut)

__all__ = ["BadRequest", "GatewayError", "InboundSms", "SmsInput", "required"]


@dataclass(frozen=True)
class InboundSms:
    message_id: str
    sender: str
    recipient: str
    text: str


class BadRequest(Exception):
    pass


def e164(number: str, region: str) -> Optional[str]:
    """A sender's number in E.164, or None (an alphanumeric sender or garbage)."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def resolve_reply(text: str, options: Sequence[Dict[str, str]]) -> str:
    """The participant's reply, or the payload of the option it names (by number or by text)."""
    if options:
        index = parse_option_number(text, len(options))
        if index is not None:
            return options[index]["payload"]
        typed = normalize(text)
        for option in options:
            if typed and normalize(option.get("title", "")) == typed:
                return option["payload"]
    return as_user_text(text[:MAX_INBOUND])


def render(messages: Sequence[Dict[str, Any]]) -> Tuple[str, List[Dict[str, str]]]:
    """Rasa's messages of one turn as one SMS text, and the options it offers.

    Only the last message with buttons keeps its options, numbered; a reply number means one of
    those. The text is made GSM-7 when only typographic characters stood in the way, and right-to-
    left marks are dropped where the phone lays the line out right to left anyway.
    """
    last_with_buttons = max((i for i, m in enumerate(messages) if m.get("buttons")), default=None)
    lines: List[str] = []
    options: List[Dict[str, str]] = []
    for i, message in enumerate(messages):
        text = str(message.get("text") or "").strip()
        if i == last_with_buttons:
            options = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                       for b in message["buttons"]]
            text = numbered_list(text, [o["title"] for o in options]).strip()
        if text:
            lines.append(text)
    body = to_gsm(strip_redundant_bidi_marks("\n".join(lines)))
    return body, options


def asks_to_forget(messages: Sequence[Dict[str, Any]]) -> bool:
    """True when the turn erased the participant's data: its reply must leave no trace once sent."""
    return any(isinstance(m.get("custom"), dict) and m["custom"].get("forget_after_send") for m in messages)


class SmsInput(OutboxSender, InputChannel, ABC):
    """A gateway's webhook: ``/webhooks/<gateway>/webhook`` and ``/webhooks/<gateway>/delivery``."""

    def __init__(self, public_url: str = "") -> None:
        self.public_url = public_url.rstrip("/")
        self._outbox_state()

    # -- what a gateway implements ---------------------------------------------------------

    @abstractmethod
    def authentic(self, request: Request) -> bool:
        """True when the request really comes from the gateway."""

    @abstractmethod
    def parse_inbound(self, request: Request) -> InboundSms:
        """The SMS in the request; raises BadRequest."""

    @abstractmethod
    def parse_delivery_report(self, request: Request) -> Tuple[str, Optional[bool], str]:
        """(gateway message id, delivered True/False or None for "not final yet", error)."""

    @abstractmethod
    async def send_sms(self, to: str, body: str) -> str:
        """Send one SMS; the gateway's message id. Raises GatewayError."""

    def acknowledge(self) -> HTTPResponse:
        """The answer to an inbound webhook that sends nothing back through it."""
        return response.text("")

    # -- the webhook -----------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def receive(request: Request) -> HTTPResponse:
            self.start_flusher()
            return await self.receive(request, on_new_message)

        hook = webhook_blueprint(f"sms_{self.name()}_webhook", receive)

        @hook.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:  # retries continue after a restart
            self.start_flusher()

        @hook.route("/delivery", methods=["POST"])
        async def delivery(request: Request) -> HTTPResponse:
            return await self.delivery_report(request)

        return hook

    def sender_id(self, phone: str) -> str:
        """The conversation's id: a pseudonym of the number, so no phone number is a tracker key."""
        return "sms-" + pseudonym(settings().secret, "sms", phone)[:40]

    def participant(self, sender_id: str) -> str:
        return pseudonym(settings().secret, self.name(), sender_id)

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if not self.authentic(request):
            return response.text("forbidden", status=403)
        try:
            sms = self.parse_inbound(request)
        except BadRequest as exc:
            return response.text(f"bad request: {exc}", status=400)
        phone = e164(sms.sender, settings().phone_region)
        if phone is None:  # no number to answer (an alphanumeric sender): take it, do nothing
            logger.info("%s: an SMS from a sender without a number was ignored", self.name())
            return self.acknowledge()
        if not await unit_of_work(store.first_delivery, self.name(), sms.message_id):
            return self.acknowledge()
        sender_id = self.sender_id(phone)
        participant = self.participant(sender_id)
        try:
            options = await unit_of_work(store.load_choices, participant)
            if sms.text.strip():
                collector = CollectingOutputChannel()
                text = resolve_reply(sms.text, options)
                await on_new_message(UserMessage(text, collector, sender_id, input_channel=self.name(),
                                                 metadata={"phone": phone}))
                body, options = render(collector.messages)
                forget = asks_to_forget(collector.messages)
            else:  # an empty SMS, or a picture message without text
                language = await conversation_language(request.app, sender_id)
                body = to_gsm(catalog_for(language).text("only_text"))
                forget = False
            message_id = await unit_of_work(self.queue_reply, participant, phone, body, options, forget,
                                            sms.message_id)
        except Exception:  # noqa: BLE001 - the gateway retries on a 5xx: take the message then
            logger.exception("%s: an inbound SMS failed", self.name())
            await unit_of_work(store.forget_delivery, self.name(), sms.message_id)
            return response.text("temporarily unavailable", status=503)
        if message_id is not None:
            self.spawn(self.deliver(message_id))
        return self.acknowledge()

    def queue_reply(self, session, participant: str, phone: str, body: str,
                    options: List[Dict[str, str]], forget: bool = False,
                    inbound_id: Optional[str] = None) -> Optional[int]:
        if inbound_id:  # handled: a redelivery of it is a duplicate from now on
            store.mark_handled(session, self.name(), inbound_id)
        if not forget:  # after an erasure nothing about the participant is kept, not even options
            store.save_choices(session, participant, options)
        if not body:
            return None
        segments = count_segments(body)
        return store.enqueue(session, self.name(), participant, phone, body, segments.parts, segments.encoding,
                             forget_after_send=forget)

    async def delivery_report(self, request: Request) -> HTTPResponse:
        if not self.authentic(request):
            return response.text("forbidden", status=403)
        try:
            gateway_id, delivered, error = self.parse_delivery_report(request)
        except BadRequest as exc:
            return response.text(f"bad request: {exc}", status=400)
        if delivered is not None:
            await unit_of_work(store.record_delivery_report, self.name(), gateway_id, delivered, error)
        return self.acknowledge()

    # -- sending -----------------------------------------------------------------------------

    async def send_outgoing(self, recipient: str, body: str, buttons: Optional[List[Dict[str, str]]] = None,
                            pseudonym: str = "") -> Optional[str]:
        return await self.send_sms(recipient, body)  # options are numbered in the body already


def required(credentials: Optional[Dict[Text, Any]], *keys: str) -> Dict[str, str]:
    if not credentials:
        raise ValueError("missing credentials")
    missing = [k for k in keys if not credentials.get(k)]
    if missing:
        raise ValueError("missing credentials: " + ", ".join(missing))
    return {k: str(v) for k, v in credentials.items() if v is not None}
