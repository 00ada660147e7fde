"""What our Rasa input channels share: settings, database work off the event loop, languages."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import Config
from bot.db import in_worker_transaction
from bot.i18n import Catalog, load_catalogs

logger = logging.getLogger(__name__)

# Words a participant may type as a command; anything else starting with "/" is plain text, so
# that nobody can type an intent or entities ("/choose{...}") into the assistant.
COMMANDS = {
    "start": "/greet",
    "help": "/help",
    "hjalp": "/help",
    "stop": "/stop",
    "stopp": "/stop",
    "language": "/change_language",
    "sprak": "/change_language",
}


def settings() -> Config:
    return Config.from_env()


# One transaction per call, in a worker thread: the database driver blocks.
unit_of_work = in_worker_transaction


def webhook_blueprint(name: str, receive: Callable[[Request], Awaitable[HTTPResponse]]) -> Blueprint:
    """A channel's routes under ``/webhooks/<channel>/``: ``GET /`` (health) and ``POST /webhook``."""
    hook = Blueprint(name, __name__)

    @hook.route("/", methods=["GET"])
    async def health(_request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    @hook.route("/webhook", methods=["POST"])
    async def webhook(request: Request) -> HTTPResponse:
        return await receive(request)

    return hook


def as_user_text(text: str) -> str:
    """What a participant typed, as the text for Rasa: known commands become their intent."""
    stripped = (text or "").strip()
    if stripped.startswith("/"):
        word = stripped[1:].split("@", 1)[0].split(maxsplit=1)[0].lower() if len(stripped) > 1 else ""
        if word in COMMANDS:
            return COMMANDS[word]
        return stripped.lstrip("/").strip()
    return stripped


async def conversation_language(app: Any, sender_id: Optional[str], hint: Optional[str] = None) -> str:
    """The language of a conversation: the tracker's ``language`` slot, else a hint, else Swedish."""
    catalogs = load_catalogs(settings().locales_dir)
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is not None and sender_id:
        try:
            tracker = await store.retrieve(sender_id)
        except Exception:  # noqa: BLE001 - a reply in the hinted language is better than none
            logger.warning("could not read the conversation's language", exc_info=True)
            tracker = None
        language = tracker.get_slot("language") if tracker is not None else None
        if language in catalogs:
            return language
    code = (hint or "").split("-")[0].lower()
    return code if code in catalogs else "sv"


def catalog_for(language: str) -> Catalog:
    return load_catalogs(settings().locales_dir).get(language)
