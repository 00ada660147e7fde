"""Sending from the outbox: what a channel that can write to a participant unasked shares.

SMS gateways use it for every reply; Telegram for what is not a reply to a message just
received (a caseworker's message from the dashboard). A message is sent at once when it is
queued by this process, and a flusher sends what is due: retries, and messages queued by another
process (the web app) or left by a stopped one.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any, Awaitable, Dict, List, Optional

from bot.channels import store
from bot.channels.base import unit_of_work

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 10.0  # seconds between looks for messages that are due


class GatewayError(Exception):
    """The gateway did not take a message. ``permanent``: retrying will not help (a bad number)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class OutboxSender(ABC):
    """Mixin for an input channel that sends the outbox rows of its own channel name."""

    flush_interval = FLUSH_INTERVAL

    def _outbox_state(self) -> None:
        if not hasattr(self, "_pending"):
            self._pending: set = set()
            self._flusher: Optional[asyncio.Task] = None

    @classmethod
    @abstractmethod
    def name(cls) -> str:
        ...

    @abstractmethod
    async def send_outgoing(self, recipient: str, body: str, buttons: Optional[List[Dict[str, str]]] = None,
                            pseudonym: str = "") -> Optional[str]:
        """Send one message; the gateway's id for it, if any. Raises GatewayError.

        ``buttons``: options to show with it (a channel with real buttons shows them; an SMS has
        them numbered in its body already). ``pseudonym``: the participant's, for their choices.
        """

    def spawn(self, work: Awaitable[Any]) -> None:
        self._outbox_state()
        task = asyncio.ensure_future(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def deliver(self, message_id: int) -> str:
        """Send one queued message if it is due; returns its status afterwards."""
        outgoing = await unit_of_work(store.claim, message_id)
        if outgoing is None:
            return "not due"
        try:
            gateway_id = await self.send_outgoing(outgoing.recipient, outgoing.body, outgoing.buttons,
                                                  outgoing.pseudonym)
        except GatewayError as exc:
            status = await unit_of_work(store.mark_failed_attempt, message_id, str(exc), exc.permanent)
            logger.warning("%s: message %s not sent (%s), now %s", self.name(), message_id, exc, status)
            return status
        except Exception as exc:  # noqa: BLE001 - a network error: retry later
            status = await unit_of_work(store.mark_failed_attempt, message_id, f"{exc.__class__.__name__}: {exc}")
            logger.warning("%s: message %s not sent (%s), now %s", self.name(), message_id, exc, status)
            return status
        await unit_of_work(store.mark_sent, message_id, gateway_id)
        return "sent"

    async def flush(self) -> int:
        """Send every message that is due on this channel."""
        sent = 0
        for message_id in await unit_of_work(store.due_ids, self.name()):
            if await self.deliver(message_id) == "sent":
                sent += 1
        return sent

    def start_flusher(self) -> None:
        self._outbox_state()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_forever())

    async def _flush_forever(self) -> None:
        while True:
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - keep retrying; the database may be back soon
                logger.exception("%s: the outbox could not be flushed", self.name())
            await asyncio.sleep(self.flush_interval)
