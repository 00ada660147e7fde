"""PHQ-4 scoring: published bands, subscales, and no score for incomplete answers."""

from __future__ import annotations

import pytest

from bot.intake.phq4 import band_of, phq4_result


def items_for(total: int):
    """Four item answers ("0".."3") that add up to ``total``, filled from the first item."""
    items = []
    left = total
    for _ in range(4):
        value = min(3, left)
        items.append(str(value))
        left -= value
    assert left == 0
    return items


@pytest.mark.parametrize(
    "total, band",
    [(0, "normal"), (2, "normal"), (3, "mild"), (5, "mild"), (6, "moderate"), (8, "moderate"),
     (9, "severe"), (12, "severe")],
)
def test_published_bands_at_every_boundary(total, band):
    assert band_of(total) == band
    result = phq4_result(items_for(total))
    assert result.total == total
    assert result.band == band


@pytest.mark.parametrize("total", [-1, 13])
def test_band_of_rejects_impossible_totals(total):
    with pytest.raises(ValueError):
        band_of(total)


@pytest.mark.parametrize(
    "items, anxiety, depression",
    [
        (["1", "1", "1", "1"], False, False),  # subscales of 2: negative
        (["1", "2", "0", "0"], True, False),  # GAD-2 = 3
        (["0", "0", "2", "1"], False, True),  # PHQ-2 = 3
        (["3", "0", "0", "3"], True, True),
        (["2", "0", "0", "2"], False, False),  # 4 in total, but split over both scales
        (["3", "3", "3", "3"], True, True),
    ],
)
def test_subscales(items, anxiety, depression):
    result = phq4_result(items)
    assert result.anxiety_positive is anxiety
    assert result.depression_positive is depression


def test_integer_items_are_accepted():
    assert phq4_result([0, 1, 2, 3]).total == 6


@pytest.mark.parametrize("position", range(4))
@pytest.mark.parametrize("bad", [None, "skipped", "4", "-1", "", "två", "1.5"])
def test_any_missing_skipped_or_invalid_item_gives_no_score(position, bad):
    items = ["3", "3", "3", "3"]
    items[position] = bad
    assert phq4_result(items) is None


@pytest.mark.parametrize("items", [[], ["1", "1", "1"], ["1"] * 5])
def test_phq4_has_four_items(items):
    with pytest.raises(ValueError):
        phq4_result(items)
