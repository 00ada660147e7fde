"""Swedish labels of the codes the dashboard shows: statuses, channels, steps, reasons."""

from __future__ import annotations

from typing import Mapping, Optional

STATUS_LABELS: Mapping[str, str] = {
    "new": "Ny",
    "contacted": "Kontaktad",
    "accepted": "Antagen",
    "started": "Har börjat",
    "declined": "Avböjd",
    "withdrawn": "Återkallad",
}

BOOKING_LABELS: Mapping[str, str] = {
    "booked": "Bokad",
    "waitlisted": "Kölista",
    "offered": "Erbjuden plats (väntar på svar)",
    "cancelled": "Avbokad",
    "attended": "Kom",
    "no_show": "Kom inte",
}

CANCEL_REASON_LABELS: Mapping[str, str] = {
    "participant": "av deltagaren",
    "staff": "av personal",
    "rescheduled": "flyttad till en annan tid",
    "offer_declined": "tackade nej till erbjuden plats",
    "offer_expired": "svarade inte på erbjuden plats i tid",
    "withdrawn": "samtycket återtaget",
}

MESSAGE_KIND_LABELS: Mapping[str, str] = {
    "offer": "Erbjudande om plats",
    "offer_expired": "Erbjudandet gick ut",
    "no_show": "Uppföljning: ny tid?",
}

MESSAGE_STATUS_LABELS: Mapping[str, str] = {
    "pending": "planerad",
    "sending": "skickas",
    "sent": "skickad",
    "held": "kan inte skickas i den kanalen – berätta för deltagaren",
    "cancelled": "stoppad",
    "skipped": "hoppades över (för sent)",
}


def message_kind_label(kind: str) -> str:
    """ "Påminnelse 24 h före" for ``reminder:1440``."""
    if kind.startswith("reminder:"):
        minutes = int(kind.split(":", 1)[1])
        before = f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"
        return f"Påminnelse {before} före"
    return label(MESSAGE_KIND_LABELS, kind)

ATTENDANCE_LABELS: Mapping[str, str] = {
    "attended": "Kom",
    "no_show": "Kom inte",
}

CHANNEL_LABELS: Mapping[str, str] = {
    "telegram": "Telegram",
    "46elks": "Sms (46elks)",
    "twilio": "Sms (Twilio)",
    "tablet": "Surfplatta",
    "rest": "Webb (REST)",
}

SCREENING_LABELS: Mapping[str, str] = {
    "full": "Full",
    "short": "Kort (sms)",
}

STEP_LABELS: Mapping[str, str] = {
    "started": "Började",
    "consented": "Samtyckte",
    "screened": "Svarade klart",
    "eligible": "Uppfyller villkoren",
    "booked": "Bokade tid",
    "attended": "Kom till mötet",
}

REASON_TEXTS: Mapping[str, str] = {
    "outside_area": "Bor utanför kommunen",
    "too_young": "Under 18 år",
    "too_old": "65 år eller äldre",
    "already_registered": "Redan anmäld",
    "municipality_unknown": "Kommun okänd: kontrollera",
    "age_unknown": "Ålder okänd: kontrollera",
}

ELIGIBLE_LABELS: Mapping[Optional[bool], str] = {
    True: "Ja",
    False: "Nej",
    None: "Oklart: en handläggare kontrollerar",
}

PHQ4_BAND_LABELS: Mapping[str, str] = {
    "normal": "normal",
    "mild": "lätt",
    "moderate": "måttlig",
    "severe": "svår",
}

ACTION_LABELS: Mapping[str, str] = {
    "referral.viewed": "Öppnade remiss",
    "referrals.listed": "Visade remisslistan",
    "referrals.exported": "Exporterade remisser",
    "referral.status_changed": "Ändrade status",
    "referral.note_added": "Skrev anteckning",
    "referral.created": "Ny remiss",
    "session.created": "Nytt pass",
    "session.capacity_changed": "Ändrade antal platser",
    "session.viewed": "Öppnade deltagarlista",
    "booking.attendance_marked": "Markerade närvaro",
    "booking.booked": "Bokning",
    "booking.waitlisted": "Kölista",
    "booking.cancelled": "Avbokning",
    "user.signed_in": "Loggade in",
    "user.signed_out": "Loggade ut",
    "user.sign_in_failed": "Misslyckad inloggning",
}


def label(mapping: Mapping, code, default: Optional[str] = None) -> str:
    """The label of ``code``, or the code itself (or ``default``) when there is none."""
    if code in mapping:
        return mapping[code]
    if default is not None:
        return default
    return "" if code is None else str(code)
