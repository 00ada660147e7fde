"""When staff will answer a handed-over chat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional
from zoneinfo import ZoneInfo

from bot.intake.program import Program


def staffed_now(program: Program, now: datetime, timezone: str) -> bool:
    local = now.astimezone(ZoneInfo(timezone))
    return (
        local.isoweekday() in program.staffed_days
        and program.staffed_from <= local.time() < program.staffed_to
    )


def next_staffed(program: Program, now: datetime, timezone: str) -> Optional[datetime]:
    """The start of the next staffed period after ``now`` (None: staff never answer)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for days in range(0, 15):
        day = (local + timedelta(days=days)).date()
        if day.isoweekday() not in program.staffed_days:
            continue
        start = datetime.combine(day, program.staffed_from, tzinfo=zone)
        if start > local:
            return start
    return None
