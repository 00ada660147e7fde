"""PHQ-4 (Kroenke et al., 2009): four items scored 0-3, total 0-12.

Bands as published: 0-2 normal, 3-5 mild, 6-8 moderate, 9-12 severe. Items 1-2 form GAD-2
(anxiety) and items 3-4 PHQ-2 (depression); a subscale sum of 3 or more is a positive screen.
A screen is not a diagnosis. With any item missing no score is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass(frozen=True)
class PHQ4:
    total: int
    band: str
    anxiety_positive: bool
    depression_positive: bool


def band_of(total: int) -> str:
    if not 0 <= total <= 12:
        raise ValueError(f"PHQ-4 total out of range: {total}")
    if total <= 2:
        return "normal"
    if total <= 5:
        return "mild"
    if total <= 8:
        return "moderate"
    return "severe"


def phq4_result(items: Sequence[object]) -> Optional[PHQ4]:
    """Score four answers ("0".."3"); None when any is missing, skipped or invalid."""
    if len(items) != 4:
        raise ValueError("PHQ-4 has four items")
    values = []
    for item in items:
        try:
            value = int(str(item))
        except (TypeError, ValueError):
            return None
        if not 0 <= value <= 3:
            return None
        values.append(value)
    total = sum(values)
    return PHQ4(
        total=total,
        band=band_of(total),
        anxiety_positive=values[0] + values[1] >= 3,
        depression_positive=values[2] + values[3] >= 3,
    )
