"""Telegram administration and polling mode: ``intake telegram setup | remove-webhook | poll``.

Polling mode is for a deployment without a public HTTPS address (and for trying the bot on a
laptop): it fetches updates with getUpdates and hands each to our own webhook on localhost, with
the webhook secret, so that both modes take the same path: the secret check, one processing per
update_id, the same replies. An update is handed on until our server has taken it; the next one
waits, so a participant's messages keep their order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Dict, List, Optional

import httpx
from telegram import Bot, BotCommand, Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.base import settings
from bot.channels.telegram import ALLOWED_UPDATES, SECRET_HEADER
from bot.i18n import load_catalogs

logger = logging.getLogger(__name__)

COMMANDS = ("start", "help", "language", "stop")
# Telegram's language_code (ISO 639-1) for our catalogues; Kurdish clients say "ku"
TELEGRAM_LANGUAGE_CODES: Dict[str, str] = {"sv": "sv", "en": "en", "ar": "ar", "so": "so", "ti": "ti",
                                           "fa": "fa", "uk": "uk", "kmr": "ku"}


def bot_commands(language: str) -> List[BotCommand]:
    catalog = load_catalogs(settings().locales_dir).get(language)
    return [BotCommand(name, catalog.text(f"command_{name}")) for name in COMMANDS]


async def setup(bot: Bot, url: Optional[str], secret: str) -> List[str]:
    """Set the webhook (when ``url`` is given) and the command menu in every language."""
    done = []
    if url:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES, max_connections=40)
        done.append(f"webhook: {url}")
    await bot.set_my_commands(bot_commands("sv"))
    for code, telegram_code in TELEGRAM_LANGUAGE_CODES.items():
        await bot.set_my_commands(bot_commands(code), language_code=telegram_code)
    done.append(f"commands: {len(COMMANDS)} in {len(TELEGRAM_LANGUAGE_CODES)} languages (Swedish by default)")
    return done


class Forwarder:
    """Hands updates to the webhook, retrying until it has taken them."""

    def __init__(self, webhook: str, secret: str, max_delay: float = 30.0) -> None:
        self.webhook = webhook
        self.secret = secret
        self.max_delay = max_delay
        self.client = httpx.AsyncClient(timeout=60)

    async def forward(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        body = update.to_dict()
        delay = 0.5
        while True:
            try:
                reply = await self.client.post(self.webhook, json=body, headers={SECRET_HEADER: self.secret})
                if reply.status_code < 500:
                    if reply.status_code >= 400:  # refused for good (e.g. a wrong secret): say so
                        logger.error("the webhook refused update %s: %s", update.update_id, reply.status_code)
                    return
                logger.warning("the webhook answered %s; trying update %s again", reply.status_code, update.update_id)
            except httpx.HTTPError as exc:
                logger.warning("the webhook is not reachable (%s); trying again", exc.__class__.__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay)

    async def close(self) -> None:
        await self.client.aclose()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The central error handler: log, never crash the poller."""
    logger.error("telegram poller: %s", context.error, exc_info=context.error)


def build_poller(token: str, api_base: str, webhook: str, secret: str) -> Application:
    forwarder = Forwarder(webhook, secret)

    async def post_shutdown(_application: Application) -> None:
        await forwarder.close()

    application = (
        Application.builder()
        .token(token)
        .base_url(f"{api_base.rstrip('/')}/bot")
        .post_shutdown(post_shutdown)
        .build()
    )
    application.add_handler(TypeHandler(Update, forwarder.forward))
    application.add_error_handler(on_error)
    return application


def main(token: str, api_base: str, webhook: str, secret: str, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """Poll until stopped (Ctrl-C or SIGTERM). Deletes a webhook first: Telegram allows one or the other."""
    application = build_poller(token, api_base, webhook, secret)
    application.run_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=poll_interval, timeout=timeout,
                            drop_pending_updates=False)
