"""46elks, a Swedish SMS gateway.

Inbound: 46elks POSTs a form (``id``, ``from``, ``to``, ``message``, ``created``) to the
``sms_url`` of our number and retries for hours until it gets a 2xx. It signs nothing: the
URL carries HTTP basic auth (``https://intake:<secret>@host/webhooks/46elks/webhook``), and a
request without it is refused. Whatever the webhook answers would be sent back as an SMS,
so it answers an empty 200 and sends through the API instead.

Outbound: ``POST /a1/sms`` with the API username and password (basic auth), ``dontlog=message``
so that 46elks keeps no copy of the text, and ``whendelivered`` for delivery reports.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any, Dict, Optional, Text, Tuple

import aiohttp
from rasa.core.channels.channel import InputChannel
from sanic.request import Request

from bot.channels.sms import BadRequest, GatewayError, InboundSms, SmsInput, required

API_BASE = "https://api.46elks.com"
WEBHOOK_USER = "intake"


def basic_auth(request: Request) -> Optional[Tuple[str, str]]:
    header = request.headers.get("Authorization") or ""
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return user, password


def form_value(request: Request, key: str) -> str:
    try:
        value = request.form.get(key)
    except Exception as exc:  # noqa: BLE001 - an unreadable body
        raise BadRequest("not a form") from exc
    return value if isinstance(value, str) else ""


class ElksInput(SmsInput):
    @classmethod
    def name(cls) -> Text:
        return "46elks"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        c = required(credentials, "api_username", "api_password", "sender", "webhook_password")
        return cls(c["api_username"], c["api_password"], c["sender"], c["webhook_password"],
                   api_base=c.get("api_base") or API_BASE, public_url=c.get("public_url", ""))

    def __init__(self, api_username: str, api_password: str, sender: str, webhook_password: str,
                 api_base: str = API_BASE, public_url: str = "") -> None:
        super().__init__(public_url)
        self.api_username = api_username
        self.api_password = api_password
        self.sender = sender
        self.webhook_password = webhook_password
        self.api_base = api_base.rstrip("/")

    def authentic(self, request: Request) -> bool:
        given = basic_auth(request)
        if given is None:
            return False
        user, password = given
        return hmac.compare_digest(user.encode(), WEBHOOK_USER.encode()) & hmac.compare_digest(
            password.encode(), self.webhook_password.encode()
        )

    def parse_inbound(self, request: Request) -> InboundSms:
        message_id, sender = form_value(request, "id"), form_value(request, "from")
        if not message_id or not sender:
            raise BadRequest("id and from are required")
        return InboundSms(message_id, sender, form_value(request, "to"), form_value(request, "message"))

    def parse_delivery_report(self, request: Request) -> Tuple[str, Optional[bool], str]:
        gateway_id, status = form_value(request, "id"), form_value(request, "status")
        if not gateway_id:
            raise BadRequest("id is required")
        if status == "delivered":
            return gateway_id, True, ""
        if status == "failed":
            return gateway_id, False, "46elks: not delivered"
        return gateway_id, None, ""

    def delivery_url(self) -> Optional[str]:
        if not self.public_url:
            return None
        scheme, _, rest = self.public_url.partition("://")
        return f"{scheme}://{WEBHOOK_USER}:{self.webhook_password}@{rest}/webhooks/46elks/delivery"

    async def send_sms(self, to: str, body: str) -> str:
        data = {"from": self.sender, "to": to, "message": body, "dontlog": "message"}
        report = self.delivery_url()
        if report:
            data["whendelivered"] = report
        auth = aiohttp.BasicAuth(self.api_username, self.api_password)
        timeout = aiohttp.ClientTimeout(total=20)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as client:
                async with client.post(f"{self.api_base}/a1/sms", data=data, auth=auth) as reply:
                    text = await reply.text()
                    if reply.status >= 400:
                        # 4xx: a bad number, no credit, wrong credentials: a retry will not help
                        permanent = 400 <= reply.status < 500 and reply.status != 429
                        raise GatewayError(f"46elks answered {reply.status}: {text[:200]}", permanent)
                    try:
                        answer = await reply.json(content_type=None)
                    except ValueError as exc:
                        raise GatewayError(f"46elks answered something else than JSON: {text[:200]}") from exc
        except aiohttp.ClientError as exc:
            raise GatewayError(f"46elks unreachable: {exc.__class__.__name__}") from exc
        return str(answer.get("id") or "")
