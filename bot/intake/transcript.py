"""The conversation behind a referral, as the participant saw it, for the caseworker.

Built from Rasa's tracker events: the participant's messages and the assistant's replies, with a
tapped button shown as its label ("Ja"), never as its payload ("/choose{...}").
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy.orm import Session

from bot.db.models import ReferralTranscript

RLM = "\u200f"


def _at(event: Dict[str, Any]) -> Optional[str]:
    stamp = event.get("timestamp")
    if isinstance(stamp, (int, float)):
        return datetime.fromtimestamp(stamp, tz=timezone.utc).isoformat()
    return None


def from_events(events: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    messages: List[Dict[str, Any]] = []
    labels: Dict[str, str] = {}  # payload -> title of the buttons offered last
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            text = (event.get("text") or "").replace(RLM, "")
            buttons = (event.get("data") or {}).get("buttons") or []
            if buttons:
                labels = {str(b.get("payload")): str(b.get("title")) for b in buttons}
            if text:
                messages.append({"from": "assistant", "text": text, "at": _at(event)})
        elif kind == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                text = labels.get(text, text.split("{", 1)[0].lstrip("/"))  # a tap: its label
            if text:
                messages.append({"from": "participant", "text": text, "at": _at(event)})
    return messages


def save_transcript(session: Session, referral_id: int, messages: List[Dict[str, Any]]) -> None:
    row = session.get(ReferralTranscript, referral_id)
    if row is None:
        session.add(ReferralTranscript(referral_id=referral_id, messages=messages))
    else:
        row.messages = messages
