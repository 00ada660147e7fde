"""Local stand-ins for the external HTTP APIs the bot talks to, so tests never need the internet.

* :class:`TelegramBotApi` - the Telegram Bot API as python-telegram-bot (PTB) 22 uses it.
* :class:`ElksApi` - 46elks' outbound SMS resource, ``POST /a1/sms``.
* :class:`TwilioApi` - Twilio's Messages resource, ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

Each one is a real HTTP server (``http.server.ThreadingHTTPServer``) on 127.0.0.1 and a free
port, serving from a background thread, so it works the same from sync tests, from async tests
(the test's event loop is never involved) and from code under test that runs in other threads.
Use it as a context manager or from a fixture::

    @pytest.fixture
    def telegram_api():
        with TelegramBotApi() as api:
            yield api

    async def test_hello(telegram_api):
        async with telegram.Bot(telegram_api.token, base_url=telegram_api.base_url,
                                base_file_url=telegram_api.base_file_url) as bot:
            await bot.send_message(42, "Hej")
        assert telegram_api.sent_texts(42) == ["Hej"]

Every request is recorded (:attr:`requests`, a list of :class:`RecordedRequest`, guarded by a lock)
before it is answered, including requests that are refused (bad credentials, injected failures).

How PTB 22 talks to the Bot API (read from telegram/_bot.py and telegram/request/):

* URL: ``Bot(token, base_url=B)`` makes ``B + token`` (or ``B.format(token=token)`` if ``B`` holds
  ``{token}``, or ``B(token)`` if callable) and then POSTs to ``{that}/{method}``; so
  ``base_url="http://127.0.0.1:PORT/bot"`` gives ``/bot{token}/sendMessage``.
* Body: always POST. Without files, ``application/x-www-form-urlencoded``; with uploads,
  ``multipart/form-data``. Parameters that are ``None`` are left out. ``str`` values go as they are,
  everything else is ``json.dumps``-ed: ``chat_id=42``, ``disable_notification=true``,
  ``reply_markup={"inline_keyboard": [[...]]}``, ``commands=[{...}]``, ``allowed_updates=[...]``.
  :class:`TelegramBotApi` decodes those JSON values back (but keeps text-like fields such as
  ``text``/``caption``/``secret_token`` as strings), and also accepts JSON bodies.
* Errors: PTB uses the HTTP status, not ``error_code``: 401 and 404 raise ``InvalidToken``, 400
  ``BadRequest``, 403 ``Forbidden``, 409 ``Conflict``, everything else ``NetworkError``;
  ``parameters.retry_after`` raises ``RetryAfter``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import email.parser
import email.policy
import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "DEFAULT_TELEGRAM_TOKEN",
    "UPDATE_KINDS",
    "ElksApi",
    "RecordedRequest",
    "TelegramBotApi",
    "TwilioApi",
    "UploadedFile",
    "sms_parts",
    "update_json",
]

DEFAULT_TELEGRAM_TOKEN = "123456789:TEST-token_for-the-local-bot-api-stub"
DEFAULT_BOT_USERNAME = "intake_test_bot"
DEFAULT_BOT_FIRST_NAME = "Intake Assistant"
DEFAULT_ELKS_USERNAME = "u0123456789abcdef0123456789abcdef"
DEFAULT_ELKS_PASSWORD = "TEST0123456789ABCDEF0123456789AB"
DEFAULT_TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_TWILIO_AUTH_TOKEN = "test-auth-token-0123456789abcdef"

E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


# --------------------------------------------------------------------------- SMS segment count


def sms_parts(text: str) -> int:
    """Number of SMS parts ``text`` is sent as.

    Uses ``bot.channels.sms_text.count_segments(text).parts`` when that module exists; until then
    (and only if the module itself is missing) a plain GSM-7 / UCS-2 length count.
    """
    try:
        from bot.channels.sms_text import count_segments
    except ModuleNotFoundError as exc:
        if exc.name not in {"bot", "bot.channels", "bot.channels.sms_text"}:
            raise  # the module exists but something it imports is missing: show that
        return _fallback_sms_parts(text)
    result = count_segments(text)
    return int(getattr(result, "parts", result))


_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = set("^{}\\[~]|€\f")


def _fallback_sms_parts(text: str) -> int:
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        units = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        single, multi = 160, 153
    else:  # UCS-2 (UTF-16 code units: characters outside the BMP take two)
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


# --------------------------------------------------------------------------- HTTP plumbing


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a ``multipart/form-data`` request."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class RecordedRequest:
    """One request as the stand-in received it.

    ``params`` merges the query string and the body (form, multipart or JSON; repeated form keys
    become lists); for :class:`TelegramBotApi` JSON-encoded values are decoded. ``raw_params`` is
    the same before that decoding. Header names are lower-cased. ``endpoint`` names the API
    operation (``"sendMessage"``, ``"sms"``, ``"Messages.create"``) when the request got that far.
    ``status`` and ``response`` are filled in once the request has been answered.
    """

    method: str
    path: str
    query: dict[str, Any]
    raw_params: dict[str, Any]
    params: dict[str, Any]
    headers: dict[str, str]
    body: bytes
    endpoint: str | None = None
    status: int | None = None
    response: Any = None


@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str
    data: Any = None  # what the body encodes, for RecordedRequest.response
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> _Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return _Reply(status, body, "application/json", data, headers or {})


def _text_reply(status: int, text: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, text.encode("utf-8"), "text/plain; charset=utf-8", text, headers or {})


def _flatten(multi: dict[str, list[Any]]) -> dict[str, Any]:
    return {key: values[0] if len(values) == 1 else values for key, values in multi.items()}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, list[Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            value: Any = UploadedFile(filename, part.get_content_type(), payload)
        else:
            value = payload.decode(part.get_content_charset() or "utf-8", "replace")
        fields.setdefault(str(name), []).append(value)
    return _flatten(fields)


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if mime == "application/json" or (not mime and body[:1] in (b"{", b"[")):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {"_json": data}
    text = body.decode("utf-8", "replace")
    return _flatten(parse_qs(text, keep_blank_values=True))


def _basic_auth(headers: dict[str, str]) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so no idle keep-alive connection can hold a handler
    # thread (and stop()) hostage.
    protocol_version = "HTTP/1.0"
    server_version = "LocalGatewayStub/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        gateway: _GatewayServer = self.server.gateway  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        body = self._read_body()
        query = _flatten(parse_qs(split.query, keep_blank_values=True))
        raw = {**query, **_parse_body(headers.get("content-type", ""), body)}
        request = RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            query=query,
            raw_params=raw,
            params=gateway._decode_params(raw),
            headers=headers,
            body=body,
        )
        gateway._record(request)
        try:
            reply = gateway._handle(request)
        except Exception as exc:  # noqa: BLE001 - a bug in the stand-in must show as a 500, not hang
            reply = _text_reply(500, f"stand-in error: {exc!r}")
        with gateway._lock:
            request.status = reply.status
            request.response = reply.data
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its own timeout); nothing to tell it

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch


class _GatewayServer:
    """Base: server life cycle, request log, failure injection, waiting helpers."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # life cycle -------------------------------------------------------------------------------

    def start(self) -> _GatewayServer:
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        self._stopping.clear()
        server = ThreadingHTTPServer((self._host, self._requested_port), _Handler)
        server.daemon_threads = True
        server.gateway = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()  # wake long polls
        server.shutdown()
        server.server_close()  # joins the handler threads
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self):
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use start() or `with`")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    # request log --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 2.0) -> Any:
        """Block until ``predicate()`` is truthy (re-checked on every request) and return it.

        Raises AssertionError after ``timeout`` seconds. Don't call from a coroutine running on
        the loop the code under test needs; use :meth:`wait_for_async` there.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{type(self).__name__}: condition not met in {timeout}s")
                self._changed.wait(min(remaining, 0.05))

    async def wait_for_async(self, predicate: Callable[[], Any], timeout: float = 2.0) -> Any:
        """:meth:`wait_for` for coroutines: polls without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(f"{type(self).__name__}: condition not met in {timeout}s")
            await asyncio.sleep(0.01)

    # hooks for the subclasses ---------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _decode_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        return dict(raw)

    def _handle(self, request: RecordedRequest) -> _Reply:
        raise NotImplementedError

    def _add_failures(self, key: str, times: int, **spec: Any) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.setdefault(key, []).extend(dict(spec) for _ in range(times))

    def _take_failure(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            queue = self._failures.get(key)
            return queue.pop(0) if queue else None

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()


# --------------------------------------------------------------------------- Telegram


def _bot_id_from_token(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 123456789


def _bot_user(bot_id: int, username: str, first_name: str) -> dict[str, Any]:
    return {"id": bot_id, "is_bot": True, "first_name": first_name, "username": username}


# Parameters whose values are strings in the Bot API: never JSON-decode them ("42" stays "42").
_TG_STRING_FIELDS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_message_id", "url",
        "secret_token", "ip_address", "language_code", "action", "description",
        "short_description", "name", "title", "data", "query", "emoji", "sticker", "photo",
        "document", "voice", "audio", "video", "video_note", "animation", "thumbnail",
        "certificate", "phone_number", "first_name", "last_name", "vcard", "address",
        "foursquare_id", "foursquare_type", "google_place_id", "google_place_type",
        "business_connection_id", "message_effect_id", "file_id", "question", "explanation",
        "payload", "provider_token", "currency", "start_parameter", "switch_pm_text",
        "switch_pm_parameter", "next_offset", "custom_title", "invite_link", "game_short_name",
    }
)

