"""Liveness and readiness of a Rasa instance, for a load balancer or Kubernetes.

``/webhooks/health/live``: the process answers. ``/webhooks/health/ready``: the model is loaded
and the referral database and the lock store (Redis in production) answer; 503 with what is
wrong otherwise. A Rasa input channel of ours, so that it lives in Rasa's own server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import text

logger = logging.getLogger(__name__)
TIMEOUT = 3.0


def _database_answers() -> None:
    from bot.config import Config
    from bot.db import get_database

    with get_database(Config.from_env()).engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _lock_store_answers(app: Any) -> Optional[str]:
    agent = getattr(app.ctx, "agent", None)
    store = getattr(getattr(agent, "lock_store", None), "red", None)
    if store is None:
        return None  # the in-memory lock store of a single instance
    await asyncio.wait_for(asyncio.to_thread(store.ping), TIMEOUT)
    return "redis"


class HealthInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        health = Blueprint("health", __name__)

        @health.get("/live")
        async def live(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @health.get("/ready")
        async def ready(request: Request) -> HTTPResponse:
            checks: Dict[str, str] = {}
            agent = getattr(request.app.ctx, "agent", None)
            checks["model"] = "ok" if agent is not None and agent.is_ready() else "not loaded"
            try:
                await asyncio.wait_for(asyncio.to_thread(_database_answers), TIMEOUT)
                checks["database"] = "ok"
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                checks["database"] = exc.__class__.__name__
            try:
                checks["lock_store"] = "ok" if await _lock_store_answers(request.app) else "in memory"
            except Exception as exc:  # noqa: BLE001
                checks["lock_store"] = exc.__class__.__name__
            good = checks["model"] == "ok" and checks["database"] == "ok" and checks["lock_store"] in ("ok", "in memory")
            return response.json({"status": "ok" if good else "unavailable", "checks": checks},
                                 status=200 if good else 503)

        return health
