"""The CSV of referrals: the same columns and values as ``intake referrals export --format csv``."""

from __future__ import annotations

from typing import Iterable

from bot.db.models import Referral
from bot.intake.referrals import export_csv, export_row


def csv_text(referrals: Iterable[Referral]) -> str:
    """No health answers, no free text, no contact details (see :func:`export_row`)."""
    return export_csv(export_row(r) for r in referrals)