_TG_METHODS = (
    "getMe", "getUpdates", "sendMessage", "editMessageText", "editMessageReplyMarkup",
    "answerCallbackQuery", "sendChatAction", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "setMyCommands", "getMyCommands", "deleteMyCommands", "leaveChat",
)
_TG_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[^/]+?)/?$")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _TelegramError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _tg_ok(result: Any, description: str | None = None) -> _Reply:
    data: dict[str, Any] = {"ok": True, "result": result}
    if description:
        data["description"] = description
    return _json_reply(200, data)


def _tg_error(status: int, description: str, parameters: dict[str, Any] | None = None) -> _Reply:
    data: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        data["parameters"] = parameters
    return _json_reply(status, data)


def _bad_request(description: str) -> _TelegramError:
    return _TelegramError(400, f"Bad Request: {description}")


class TelegramBotApi(_GatewayServer):
    """Stand-in for the Telegram Bot API (``https://api.telegram.org/bot{token}/{method}``).

    ``TelegramBotApi(token=DEFAULT_TELEGRAM_TOKEN, *, bot_username=..., bot_first_name=...,
    max_long_poll=1.0, host="127.0.0.1", port=0)``; point PTB at it with
    ``telegram.Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url)``.

    Methods: getMe, getUpdates, sendMessage, editMessageText, editMessageReplyMarkup,
    answerCallbackQuery, sendChatAction, setWebhook, deleteWebhook, getWebhookInfo, setMyCommands,
    getMyCommands, deleteMyCommands, leaveChat (names are case-insensitive, as in Telegram). Any
    other method: HTTP 404 ``{"ok": false, "error_code": 404, "description": "Not Found"}``; a
    token other than ``token``: HTTP 401 ``... "Unauthorized"``.

    Behaves like Telegram where it is cheap to: sendMessage needs chat_id and a 1-4096 character
    text; only an *inline* keyboard is echoed in the returned Message; editing a message to the
    same text and markup is 400 "message is not modified", and an edit without reply_markup
    removes the inline keyboard; setWebhook needs an https URL and a secret_token of
    ``[A-Za-z0-9_-]{1,256}``; getUpdates while a webhook is set is 409; a chat that blocked the
    bot (see :meth:`block`, or a queued "blocked" update) gets 403 "bot was blocked by the user".
    Chats seen in queued updates are echoed back with their full details.
    """

    def __init__(
        self,
        token: str = DEFAULT_TELEGRAM_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        max_long_poll: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.bot_user = _bot_user(_bot_id_from_token(token), bot_username, bot_first_name)
        self.max_long_poll = max_long_poll
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._next_message_id = 1
        self._messages: dict[tuple[str, int], dict[str, Any]] = {}
        self._sent: list[dict[str, Any]] = []
        self._chats: dict[str, dict[str, Any]] = {}
        self._blocked: set[str] = set()
        self._webhook: dict[str, Any] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], _Reply]] = {
            name.lower(): getattr(self, "_m_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())
            for name in _TG_METHODS
        }
        self._canonical = {name.lower(): name for name in _TG_METHODS}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/bot`` - PTB appends the token, then ``/{method}``."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``Bot(base_file_url=...)``, so file downloads can't reach the real Telegram (they
        get 404 here)."""
        return f"{self.root_url}/file/bot"

    # helpers for tests ----------------------------------------------------------------------------

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of ``method`` that had the right token (failed ones too),
        oldest first, with JSON-valued fields (reply_markup, commands, ...) decoded."""
        name = self._canonical.get(method.lower(), method)
        with self._lock:
            return [copy.deepcopy(r.params) for r in self._requests if r.endpoint == name]

    def sent_messages(self, chat_id: int | str | None = None) -> list[dict[str, Any]]:
        """Messages that sendMessage delivered (as returned to the caller), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._sent
                if chat_id is None or str(m["chat"]["id"]) == str(chat_id)
            ]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts that sendMessage delivered, optionally only to ``chat_id``."""
        return [m["text"] for m in self.sent_messages(chat_id)]

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int = 502,
        *,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error: HTTP ``status`` and
        ``{"ok": false, "error_code": status, "description": ...}``. With ``status=429`` the reply
        carries ``parameters.retry_after`` (default 1), which PTB turns into ``RetryAfter``."""
        name = self._canonical.get(method.lower(), method)
        self._add_failures(name, times, status=status, description=description,
                           retry_after=retry_after)

    def queue_update(self, update: dict[str, Any]) -> int:
        """Queue an Update (a dict, e.g. from :func:`update_json`) for getUpdates; returns its
        update_id (assigned if missing). Wakes a pending long poll."""
        update = copy.deepcopy(update)
        with self._changed:
            if "update_id" not in update:
                update["update_id"] = self._last_update_id + 1
            self._last_update_id = max(self._last_update_id, int(update["update_id"]))
            self._learn_from_update(update)
            self._updates.append(update)
            self._changed.notify_all()
            return int(update["update_id"])

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return copy.deepcopy(self._updates)

    @property
    def webhook(self) -> dict[str, Any]:
        """What setWebhook stored (url, secret_token, allowed_updates, ...); {} when none."""
        with self._lock:
            return copy.deepcopy(self._webhook)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list:
        """The command list setMyCommands stored for that scope and language."""
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    def block(self, chat_id: int | str) -> None:
        """From now on sending to ``chat_id`` fails with 403, as when a user blocks the bot."""
        with self._lock:
            self._blocked.add(str(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(str(chat_id))

    # plumbing -------------------------------------------------------------------------------------

    def _decode_params(self, raw: dict[str, Any]) -> dict[str, Any]:
        decoded: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key not in _TG_STRING_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass  # e.g. chat_id="@channelname"
            decoded[key] = value
        return decoded

    def _handle(self, request: RecordedRequest) -> _Reply:
        match = _TG_PATH.match(request.path)
        if not match:
            return _tg_error(404, "Not Found")
        if match["token"] != self.token:
            return _tg_error(401, "Unauthorized")
        key = match["method"].lower()
        handler = self._methods.get(key)
        if handler is None:
            return _tg_error(404, "Not Found")
        name = self._canonical[key]
        with self._lock:
            request.endpoint = name
        failure = self._take_failure(name)
        if failure is not None:
            status = failure["status"]
            parameters = None
            description = failure["description"]
            if status == 429:
                retry_after = failure["retry_after"] or 1
                parameters = {"retry_after": retry_after}
                description = description or f"Too Many Requests: retry after {retry_after}"
            if description is None:
                try:
                    description = HTTPStatus(status).phrase
                except ValueError:
                    description = "Error"
            return _tg_error(status, description, parameters)
        try:
            with self._lock:  # one call at a time; a long poll's wait() releases the lock
                return handler(request.params)
        except _TelegramError as exc:
            return _tg_error(exc.status, exc.description)

    def _learn_from_update(self, update: dict[str, Any]) -> None:
        for key, value in update.items():
            if not isinstance(value, dict):
                continue
            for holder in (value, value.get("message")):
                if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                    chat = holder["chat"]
                    self._chats[str(chat["id"])] = dict(chat)
            if key == "my_chat_member" and value.get("chat", {}).get("type") == "private":
                status = value.get("new_chat_member", {}).get("status")
                chat_id = str(value["chat"]["id"])
                if status == "kicked":
                    self._blocked.add(chat_id)
                elif status == "member":
                    self._blocked.discard(chat_id)

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        known = self._chats.get(str(chat_id))
        if known:
            return dict(known)
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            return {"id": -1001000000001, "title": chat_id[1:], "username": chat_id[1:],
                    "type": "channel"}
        try:
            numeric = int(chat_id)
        except (TypeError, ValueError):
            raise _bad_request("chat not found") from None
        if numeric > 0:
            return {"id": numeric, "first_name": "User", "type": "private"}
        kind = "supergroup" if str(numeric).startswith("-100") else "group"
        return {"id": numeric, "title": "Group", "type": kind}

    def _require_chat(self, params: dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad_request("chat_id is empty")
        if str(chat_id) in self._blocked:
            raise _TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup
        return None

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    # methods ----------------------------------------------------------------------------------------

    def _m_get_me(self, params: dict[str, Any]) -> _Reply:
        return _tg_ok({**self.bot_user, "can_join_groups": True,
                       "can_read_all_group_messages": False, "supports_inline_queries": False})

    def _m_get_updates(self, params: dict[str, Any]) -> _Reply:
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if not 1 <= limit <= 100:
            limit = 100
        with self._changed:
            if self._webhook.get("url"):
                raise _TelegramError(409, "Conflict: can't use getUpdates method while webhook "
                                          "is active; use deleteWebhook to delete the webhook first")
            if offset is not None:
                offset = int(offset)
                if offset < 0:
                    self._updates = self._updates[offset:]
                else:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
            deadline = time.monotonic() + min(max(timeout, 0.0), self.max_long_poll)
            while not self._updates and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return _tg_ok(copy.deepcopy(self._updates[:limit]))

    def _m_send_message(self, params: dict[str, Any]) -> _Reply:
        chat_id = self._require_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _bad_request("message is too long")
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._next_message_id,
                "from": dict(self.bot_user),
                "chat": self._chat(chat_id),
                "date": int(time.time()),
                "text": text,
            }
            markup = self._inline_markup(params)
            if markup is not None:
                message["reply_markup"] = markup
            self._next_message_id += 1
            self._messages[(str(message["chat"]["id"]), message["message_id"])] = message
            self._sent.append(copy.deepcopy(message))  # as sent; edits don't rewrite history
            return _tg_ok(copy.deepcopy(message))

    def _edit(self, params: dict[str, Any], *, text: str | None) -> _Reply:
        markup = self._inline_markup(params)
        if params.get("inline_message_id"):
            return _tg_ok(True)
        chat_id = self._require_chat(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise _bad_request("message identifier is not specified")
        with self._lock:
            key = (str(chat_id), int(message_id))
            message = self._messages.get(key)
            if message is None:  # a message this stand-in never sent, e.g. from update_json()
                message = {"message_id": int(message_id), "from": dict(self.bot_user),
                           "chat": self._chat(chat_id), "date": int(time.time()), "text": ""}
                self._messages[key] = message
            new_text = message.get("text", "") if text is None else text
            if new_text == message.get("text") and markup == message.get("reply_markup"):
                raise _bad_request(
                    "message is not modified: specified new message content and reply markup "
                    "are exactly the same as a current content and reply markup of the message"
                )
            message["text"] = new_text
            message["edit_date"] = int(time.time())
            if markup is None:
                message.pop("reply_markup", None)
            else:
                message["reply_markup"] = markup
            return _tg_ok(copy.deepcopy(message))

    def _m_edit_message_text(self, params: dict[str, Any]) -> _Reply:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("message text is empty")
        return self._edit(params, text=text)

    def _m_edit_message_reply_markup(self, params: dict[str, Any]) -> _Reply:
        return self._edit(params, text=None)

    def _m_answer_callback_query(self, params: dict[str, Any]) -> _Reply:
        if not params.get("callback_query_id"):
            raise _bad_request("query is too old and response timeout expired or query ID is "
                               "invalid")
        return _tg_ok(True)

    def _m_send_chat_action(self, params: dict[str, Any]) -> _Reply:
        self._require_chat(params)
        if not params.get("action"):
            raise _bad_request("wrong parameter action in request")
        return _tg_ok(True)

    def _m_set_webhook(self, params: dict[str, Any]) -> _Reply:
        url = params.get("url") or ""
        secret = params.get("secret_token")
        if url and not str(url).lower().startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        with self._changed:
            if params.get("drop_pending_updates"):
                self._updates.clear()
            if not url:
                self._webhook = {}
                return _tg_ok(True, "Webhook was deleted")
            self._webhook = {k: v for k, v in params.items() if k != "certificate"}
            self._webhook["url"] = url
            return _tg_ok(True, "Webhook was set")

    def _m_delete_webhook(self, params: dict[str, Any]) -> _Reply:
        with self._changed:
            had = bool(self._webhook)
            self._webhook = {}
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return _tg_ok(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _m_get_webhook_info(self, params: dict[str, Any]) -> _Reply:
        with self._lock:
            info: dict[str, Any] = {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook:
                info["max_connections"] = self._webhook.get("max_connections", 40)
                info["ip_address"] = self._webhook.get("ip_address", "127.0.0.1")
                if self._webhook.get("allowed_updates") is not None:
                    info["allowed_updates"] = self._webhook["allowed_updates"]
        return _tg_ok(info)

    def _m_set_my_commands(self, params: dict[str, Any]) -> _Reply:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request("can't parse commands JSON object")
        for command in commands:
            if not (isinstance(command, dict)
                    and _COMMAND_NAME.match(str(command.get("command", "")))
                    and 1 <= len(str(command.get("description", ""))) <= 256):
                raise _bad_request("BOT_COMMAND_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._lock:
            self._commands[key] = [{"command": c["command"], "description": c["description"]}
                                   for c in commands]
        return _tg_ok(True)

    def _m_get_my_commands(self, params: dict[str, Any]) -> _Reply:
        return _tg_ok(self.commands(params.get("scope"), params.get("language_code") or ""))

    def _m_delete_my_commands(self, params: dict[str, Any]) -> _Reply:
        with self._lock:
            self._commands.pop(self._commands_key(params.get("scope"),
                                                  params.get("language_code")), None)
        return _tg_ok(True)

    def _m_leave_chat(self, params: dict[str, Any]) -> _Reply:
        self._require_chat(params)
        return _tg_ok(True)


# --------------------------------------------------------------------------- Telegram updates

UPDATE_KINDS = (
    "text", "callback_query", "sticker", "photo", "voice", "location", "contact", "document",
    "edited_message", "group_text", "bot_added_to_group", "blocked", "channel_post",
)

_DEFAULT_TEXTS = {
    "text": "Hej!",
    "edited_message": "Hej, jag heter Alex",
    "group_text": "Hello everyone",
    "channel_post": "News from the channel",
    "callback_query": "Vill du fortsätta?",  # the text of the message the button belongs to
}


def _file_ids(kind: str, update_id: int, n: int = 0) -> dict[str, str]:
    tag = f"{kind}{update_id}x{n}"
    return {"file_id": f"AgACAgQAAxkBAAI{tag}", "file_unique_id": f"AQAD{tag}"}


def update_json(
    kind: str,
    update_id: int,
    *,
    chat_id: int | None = None,
    user_id: int = 111222333,
    text: str | None = None,
    language_code: str | None = "sv",
    first_name: str = "Alex",
    last_name: str | None = None,
    username: str | None = None,
    message_id: int | None = None,
    date: int | None = None,
    data: str = "yes",
    inline_keyboard: list[list[dict[str, Any]]] | None = None,
    caption: str | None = None,
    chat_title: str = "Intake test group",
    bot_id: int = _bot_id_from_token(DEFAULT_TELEGRAM_TOKEN),
    bot_username: str = DEFAULT_BOT_USERNAME,
    bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
    phone_number: str = "46701234567",
    latitude: float = 59.329323,
    longitude: float = 18.068581,
    file_name: str = "intyg.pdf",
    mime_type: str = "application/pdf",
    emoji: str = "👍",
) -> dict[str, Any]:
    """An Update dict shaped as https://core.telegram.org/bots/api#update documents it.

    ``kind`` is one of :data:`UPDATE_KINDS`. ``chat_id`` defaults to ``user_id`` for private
    chats, to -987654321 for "group_text"/"bot_added_to_group" and -1001234567890 for
    "channel_post". ``text`` is the message text (for "callback_query": the text of the bot's
    message carrying the button; a text starting with "/" gets a bot_command entity);
    ``data`` is the callback data; ``inline_keyboard`` the keyboard of that message (default: one
    button with ``data``). ``language_code=None`` leaves the field out, as Telegram sometimes does.
    Contact phone numbers come without "+", as Telegram clients usually send them.
    """
    if kind not in UPDATE_KINDS:
        raise ValueError(f"unknown update kind {kind!r}; choose from {UPDATE_KINDS}")
    date = int(time.time()) if date is None else date
    message_id = (update_id % 100000) + 1 if message_id is None else message_id

    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    bot = _bot_user(bot_id, bot_username, bot_first_name)

    private_chat: dict[str, Any] = {"id": user_id if chat_id is None else chat_id,
                                    "first_name": first_name}
    if last_name:
        private_chat["last_name"] = last_name
    if username:
        private_chat["username"] = username
    private_chat["type"] = "private"
    group_chat = {"id": -987654321 if chat_id is None else chat_id, "title": chat_title,
                  "type": "group"}

    def message(chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {"message_id": message_id, "from": user, "chat": chat, "date": date, **content}

    def text_content(default_kind: str) -> dict[str, Any]:
        body = _DEFAULT_TEXTS[default_kind] if text is None else text
        content: dict[str, Any] = {"text": body}
        if body.startswith("/"):
            command = body.split(maxsplit=1)[0]
            content["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
        return content

    def with_caption(content: dict[str, Any]) -> dict[str, Any]:
        if caption is not None:
            content["caption"] = caption
        return content

    if kind == "text":
        return {"update_id": update_id, "message": message(private_chat, **text_content("text"))}
    if kind == "edited_message":
        edited = message(private_chat, edit_date=date + 30, **text_content("edited_message"))
        return {"update_id": update_id, "edited_message": edited}
    if kind == "group_text":
        return {"update_id": update_id, "message": message(group_chat, **text_content("group_text"))}
    if kind == "channel_post":
        channel = {"id": -1001234567890 if chat_id is None else chat_id, "title": chat_title,
                   "type": "channel"}
        post = {"message_id": message_id, "sender_chat": channel, "chat": channel, "date": date,
                **text_content("channel_post")}
        return {"update_id": update_id, "channel_post": post}
    if kind == "callback_query":
        keyboard = inline_keyboard or [[{"text": data, "callback_data": data}]]
        source = {"message_id": message_id, "from": bot, "chat": private_chat, "date": date - 5,
                  **text_content("callback_query"), "reply_markup": {"inline_keyboard": keyboard}}
        query = {"id": f"{user_id}{update_id:08d}", "from": user, "message": source,
                 "chat_instance": f"-{abs(hash((user_id, private_chat['id']))) % 10**19}",
                 "data": data}
        return {"update_id": update_id, "callback_query": query}
    if kind == "sticker":
        sticker = {"width": 512, "height": 512, "emoji": emoji, "set_name": "IntakeTestStickers",
                   "is_animated": False, "is_video": False, "type": "regular",
                   **_file_ids(kind, update_id), "file_size": 23456}
        return {"update_id": update_id, "message": message(private_chat, sticker=sticker)}
    if kind == "photo":
        sizes = [{**_file_ids(kind, update_id, n), "file_size": size, "width": w, "height": h}
                 for n, (w, h, size) in enumerate([(90, 68, 1423), (320, 240, 18230),
                                                   (1280, 960, 143882)])]
        content = with_caption({"photo": sizes})
        return {"update_id": update_id, "message": message(private_chat, **content)}
    if kind == "voice":
        voice = {"duration": 4, "mime_type": "audio/ogg", **_file_ids(kind, update_id),
                 "file_size": 17812}
        return {"update_id": update_id, "message": message(private_chat, voice=voice)}
    if kind == "location":
        location = {"latitude": latitude, "longitude": longitude}
        return {"update_id": update_id, "message": message(private_chat, location=location)}
    if kind == "contact":
        contact = {"phone_number": phone_number, "first_name": first_name, "user_id": user_id}
        if last_name:
            contact["last_name"] = last_name
        return {"update_id": update_id, "message": message(private_chat, contact=contact)}
    if kind == "document":
        document = {"file_name": file_name, "mime_type": mime_type, **_file_ids(kind, update_id),
                    "file_size": 48213}
        content = with_caption({"document": document})
        return {"update_id": update_id, "message": message(private_chat, **content)}
    if kind == "bot_added_to_group":
        member = {"chat": group_chat, "from": user, "date": date,
                  "old_chat_member": {"user": bot, "status": "left"},
                  "new_chat_member": {"user": bot, "status": "member"}}
        return {"update_id": update_id, "my_chat_member": member}
    # "blocked": the user blocked the bot in their private chat
    member = {"chat": private_chat, "from": user, "date": date,
              "old_chat_member": {"user": bot, "status": "member"},
              "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0}}
    return {"update_id": update_id, "my_chat_member": member}


# --------------------------------------------------------------------------- 46elks


class ElksApi(_GatewayServer):
    """Stand-in for 46elks' SMS API: ``POST {base_url}/a1/sms`` (also ``GET /a1/sms/POST``).

    ``ElksApi(username=DEFAULT_ELKS_USERNAME, password=DEFAULT_ELKS_PASSWORD, *,
    cost_per_part=5200, host="127.0.0.1", port=0)``.

    HTTP basic auth with those credentials (else 401, plain text). Form fields ``from``, ``to``,
    ``message``; optional ``whendelivered``, ``dontlog=message``, ``flashsms=yes``,
    ``dryrun=yes``. Missing field: 403 "Missing key <name>"; ``to`` not E.164: 403
    "Invalid to number"; ``from`` neither E.164 nor a 3-11 character alphanumeric sender
    starting with a letter: 403 "Invalid from field". Success: 200 JSON as 46elks sends it::

        {"status": "created", "direction": "outgoing", "from": ..., "to": ..., "message": ...,
         "created": "2024-05-04T13:37:42.314100", "parts": N, "cost": N * cost_per_part,
         "id": "s" + 32 hex}

    As the real API does, ``cost`` is what a send returns, while ``dryrun=yes`` returns
    ``estimated_cost`` and no ``id`` (and is not counted in :meth:`sent`); with
    ``dontlog=message`` the text is left out of the response. Costs are in 1/10000 of the
    account currency.
    """

    def __init__(
        self,
        username: str = DEFAULT_ELKS_USERNAME,
        password: str = DEFAULT_ELKS_PASSWORD,
        *,
        cost_per_part: int = 5200,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.username = username
        self.password = password
        self.cost_per_part = cost_per_part
        self._sent: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``; the SMS resource is ``{base_url}/a1/sms``."""
        return self.root_url

    @property
    def sms_url(self) -> str:
        return f"{self.root_url}/a1/sms"

    def fail_next(self, times: int = 1, status: int = 503, *, body: str | None = None) -> None:
        """Answer the next ``times`` authenticated SMS posts with HTTP ``status`` (plain text)."""
        self._add_failures("sms", times, status=status, body=body)

    def sent(self) -> list[dict[str, Any]]:
        """SMS accepted for delivery, oldest first: dicts with to, from, message, parts, id, cost
        and the optional whendelivered/dontlog/flashsms when given."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def sent_messages(self, to: str | None = None) -> list[str]:
        return [s["message"] for s in self.sent() if to is None or s["to"] == to]

    def _handle(self, request: RecordedRequest) -> _Reply:
        path = request.path.rstrip("/").lower()
        if not ((request.method == "POST" and path == "/a1/sms")
                or (request.method == "GET" and path == "/a1/sms/post")):
            return _text_reply(404, "Not Found")
        if _basic_auth(request.headers) != (self.username, self.password):
            return _text_reply(401, "Authorization failed",
                               {"WWW-Authenticate": 'Basic realm="46elks API"'})
        with self._lock:
            request.endpoint = "sms"
        failure = self._take_failure("sms")
        if failure is not None:
            status = failure["status"]
            try:
                default = HTTPStatus(status).phrase
            except ValueError:
                default = "Error"
            return _text_reply(status, failure["body"] or default)
        params = request.params
        for key in ("from", "to", "message"):
            if not isinstance(params.get(key), str) or params[key] == "":
                return _text_reply(403, f"Missing key {key}")
        sender, to, text = params["from"], params["to"], params["message"]
        if not E164.match(to):
            return _text_reply(403, "Invalid to number")
        if not (E164.match(sender) or re.match(r"^[A-Za-z][A-Za-z0-9]{2,10}$", sender)):
            return _text_reply(403, "Invalid from field")
        if params.get("flashsms") not in (None, "yes", "no"):
            return _text_reply(403, "Invalid flashsms value")
        if params.get("dontlog") not in (None, "message"):
            return _text_reply(403, "Invalid dontlog value")
        parts = sms_parts(text)
        cost = parts * self.cost_per_part
        created = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
        response: dict[str, Any] = {"status": "created", "direction": "outgoing", "from": sender,
                                    "created": created, "parts": parts, "to": to}
        if params.get("dontlog") != "message":
            response["message"] = text
        else:
            response["dontlog"] = "message"
        if params.get("dryrun") == "yes":
            response["estimated_cost"] = cost
            return _json_reply(200, response)
        response["cost"] = cost
        response["id"] = "s" + secrets.token_hex(16)
        record = {"id": response["id"], "to": to, "from": sender, "message": text, "parts": parts,
                  "cost": cost}
        for optional in ("whendelivered", "dontlog", "flashsms"):
            if optional in params:
                record[optional] = params[optional]
        with self._lock:
            self._sent.append(record)
        self._notify()
        return _json_reply(200, response)


# --------------------------------------------------------------------------- Twilio


def _twilio_error(status: int, code: int, message: str, **extra: Any) -> _Reply:
    return _json_reply(status, {"code": code, "message": message,
                                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                                "status": status, **extra})


_TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_TWILIO_MESSAGE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<msid>SM[0-9a-f]{32})\.json$")


class TwilioApi(_GatewayServer):
    """Stand-in for Twilio's Messages resource.

    ``TwilioApi(account_sid=DEFAULT_TWILIO_ACCOUNT_SID, auth_token=DEFAULT_TWILIO_AUTH_TOKEN, *,
    host="127.0.0.1", port=0)``.

    ``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with basic auth
    ``account_sid:auth_token`` and form fields To, From or MessagingServiceSid, Body (or
    MediaUrl), optional StatusCallback; answers 201 with Twilio's Message JSON (what twilio-python
    8.2's ``MessageInstance`` reads). ``GET .../Messages/{Sid}.json`` fetches a sent one. Errors use
    Twilio's shape ``{"code", "message", "more_info", "status"}``: bad credentials 401/20003,
    unknown resource or another account's 404/20404, To missing 400/21604, From and
    MessagingServiceSid both missing 400/21603, no Body 400/21602, To not E.164 (an optional
    "whatsapp:" prefix is allowed) 400/21211, Body over 1600 characters 400/21617. As Twilio does,
    status is "queued" with From and "accepted" (and from null) with only MessagingServiceSid.

    Pointing twilio-python 8.2 at it (the same works for any configurable API base)::

        client = Client(account_sid, auth_token)          # or http_client=AsyncTwilioHttpClient()
        client.api.base_url = api.base_url                # "http://127.0.0.1:PORT", no path
        client.edge = client.region = None                # else get_hostname() rewrites the host

    ``client.api`` is the ``Api`` Domain (``twilio.rest.api.ApiBase``) whose ``base_url`` defaults
    to ``"https://api.twilio.com"``; every request of ``client.messages`` /
    ``client.api.v2010.account.messages`` builds its URL at request time as
    ``Domain.absolute_url(uri) = base_url.strip("/") + "/" + "2010-04-01/Accounts/{sid}/Messages.json"``,
    so the attribute can be set any time after the client is created. Edge/region (arguments or
    the TWILIO_EDGE / TWILIO_REGION environment variables) make ``ClientBase.get_hostname()``
    rewrite the host name into ``api.{edge}.{region}.twilio.com`` form, so they must be unset for
    a custom base. :meth:`redirect` does these two steps.
    """

    def __init__(
        self,
        account_sid: str = DEFAULT_TWILIO_ACCOUNT_SID,
        auth_token: str = DEFAULT_TWILIO_AUTH_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._sent: list[dict[str, Any]] = []
        self._messages: dict[str, dict[str, Any]] = {}

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` - the value for ``client.api.base_url``."""
        return self.root_url

    @property
    def messages_url(self) -> str:
        return f"{self.root_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def redirect(self, client: Any) -> Any:
        """Point a ``twilio.rest.Client`` at this stand-in (see the class docstring); returns it."""
        client.api.base_url = self.base_url
        client.edge = None
        client.region = None
        return client

    def fail_next(self, times: int = 1, status: int = 503) -> None:
        """Answer the next ``times`` authenticated message creations with HTTP ``status`` and
        Twilio's error JSON (code 20429 for 429, 20500 otherwise)."""
        self._add_failures("Messages.create", times, status=status)

    def sent(self) -> list[dict[str, Any]]:
        """Messages created, oldest first: dicts with sid, to, from, messaging_service_sid, body,
        num_segments (int), status, status_callback."""
        with self._lock:
            return copy.deepcopy(self._sent)

    def _handle(self, request: RecordedRequest) -> _Reply:
        credentials = _basic_auth(request.headers)
        if credentials != (self.account_sid, self.auth_token):
            return _twilio_error(401, 20003, "Authenticate",
                                 detail="Your AccountSid or AuthToken was incorrect.")
        create = _TWILIO_MESSAGES.match(request.path)
        fetch = _TWILIO_MESSAGE.match(request.path)
        match = create if request.method == "POST" else fetch if request.method == "GET" else None
        if match is None or match["sid"] != self.account_sid:
            return _twilio_error(404, 20404,
                                 f"The requested resource {request.path} was not found")
        if fetch is not None:
            with self._lock:
                request.endpoint = "Messages.fetch"
                message = self._messages.get(fetch["msid"])
            if message is None:
                return _twilio_error(404, 20404,
                                     f"The requested resource {request.path} was not found")
            return _json_reply(200, copy.deepcopy(message))
        with self._lock:
            request.endpoint = "Messages.create"
        failure = self._take_failure("Messages.create")
        if failure is not None:
            status = failure["status"]
            try:
                phrase = HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            return _twilio_error(status, 20429 if status == 429 else 20500, phrase)
        return self._create(request.params)

    def _create(self, params: dict[str, Any]) -> _Reply:
        to = params.get("To")
        sender = params.get("From")
        service = params.get("MessagingServiceSid")
        body = params.get("Body")
        media = params.get("MediaUrl")
        if not to:
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not media:
            return _twilio_error(400, 21602, "Message body is required.")
        if not E164.match(str(to).removeprefix("whatsapp:")):
            return _twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        body = body or ""
        if len(body) > 1600:
            return _twilio_error(400, 21617,
                                 "The concatenated message body exceeds the 1600 character limit.")
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(timezone.utc).replace(microsecond=0), usegmt=False)
        account = self.account_sid
        uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
        num_media = len(media) if isinstance(media, list) else (1 if media else 0)
        segments = sms_parts(body) if body else 1
        message = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": str(num_media),
            "num_segments": str(segments),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if sender else "accepted",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": uri,
        }
        with self._lock:
            self._messages[sid] = message
            self._sent.append({"sid": sid, "to": to, "from": sender or None,
                               "messaging_service_sid": service or None, "body": body,
                               "num_segments": segments, "status": message["status"],
                               "status_callback": params.get("StatusCallback")})
        self._notify()
        return _json_reply(201, copy.deepcopy(message))
