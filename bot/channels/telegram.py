"""Telegram, with python-telegram-bot: a Rasa input channel for webhook mode.

Rasa's own Telegram connector sits on aiogram 2, ignores the secret-token header and crashes
on updates that are not messages. This one:

- refuses a request without Telegram's ``X-Telegram-Bot-Api-Secret-Token`` (403);
- takes each ``update_id`` once, durably (Telegram redelivers until it gets a 2xx);
- answers every callback query, and marks the tapped choice in the question's message;
- sends buttons as an inline keyboard, with ``callback_data`` within Telegram's 64 bytes;
- splits texts over 4096 characters;
- passes the user's ``language_code`` on as a hint;
- answers stickers, photos, voice, locations, edited messages ... with a short, polite text in
  the participant's language; ignores group chats on purpose and leaves groups it is added to.

Polling mode (no public HTTPS address) is :mod:`bot.channels.telegram_admin`: it fetches updates
and hands them to this webhook, so both modes share one code path.
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
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

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
from bot.intake.participants import pseudonym

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHANNEL = "telegram"
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_CALLBACK_DATA = 64  # bytes
PRIVATE = "private"
# updates we ask Telegram for (setWebhook / getUpdates)
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


# -- callback data --------------------------------------------------------------------------


def encode_callback(payload: str, index: int) -> str:
    """A button's payload as ``callback_data`` of at most 64 bytes.

    The usual payloads get short forms; a longer one becomes the button's place in the
    question (``#3``), resolved from the pending choices kept for the chat.
    """
    if payload.startswith("/choose"):
        try:
            short = "c:" + str(json.loads(payload[len("/choose"):])["choice"])
        except (ValueError, KeyError, TypeError):
            short = payload
    elif payload.startswith("/set_language"):
        try:
            short = "l:" + str(json.loads(payload[len("/set_language"):])["language"])
        except (ValueError, KeyError, TypeError):
            short = payload
    else:
        short = payload
    if len(short.encode("utf-8")) <= MAX_CALLBACK_DATA:
        return short
    return f"#{index}"


def decode_callback(data: str, options: List[Dict[str, str]]) -> Optional[str]:
    """The payload behind ``callback_data``; None when it cannot be resolved (a stale keyboard)."""
    if data.startswith("c:"):
        return "/choose" + json.dumps({"choice": data[2:]}, ensure_ascii=False, separators=(",", ":"))
    if data.startswith("l:"):
        return "/set_language" + json.dumps({"language": data[2:]}, ensure_ascii=False, separators=(",", ":"))
    if data.startswith("#"):
        digits = data[1:]
        if not digits.isdigit():
            return None
        try:
            return options[int(digits)]["payload"]
        except (IndexError, KeyError):
            return None
    if data.startswith("/") and "{" not in data:  # "/skip": an intent without entities
        return data
    return None


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Parts of at most ``limit`` characters, cut at a paragraph, line or word where possible."""
    parts: List[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [p for p in parts if p.strip()]  # Telegram refuses a blank text


def keyboard(buttons: List[Dict[str, Any]]) -> InlineKeyboardMarkup:
    """One big button per row: easy to hit on a small phone."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(b.get("title", ""))[:200], callback_data=encode_callback(str(b.get("payload", "")), i))]
         for i, b in enumerate(buttons)]
    )


def well_formed(update: Update) -> bool:
    """The fields our handling relies on are there (PTB parses partial objects without complaint)."""
    try:
        for message in (update.message, update.edited_message):
            if message is not None and (message.chat is None or message.chat.id is None or not message.chat.type):
                return False
        query = update.callback_query
        if query is not None and (not query.id or query.from_user is None):
            return False
        member = update.my_chat_member
        if member is not None and (member.chat is None or member.chat.id is None or not member.chat.type
                                   or member.new_chat_member is None or not member.new_chat_member.status):
            return False
    except AttributeError:
        return False
    return True


# -- output ---------------------------------------------------------------------------------


class TelegramOutput(OutputChannel):
    """Sends Rasa's messages to one chat; retries what Telegram did not take, records failures."""

    ATTEMPTS = 3

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    def __init__(self, bot: Bot, participant: str) -> None:
        self.bot = bot
        self.participant = participant  # the pseudonym, for recording failed messages
        self.turn_options: List[Dict[str, str]] = []  # the buttons sent in this turn, with their message

    async def _call(self, method: Callable[..., Awaitable[Any]], chat_id: str, **kwargs: Any) -> Any:
        delay = 1.0
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                return await method(chat_id=chat_id, **kwargs)
            except RetryAfter as exc:
                wait = exc.retry_after
                await asyncio.sleep(min(float(getattr(wait, "total_seconds", lambda: wait)()), 30.0))
            except (Forbidden, BadRequest) as exc:  # blocked by the user, chat gone: no retry helps
                await self._record_failure(chat_id, f"{exc.__class__.__name__}: {exc.message}")
                return None
            except NetworkError as exc:
                if attempt == self.ATTEMPTS:
                    await self._record_failure(chat_id, f"{exc.__class__.__name__}: {exc.message}")
                    return None
                await asyncio.sleep(delay)
                delay *= 4
        await self._record_failure(chat_id, "gave up after rate limiting")
        return None

    async def _record_failure(self, chat_id: str, error: str) -> None:
        logger.warning("telegram: a message was not delivered (%s)", error)
        await unit_of_work(store.record_failed, CHANNEL, self.participant, str(chat_id), error)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in split_text(text):
            await self._call(self.bot.send_message, recipient_id, text=part)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        parts = split_text(text) or ["…"]  # buttons need a text to hang on
        for part in parts[:-1]:
            await self._call(self.bot.send_message, recipient_id, text=part)
        sent = await self._call(self.bot.send_message, recipient_id, text=parts[-1], reply_markup=keyboard(buttons))
        if sent is not None:
            ref = str(sent.message_id)
            self.turn_options += [{"title": str(b.get("title", "")), "payload": str(b.get("payload", "")),
                                   "message": ref} for b in buttons]
            await unit_of_work(store.save_choices, self.participant, self.turn_options)

    async def send_quick_replies(self, recipient_id: Text, text: Text, quick_replies: List[Dict[Text, Any]],
                                 **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies, **kwargs)

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    async def send_attachment(self, recipient_id: Text, attachment: Text, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, attachment)

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        logger.debug("telegram: custom json is not sent")


# -- input ----------------------------------------------------------------------------------


class TelegramInput(OutboxSender, InputChannel):
    """``/webhooks/telegram/webhook``: Telegram's updates, one code path for webhook and polling."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            token=str(credentials["token"]),
            webhook_secret=str(credentials["webhook_secret"]),
            api_base=str(credentials.get("api_base") or "https://api.telegram.org"),
        )

    def __init__(self, token: str, webhook_secret: str, api_base: str = "https://api.telegram.org") -> None:
        if not token or not webhook_secret:
            raise ValueError("the Telegram channel needs a bot token and a webhook secret")
        self.token = token
        self.webhook_secret = webhook_secret
        self.api_base = api_base.rstrip("/")
        self._bot: Optional[Bot] = None
        self._bot_lock: Optional[asyncio.Lock] = None

    async def bot(self) -> Bot:
        """The bot, made on first use inside the server's event loop (its HTTP client lives there)."""
        if self._bot_lock is None:
            self._bot_lock = asyncio.Lock()
        async with self._bot_lock:
            if self._bot is None:
                request = HTTPXRequest(connection_pool_size=32, read_timeout=15, connect_timeout=10)
                bot = Bot(self.token, base_url=f"{self.api_base}/bot", request=request)
                await request.initialize()
                self._bot = bot
            return self._bot

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = webhook_blueprint("telegram_webhook", lambda request: self.receive(request, on_new_message))

        @hook.listener("after_server_start")
        async def start(_app: Any, _loop: Any) -> None:  # caseworkers' messages from the dashboard
            self.start_flusher()

        return hook

    async def send_outgoing(self, recipient: str, body: str, buttons: Optional[List[Dict[str, str]]] = None,
                            pseudonym: str = "") -> Optional[str]:
        """A message that is not a reply (a caseworker's, a reminder), from the outbox.

        With ``buttons`` the last part carries them as a keyboard, and they become the chat's
        current choices (a tap on an older keyboard then answers nothing).
        """
        bot = await self.bot()
        sent = None
        try:
            parts = split_text(body) or ["…"]
            for i, part in enumerate(parts):
                markup = keyboard(buttons) if buttons and i == len(parts) - 1 else None
                sent = await bot.send_message(chat_id=recipient, text=part, reply_markup=markup)
        except (Forbidden, BadRequest) as exc:  # blocked by the user, chat gone
            raise GatewayError(f"{exc.__class__.__name__}: {exc.message}", permanent=True) from exc
        except (RetryAfter, NetworkError) as exc:
            raise GatewayError(f"{exc.__class__.__name__}: {exc.message}") from exc
        if buttons and sent is not None and pseudonym:
            options = [{"title": str(b.get("title", "")), "payload": str(b.get("payload", "")),
                        "message": str(sent.message_id)} for b in buttons]
            await unit_of_work(store.save_choices, pseudonym, options)
        return str(sent.message_id) if sent is not None else None

    def authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER) or ""
        return hmac.compare_digest(given.encode("utf-8"), self.webhook_secret.encode("utf-8"))

    async def receive(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if not self.authentic(request):
            return response.json({"error": "forbidden"}, status=403)
        try:
            data = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError):
            return response.json({"error": "not JSON"}, status=400)
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return response.json({"error": "not a Telegram update"}, status=400)
        bot = await self.bot()
        try:
            update = Update.de_json(data, bot)
        except Exception:  # noqa: BLE001 - any malformed update is the sender's error
            logger.info("telegram: an update could not be read", exc_info=True)
            return response.json({"error": "malformed update"}, status=400)
        if update is None or not well_formed(update):
            return response.json({"error": "malformed update"}, status=400)
        update_key = str(update.update_id)
        if not await unit_of_work(store.first_delivery, CHANNEL, update_key):
            return response.json({"status": "duplicate"})
        try:
            await self.handle(update, bot, request, on_new_message)
        except Exception:  # noqa: BLE001 - Telegram redelivers on a 5xx: let it, and take it again
            logger.exception("telegram: update %s failed", update_key)
            await unit_of_work(store.forget_delivery, CHANNEL, update_key)
            return response.json({"error": "temporarily unavailable"}, status=503)
        await unit_of_work(store.mark_handled, CHANNEL, update_key)
        return response.json({"status": "ok"})

    async def handle(self, update: Update, bot: Bot, request: Request,
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if update.callback_query is not None:
            await self.on_callback(update, bot, on_new_message)
        elif update.message is not None:
            await self.on_message(update.message, bot, request, on_new_message)
        elif update.edited_message is not None:
            await self.reply_politely(update.edited_message, bot, request, "edited_not_read")
        elif update.my_chat_member is not None:
            await self.on_membership(update, bot, request)
        else:  # channel posts, polls, inline queries ...: not for this bot
            logger.debug("telegram: update %s of another kind ignored", update.update_id)

    def participant(self, chat_id: int) -> str:
        return pseudonym(settings().secret, CHANNEL, str(chat_id))

    async def on_message(self, message: Message, bot: Bot, request: Request,
                         on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if message.chat.type != PRIVATE:
            return  # a group's talk is not for us, and may hold other people's data
        if not message.text:
            await self.reply_politely(message, bot, request, "only_text")
            return
        text = as_user_text(message.text)
        if not text:
            await self.reply_politely(message, bot, request, "only_text")
            return
        await self.forward(message.chat.id, text, message.from_user, bot, on_new_message)

    async def on_callback(self, update: Update, bot: Bot,
                          on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        query = update.callback_query
        try:
            await bot.answer_callback_query(query.id)
        except TelegramError:  # too old to answer; the choice still counts
            logger.info("telegram: a callback query could not be answered")
        message = query.message
        if message is None or not isinstance(message, Message) or message.chat.type != PRIVATE or not query.data:
            return
        options = await unit_of_work(store.load_choices, self.participant(message.chat.id))
        current = [o for o in options if o.get("message") == str(message.message_id)]
        if not current:  # the keyboard of an earlier question: tapping it must not answer this one
            try:
                await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id,
                                                    reply_markup=None)
            except TelegramError:
                logger.debug("telegram: an old keyboard could not be removed", exc_info=True)
            return
        payload = decode_callback(query.data, current)
        if payload is None:
            return
        await self.mark_choice(bot, message, query.data)
        await self.forward(message.chat.id, payload, query.from_user, bot, on_new_message)

    async def mark_choice(self, bot: Bot, message: Message, data: str) -> None:
        """Show the tapped answer under the question and take the keyboard away (no double taps)."""
        title = None
        markup = message.reply_markup
        for row in (markup.inline_keyboard if markup else ()):
            for button in row:
                if button.callback_data == data:
                    title = button.text
        if not message.text or title is None:
            return
        try:
            await bot.edit_message_text(f"{message.text}\n\n✓ {title}"[:MAX_TEXT], chat_id=message.chat.id,
                                        message_id=message.message_id)
        except TelegramError:  # e.g. "message is not modified" after a double tap
            logger.debug("telegram: the question could not be marked", exc_info=True)

    async def forward(self, chat_id: int, text: str, user: Any, bot: Bot,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        metadata: Dict[str, Any] = {}
        if user is not None and getattr(user, "language_code", None):
            metadata["language_code"] = user.language_code
        output = TelegramOutput(bot, self.participant(chat_id))
        await on_new_message(UserMessage(text, output, str(chat_id), input_channel=CHANNEL, metadata=metadata))
        if not output.turn_options:  # no question with buttons now: no earlier keyboard answers anything
            await unit_of_work(store.save_choices, output.participant, [])

    async def reply_politely(self, message: Message, bot: Bot, request: Request, key: str) -> None:
        if message.chat.type != PRIVATE:
            return
        hint = message.from_user.language_code if message.from_user else None
        language = await conversation_language(request.app, str(message.chat.id), hint)
        catalog = catalog_for(language)
        output = TelegramOutput(bot, self.participant(message.chat.id))
        await output.send_text_message(str(message.chat.id), catalog.text(key))

    async def on_membership(self, update: Update, bot: Bot, request: Request) -> None:
        member = update.my_chat_member
        chat = member.chat
        if chat.type == PRIVATE:  # the participant blocked or unblocked the bot
            logger.info("telegram: a participant's chat status is now %s", member.new_chat_member.status)
            return
        if member.new_chat_member.status in ("member", "administrator"):
            hint = member.from_user.language_code if member.from_user else None
            catalog = catalog_for(await conversation_language(request.app, None, hint))
            try:
                await bot.send_message(chat_id=chat.id, text=catalog.text("private_chat_only"))
                await bot.leave_chat(chat_id=chat.id)
            except TelegramError:
                logger.info("telegram: could not leave a group", exc_info=True)
