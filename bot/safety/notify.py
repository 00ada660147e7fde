"""Telling caseworkers at once that a participant needs a person: an e-mail without personal data.

Configured by the environment (unset: no e-mail; the dashboard still shows the alert first)::

    INTAKE_ALERT_EMAIL_TO=handlaggare@kommun.se,jour@kommun.se
    INTAKE_SMTP_HOST=smtp.kommun.se   INTAKE_SMTP_PORT=587   INTAKE_SMTP_STARTTLS=true
    INTAKE_SMTP_USER=...   INTAKE_SMTP_PASSWORD=...   INTAKE_ALERT_EMAIL_FROM=intake@kommun.se
    INTAKE_DASHBOARD_URL=https://intag.kommun.se      (for the link in the e-mail)

The e-mail says what kind of alert it is and links to the dashboard; who and what stay there,
behind sign-in.
"""

from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Mapping, Optional, Tuple

logger = logging.getLogger(__name__)

KINDS = {
    "suicide": "tankar på självmord",
    "self_harm": "självskada",
    "violence": "våld eller hot",
    "danger": "akut fara",
    "other": "kris",
    "asked": "vill prata med en person",
}


@dataclass(frozen=True)
class MailSettings:
    recipients: Tuple[str, ...]
    host: str
    port: int = 25
    starttls: bool = False
    user: str = ""
    password: str = ""
    sender: str = "intake@localhost"
    dashboard_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Optional["MailSettings"]:
        env = os.environ if env is None else env
        recipients = tuple(a.strip() for a in env.get("INTAKE_ALERT_EMAIL_TO", "").split(",") if a.strip())
        host = env.get("INTAKE_SMTP_HOST", "").strip()
        if not recipients or not host:
            return None
        return cls(
            recipients=recipients,
            host=host,
            port=int(env.get("INTAKE_SMTP_PORT", "25")),
            starttls=env.get("INTAKE_SMTP_STARTTLS", "").lower() in ("1", "true", "yes"),
            user=env.get("INTAKE_SMTP_USER", ""),
            password=env.get("INTAKE_SMTP_PASSWORD", ""),
            sender=env.get("INTAKE_ALERT_EMAIL_FROM", "intake@localhost"),
            dashboard_url=env.get("INTAKE_DASHBOARD_URL", "http://127.0.0.1:8000").rstrip("/"),
        )


def compose(settings: MailSettings, handoff_id: int, kind: str, urgent: bool) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Subject"] = ("BRÅDSKANDE: " if urgent else "") + f"En deltagare behöver kontakt ({KINDS.get(kind, kind)})"
    message.set_content(
        "En deltagare i intagsassistenten behöver kontakt med en person.\n"
        f"Typ: {KINDS.get(kind, kind)}.\n\n"
        f"Öppna samtalet: {settings.dashboard_url}/handoffs/{handoff_id}\n\n"
        "Det här mejlet innehåller inga personuppgifter. Du ser samtalet efter inloggning.\n"
    )
    return message


def send_alert(handoff_id: int, kind: str, urgent: bool, settings: Optional[MailSettings] = None) -> bool:
    """Send the e-mail (blocking: call it in a thread). False when not configured or it failed."""
    settings = settings or MailSettings.from_env()
    if settings is None:
        return False
    message = compose(settings, handoff_id, kind, urgent)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=15) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        logger.error("alert e-mail for handoff %s not sent: %s", handoff_id, exc.__class__.__name__)
        return False
