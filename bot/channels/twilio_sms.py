"""Twilio Programmable Messaging.

Inbound: Twilio POSTs a form (``MessageSid``, ``From``, ``To``, ``Body`` ...) signed with
``X-Twilio-Signature``; the signature is checked with the twilio library's RequestValidator over
the public URL Twilio called (``public_url``, as Twilio sees us behind a proxy) and the form.
The webhook answers an empty TwiML ``<Response/>``: replies go through the API, with retries.

Outbound: the twilio library's async client (aiohttp), so sending never blocks the event loop.
``sender`` is a number, or a Messaging Service SID (``MG...``).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text, Tuple

from rasa.core.channels.channel import InputChannel
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.sms import BadRequest, GatewayError, InboundSms, SmsInput, required

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FINAL_FAILURES = ("failed", "undelivered")


def form_params(request: Request) -> Dict[str, str]:
    try:
        form = request.form
    except Exception as exc:  # noqa: BLE001 - an unreadable body
        raise BadRequest("not a form") from exc
    return {key: values[0] if isinstance(values, list) and values else str(values) for key, values in form.items()}


class TwilioInput(SmsInput):
    @classmethod
    def name(cls) -> Text:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        c = required(credentials, "account_sid", "auth_token", "sender")
        return cls(c["account_sid"], c["auth_token"], c["sender"], api_base=c.get("api_base", ""),
                   public_url=c.get("public_url", ""))

    def __init__(self, account_sid: str, auth_token: str, sender: str, api_base: str = "", public_url: str = "") -> None:
        super().__init__(public_url)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.sender = sender
        self.api_base = api_base.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self._client: Optional[Client] = None

    def acknowledge(self) -> HTTPResponse:
        return response.text(EMPTY_TWIML, content_type="text/xml")

    def called_url(self, request: Request) -> str:
        """The URL Twilio signed: ours as the world sees it, with the query string."""
        if self.public_url:
            path = request.path + (f"?{request.query_string}" if request.query_string else "")
            return self.public_url + path
        return request.url

    def authentic(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            return False
        try:
            params = form_params(request)
        except BadRequest:
            return False
        return bool(self.validator.validate(self.called_url(request), params, signature))

    def parse_inbound(self, request: Request) -> InboundSms:
        params = form_params(request)
        sid, sender = params.get("MessageSid") or params.get("SmsSid") or "", params.get("From") or ""
        if not sid or not sender:
            raise BadRequest("MessageSid and From are required")
        return InboundSms(sid, sender, params.get("To", ""), params.get("Body", ""))

    def parse_delivery_report(self, request: Request) -> Tuple[str, Optional[bool], str]:
        params = form_params(request)
        sid, status = params.get("MessageSid") or "", params.get("MessageStatus") or ""
        if not sid:
            raise BadRequest("MessageSid is required")
        if status == "delivered":
            return sid, True, ""
        if status in FINAL_FAILURES:
            return sid, False, f"twilio: {status} (error {params.get('ErrorCode') or '?'})"
        return sid, None, ""

    def client(self) -> Client:
        if self._client is None:
            client = Client(self.account_sid, self.auth_token, http_client=AsyncTwilioHttpClient(timeout=20))
            if self.api_base:  # a Twilio-compatible endpoint (tests, a proxy); no edge/region rewriting
                client.api.base_url = self.api_base
                client.edge = client.region = None
            self._client = client
        return self._client

    async def send_sms(self, to: str, body: str) -> str:
        kwargs: Dict[str, Any] = {"to": to, "body": body}
        if self.sender.startswith("MG"):
            kwargs["messaging_service_sid"] = self.sender
        else:
            kwargs["from_"] = self.sender
        if self.public_url:
            kwargs["status_callback"] = f"{self.public_url}/webhooks/twilio/delivery"
        try:
            message = await self.client().messages.create_async(**kwargs)
        except TwilioRestException as exc:
            permanent = 400 <= (exc.status or 500) < 500 and exc.status != 429
            raise GatewayError(f"twilio answered {exc.status} (code {exc.code})", permanent) from exc
        return str(message.sid)
