"""Settings of the web apps (tablet chat, dashboard), read from the environment at call time."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Mapping, Optional

from bot.config import Config


def derived_key(secret: bytes, purpose: str) -> str:
    """A key for one purpose, derived from INTAKE_SECRET, so there is one secret to manage."""
    return hmac.new(secret, purpose.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebConfig:
    intake: Config
    secret_key: str  # signs the session cookie
    rasa_url: str  # where the tablet hands messages to Rasa
    tablet_key: str  # the tablet channel's key between the web app and Rasa
    session_minutes: int = 30  # signed out after this long without a request
    tablet_idle_seconds: int = 300  # the tablet starts over after this long without a touch
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "WebConfig":
        env = os.environ if env is None else env
        intake = Config.from_env(env)
        return cls(
            intake=intake,
            secret_key=derived_key(intake.secret, "web-session"),
            rasa_url=(env.get("INTAKE_RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            tablet_key=tablet_key(intake),
            session_minutes=int(env.get("INTAKE_SESSION_MINUTES") or 30),
            tablet_idle_seconds=int(env.get("INTAKE_TABLET_IDLE_SECONDS") or 300),
            secure_cookies=intake.production,
        )


def tablet_key(intake: Config) -> str:
    return derived_key(intake.secret, "tablet-channel")
