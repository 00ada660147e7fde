"""Factories for the intake tests: real rows in the real (migrated) test database."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import List, Optional

import pytest

from bot.db.models import Activity, ActivitySession, Participant, Referral
from bot.db.types import utcnow
from bot.intake.program import Program, load_program
from tests.conftest import PROJECT_ROOT

_counter = itertools.count(1)


@pytest.fixture
def program() -> Program:
    """The programme rules of the real ``program.yml``."""
    return load_program(PROJECT_ROOT / "program.yml")


class Factory:
    """Creates rows directly, each call in its own committed transaction; returns ids."""

    def __init__(self, db) -> None:
        self.db = db

    def activity(self, code: Optional[str] = None) -> int:
        with self.db.transaction() as session:
            activity = Activity(
                code=code or f"activity-{next(_counter)}",
                name="Steg ett",
                provider="Föreningen Vägen In",
                municipality="Värmdö kommun",
            )
            session.add(activity)
            session.flush()
            return activity.id

    def session(self, activity_id: int, starts_at: Optional[datetime] = None, capacity: int = 8,
                seats_booked: int = 0) -> int:
        starts_at = starts_at or utcnow() + timedelta(days=3)
        with self.db.transaction() as session:
            row = ActivitySession(
                activity_id=activity_id,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=90),
                place="Träffpunkten Gustavsberg",
                address="Odelbergs väg 11",
                capacity=capacity,
                seats_booked=seats_booked,
            )
            session.add(row)
            session.flush()
            return row.id

    def referrals(self, count: int, status: str = "new", channel: str = "telegram", language: str = "sv",
                  contact_address: Optional[str] = None) -> List[int]:
        """``count`` referrals, each of its own participant."""
        ids = []
        with self.db.transaction() as session:
            for _ in range(count):
                n = next(_counter)
                participant = Participant(pseudonym=f"p{n:062d}", channel=channel, language=language)
                session.add(participant)
                session.flush()
                referral = Referral(
                    participant_id=participant.id,
                    intake_key=f"intake-{n}",
                    status=status,
                    language=language,
                    channel=channel,
                    eligible=True,
                    priority=2,
                    contact_address=contact_address,
                )
                session.add(referral)
                session.flush()
                ids.append(referral.id)
        return ids

    def referral(self, status: str = "new", **kwargs) -> int:
        return self.referrals(1, status=status, **kwargs)[0]


@pytest.fixture
def make(db) -> Factory:
    return Factory(db)
