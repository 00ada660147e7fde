"""The CSV of referrals: the same columns and values as ``intake referrals export --format csv``."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from bot.cli import EXPORT_COLUMNS
from bot.db.models import Referral
from bot.intake.referrals import export_row


def csv_text(referrals: Iterable[Referral]) -> str:
    """No health answers, no free text, no contact details (see :func:`export_row`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for referral in referrals:
        row = export_row(referral)
        booking = row.pop("booking")
        row["eligibility_reasons"] = ";".join(row["eligibility_reasons"])
        row["barriers"] = ";".join(row["barriers"])
        row["booking_status"] = booking["status"] if booking else ""
        row["booking_session_start"] = booking["session_start"] if booking else ""
        writer.writerow({k: row.get(k) for k in EXPORT_COLUMNS})
    return buffer.getvalue()
