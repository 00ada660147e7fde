"""When staff answer a handed-over chat."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.intake.program import load_program
from bot.safety.hours import next_staffed, staffed_now
from tests.conftest import PROJECT_ROOT

ZONE = "Europe/Stockholm"
PROGRAM = load_program(PROJECT_ROOT / "program.yml")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE))


def test_weekday_office_hours_are_staffed():
    assert staffed_now(PROGRAM, at("2026-11-24 10:00"), ZONE)  # Tuesday
    assert not staffed_now(PROGRAM, at("2026-11-24 16:00"), ZONE)
    assert not staffed_now(PROGRAM, at("2026-11-28 10:00"), ZONE)  # Saturday


def test_the_next_staffed_time_skips_the_weekend():
    assert next_staffed(PROGRAM, at("2026-11-27 17:30"), ZONE) == at("2026-11-30 09:00")  # Friday evening
    assert next_staffed(PROGRAM, at("2026-11-24 07:00"), ZONE) == at("2026-11-24 09:00")
