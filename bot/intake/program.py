"""The programme's rules: eligibility, barriers profile, priority and urgency.

The rules are data (``program.yml``); this module applies them to screening answers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import yaml

from bot.intake.answers import normalize
from bot.intake.booking import BookingRules
from bot.intake.phq4 import phq4_result
from bot.intake.questions import QUESTIONS, SKIPPED

AGE_BANDS = QUESTIONS["age_band"].options


@dataclass(frozen=True)
class Barrier:
    code: str
    when: Mapping[str, Tuple[str, ...]]
    weight: int

    def applies(self, facts: Mapping[str, object]) -> bool:
        return any(str(facts.get(key)) in values for key, values in self.when.items())


@dataclass(frozen=True)
class Assessment:
    eligible: Optional[bool]  # None: not decidable from the answers (a caseworker checks)
    reasons: List[str]  # codes: why not eligible, or what could not be checked
    barriers: List[str]
    score: int
    priority: int
    urgent: bool
    phq4_score: Optional[int]
    phq4_band: Optional[str]


@dataclass(frozen=True)
class Program:
    activity: Mapping[str, str]
    served_municipalities: Tuple[str, ...]
    age_bands: Tuple[str, ...]
    active_statuses: Tuple[str, ...]
    places: Mapping[str, str]  # place name -> municipality code
    barriers: Tuple[Barrier, ...]
    priority_high: int
    priority_medium: int
    urgent_when: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    # the questions of the short intake (SMS), and the channels that use it
    short_intake_questions: Tuple[str, ...] = ()
    short_intake_channels: Tuple[str, ...] = ()
    # when staff answer handed-over chats: ISO weekdays (1 = Monday) and local hours
    staffed_days: Tuple[int, ...] = (1, 2, 3, 4, 5)
    staffed_from: time = time(9, 0)
    staffed_to: time = time(16, 0)
    consent_version: str = "2026-11-v1"
    retention_months: int = 24
    unlinked_retention_days: int = 30
    # reminders, the waiting list's offers, quiet hours (``booking:``)
    booking: BookingRules = field(default_factory=BookingRules)

    @classmethod
    def from_mapping(cls, raw: Mapping) -> "Program":
        eligibility = raw.get("eligibility") or {}
        places: Dict[str, str] = {}
        for municipality, names in (raw.get("places") or {}).items():
            for name in names:
                places[normalize(str(name))] = municipality
        barriers = tuple(
            Barrier(
                code=code,
                when={k: tuple(str(v) for v in vs) for k, vs in spec["when"].items()},
                weight=int(spec.get("weight", 1)),
            )
            for code, spec in (raw.get("barriers") or {}).items()
        )
        priority = raw.get("priority") or {}
        short = raw.get("short_intake") or {}
        handoff = raw.get("handoff") or {}
        privacy = raw.get("privacy") or {}
        unknown = [k for k in short.get("questions") or () if k not in QUESTIONS]
        if unknown:
            raise ValueError(f"short_intake names unknown questions: {unknown}")
        if short.get("questions") and "consent_data" not in short["questions"]:
            raise ValueError("short_intake must ask consent_data: without consent nothing is stored")
        return cls(
            activity=dict(raw.get("activity") or {}),
            served_municipalities=tuple(eligibility.get("served_municipalities") or ()),
            age_bands=tuple(str(b) for b in eligibility.get("age_bands") or ()),
            active_statuses=tuple(eligibility.get("active_statuses") or ()),
            places=places,
            barriers=barriers,
            priority_high=int(priority.get("high", 8)),
            priority_medium=int(priority.get("medium", 4)),
            urgent_when={k: tuple(str(v) for v in vs) for k, vs in (raw.get("urgent_when") or {}).items()},
            short_intake_questions=tuple(str(k) for k in short.get("questions") or ()),
            short_intake_channels=tuple(str(c) for c in short.get("channels") or ()),
            staffed_days=tuple(int(d) for d in handoff.get("staffed_days") or (1, 2, 3, 4, 5)),
            staffed_from=_clock(handoff.get("staffed_from", "09:00")),
            staffed_to=_clock(handoff.get("staffed_to", "16:00")),
            consent_version=str(privacy.get("consent_version", "2026-11-v1")),
            retention_months=int((raw.get("activity") or {}).get("retention_months", 24)),
            unlinked_retention_days=int(privacy.get("unlinked_conversation_days", 30)),
            booking=BookingRules.from_mapping(raw.get("booking"), timezone=str(raw.get("timezone") or "Europe/Stockholm")),
        )

    def short_intake_on(self, channel: Optional[str]) -> bool:
        return channel in self.short_intake_channels

    def municipality_of(self, place: str) -> Optional[str]:
        return self.places.get(normalize(place))

    def assess(self, answers: Mapping[str, object], already_active: bool = False) -> Assessment:
        """Eligibility, barriers and priority for one participant's answers (slot values)."""
        phq = phq4_result([answers.get(f"phq_{i}") for i in range(1, 5)])
        facts: Dict[str, object] = dict(answers)
        facts["phq4_band"] = phq.band if phq else None

        reasons: List[str] = []
        undecided: List[str] = []
        municipality = answers.get("municipality")
        if municipality in (None, SKIPPED):
            undecided.append("municipality_unknown")
        elif municipality not in self.served_municipalities:
            reasons.append("outside_area")
        age = answers.get("age_band")
        if age in (None, SKIPPED):
            undecided.append("age_unknown")
        elif age not in self.age_bands:
            reasons.append("too_young" if _band_order(age) < min(map(_band_order, self.age_bands), default=0) else "too_old")
        if already_active:
            reasons.append("already_registered")

        eligible: Optional[bool]
        if reasons:
            eligible = False
        elif undecided:
            eligible = None
        else:
            eligible = True

        barriers = [b for b in self.barriers if b.applies(facts)]
        score = sum(b.weight for b in barriers)
        if score >= self.priority_high:
            priority = 1
        elif score >= self.priority_medium:
            priority = 2
        else:
            priority = 3
        urgent = any(str(facts.get(k)) in vs for k, vs in self.urgent_when.items())
        return Assessment(
            eligible=eligible,
            reasons=reasons or undecided,
            barriers=[b.code for b in barriers],
            score=score,
            priority=priority,
            urgent=urgent,
            phq4_score=phq.total if phq else None,
            phq4_band=phq.band if phq else None,
        )


def _band_order(band: str) -> int:
    return AGE_BANDS.index(band) if band in AGE_BANDS else len(AGE_BANDS)


_cache: Dict[Tuple[str, float], Program] = {}
_lock = threading.Lock()


def _clock(value: object) -> time:
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


def load_program(path: Path) -> Program:
    path = Path(path)
    key = (str(path), path.stat().st_mtime)
    with _lock:
        program = _cache.get(key)
        if program is None:
            with path.open(encoding="utf-8") as handle:
                program = Program.from_mapping(yaml.safe_load(handle) or {})
            _cache.clear()
            _cache[key] = program
        return program


def booking_rules(config) -> BookingRules:
    """The programme's booking rules (``program.yml``) in the configured time zone (``Config``)."""
    from dataclasses import replace

    return replace(load_program(config.program_file).booking, timezone=config.timezone)
