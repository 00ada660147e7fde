"""Rows for the dashboard tests: referrals as the assistant stores them, sessions, funnel events."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Mapping, Optional

from bot.db.models import Activity, ActivitySession, FunnelEvent, ReferralTranscript
from bot.db.types import utcnow
from bot.intake.booking import book_seat, join_waitlist
from bot.intake.participants import get_or_create_participant, pseudonym
from bot.intake.program import Program, load_program
from bot.intake.referrals import submit_referral
from tests.answers import COMPLETE_ANSWERS
from tests.conftest import PROJECT_ROOT

SECRET = b"test-secret"
SLOTS = dict(COMPLETE_ANSWERS)
_counter = itertools.count(1)


def program() -> Program:
    return load_program(PROJECT_ROOT / "program.yml")


def referral(db, slots: Optional[Mapping[str, object]] = None, *, language: str = "sv", channel: str = "telegram",
             free_texts: Optional[Mapping[str, str]] = None, created_at: Optional[datetime] = None,
             funnel_key: Optional[str] = None, status: Optional[str] = None, screening: str = "full",
             transcript: Optional[list] = None, **changes) -> int:
    """One finished intake (``COMPLETE_ANSWERS`` with ``changes``) of its own participant; its id."""
    n = next(_counter)
    answers = dict(SLOTS if slots is None else slots)
    answers.update(changes)
    with db.transaction() as session:
        participant = get_or_create_participant(session, pseudonym(SECRET, channel, f"sender-{n}"), channel, language)
        result = submit_referral(session, participant=participant, intake_key=f"intake-{n}", language=language,
                                 channel=channel, slots=answers, free_texts=free_texts or {}, program=program(),
                                 screening=screening)
        row = result.referral
        if created_at is not None:
            row.created_at = created_at
        if funnel_key is not None:
            row.funnel_key = funnel_key
        if status is not None:
            row.status = status
        if transcript is not None:
            session.add(ReferralTranscript(referral_id=row.id, messages=transcript))
        session.flush()
        return row.id


def activity_session(db, starts_at: Optional[datetime] = None, capacity: int = 8) -> int:
    starts_at = starts_at or utcnow() + timedelta(days=3)
    with db.transaction() as session:
        activity = Activity(code=f"activity-{next(_counter)}", name="Steg ett", provider="Föreningen Vägen In",
                            municipality="Värmdö kommun")
        session.add(activity)
        session.flush()
        row = ActivitySession(activity_id=activity.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=90),
                              place="Träffpunkten Gustavsberg", address="Odelbergs väg 11", capacity=capacity)
        session.add(row)
        session.flush()
        return row.id


def book(db, referral_id: int, session_id: int) -> int:
    """A seat, or a place on the waiting list when the session is full; the booking's id."""
    with db.transaction() as session:
        result = book_seat(session, referral_id, session_id)
        if result.booking is None:
            result = join_waitlist(session, referral_id, session_id)
        return result.booking.id


def events(db, conversation: str, steps, *, channel: str = "telegram", language: Optional[str] = "sv",
           at: Optional[datetime] = None) -> None:
    """Funnel events of one conversation, one second apart from ``at``."""
    at = at or utcnow()
    with db.transaction() as session:
        for i, step in enumerate(steps):
            session.add(FunnelEvent(conversation=conversation, step=step, channel=channel, language=language,
                                    at=at + timedelta(seconds=i)))


def get(db, model, key):
    with db.transaction() as session:
        return session.get(model, key)


def referral_ids(found) -> list:
    return [r.id for r in found]

