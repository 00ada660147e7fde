"""The dashboard: referrals, sessions with attendance, the funnel, the audit log.

Server-rendered, in Swedish. Least privilege: the NGO's staff (``ngo_staff``) see what they
need to welcome a participant (name, phone, language, interpreter, booking, status) and never
a health answer, the PHQ-4, a health barrier, the transcript or a caseworker's note: those parts
are not rendered for them at all. Every view of personal data and every change is audited,
with ids and codes only.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.dashboard import labels, queries
from bot.dashboard.export import csv_text
from bot.dashboard.operations import (
    DashboardError,
    NewSession,
    create_session,
    mark_attendance,
    programme_activity,
    set_capacity,
    update_referral,
)
from bot.dashboard.summary import (
    BEFORE_FIRST_LABEL,
    HEALTH_BARRIERS,
    barrier_text,
    barrier_texts,
    interpreter_need,
    language_name,
    phq4_note,
    question_line,
    swedish_summary,
)
from bot.db.models import ATTENDANCE, FUNNEL_STEPS, REFERRAL_STATUSES, SafetyAlert
from bot.db.types import utcnow
from bot.i18n import load_catalogs
from bot.intake.audit import audit
from bot.intake.privacy import erase_participant
from bot.intake.program import load_program
from bot.intake.referrals import TRANSITIONS, current_booking
from bot.web.auth import database, role_required

bp = Blueprint("dashboard", __name__)

CASE = ("caseworker", "admin")  # may see health data, change statuses, export
STAFF = ("caseworker", "admin", "ngo_staff")
AUDIT_PAGE = 50
LIST_PAGE = 50  # referrals per page of the list
CHANNEL = re.compile(r"^[a-z0-9_-]{1,32}$")
WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")


def settings():
    return current_app.config["INTAKE"].intake


def zone() -> ZoneInfo:
    return ZoneInfo(settings().timezone)


def sees_health() -> bool:
    return current_user.role in CASE


@bp.app_template_filter("local")
def local_time(value: Optional[datetime]) -> str:
    """A moment as the local date and time: 2026-12-01 10:00."""
    if value is None:
        return ""
    return value.astimezone(zone()).strftime("%Y-%m-%d %H:%M")


@bp.app_template_filter("local_long")
def local_long(value: Optional[datetime]) -> str:
    """A moment in words: tisdag 1 december 2026 kl. 10:00."""
    if value is None:
        return ""
    local = value.astimezone(zone())
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year} kl. {local:%H:%M}"


@bp.app_template_filter("iso_local")
def iso_local(value) -> str:
    """An ISO timestamp (from JSON, e.g. a transcript) as local time; empty when it is none."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return ""
    return local_time(moment)


@bp.app_context_processor
def dashboard_context():
    return {"labels": labels, "language_name": language_name, "CASE_ROLES": CASE}


# -- referrals ----------------------------------------------------------------------------------

def _day(value: Optional[str]) -> Tuple[Optional[date], bool]:
    if not value:
        return None, True
    try:
        return date.fromisoformat(value), True
    except ValueError:
        return None, False


def parse_filters(args, languages: List[str], barriers: List[str]) -> Tuple[queries.ReferralFilter, List[str]]:
    """The filters of the query string; values that are not allowed are left out and named."""
    bad: List[str] = []

    def pick(name: str, allowed) -> Optional[str]:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        if allowed(value):
            return value
        bad.append(name)
        return None

    status = pick("status", lambda v: v in REFERRAL_STATUSES)
    language = pick("language", lambda v: v in languages)
    channel = pick("channel", lambda v: bool(CHANNEL.match(v)))
    barrier = pick("barrier", lambda v: v in barriers)
    date_from, ok_from = _day(args.get("from"))
    date_to, ok_to = _day(args.get("to"))
    if not ok_from:
        bad.append("from")
    if not ok_to:
        bad.append("to")
    booked_raw = (args.get("booked") or "").strip()
    booked = {"yes": True, "no": False}.get(booked_raw)
    if booked_raw and booked is None:
        bad.append("booked")
    return queries.ReferralFilter(status=status, language=language, channel=channel, date_from=date_from,
                                  date_to=date_to, barrier=barrier, booked=booked), bad


def filter_args(filters: queries.ReferralFilter) -> Dict[str, str]:
    """The query string of ``filters`` (for the CSV link)."""
    args = {}
    for key, name in (("status", "status"), ("language", "language"), ("channel", "channel"), ("barrier", "barrier")):
        value = getattr(filters, key)
        if value:
            args[name] = value
    if filters.date_from:
        args["from"] = filters.date_from.isoformat()
    if filters.date_to:
        args["to"] = filters.date_to.isoformat()
    if filters.booked is not None:
        args["booked"] = "yes" if filters.booked else "no"
    return args


def allowed_barriers() -> List[str]:
    codes = [b.code for b in load_program(settings().program_file).barriers]
    if sees_health():
        return codes
    return [c for c in codes if c not in HEALTH_BARRIERS]


def _filters_from_request():
    catalogs = load_catalogs(settings().locales_dir)
    barriers = allowed_barriers()
    filters, bad = parse_filters(request.args, catalogs.languages, barriers)
    return catalogs, barriers, filters, bad


def booking_text(referral) -> str:
    booking = current_booking(referral)
    if booking is None:
        return "–"
    return f"{labels.label(labels.BOOKING_LABELS, booking.status)} {local_time(booking.session.starts_at)}"


@bp.get("/referrals")
@role_required(*STAFF)
def referrals():
    catalogs, barriers, filters, bad = _filters_from_request()
    health = sees_health()
    try:
        page_number = max(int(request.args.get("page") or 1), 1)
    except ValueError:
        page_number = 1
    with database().transaction() as db:
        total = queries.count_referrals(db, filters, timezone=settings().timezone)
        pages = max((total + LIST_PAGE - 1) // LIST_PAGE, 1)
        page_number = min(page_number, pages)
        found = queries.filter_referrals(db, filters, timezone=settings().timezone, by_priority=health,
                                         limit=LIST_PAGE, offset=(page_number - 1) * LIST_PAGE)
        counts = queries.status_counts(db)
        channels = sorted(set(labels.CHANNEL_LABELS) | set(queries.referral_channels(db)))
        audit(db, current_user.username, "referrals.listed", "referral", None, count=len(found),
              filters=filters.details(), **({"page": page_number} if page_number > 1 else {}))
        rows = [
            {
                "id": r.id,
                "created_at": r.created_at,
                "status": r.status,
                "urgent": r.urgent,
                "priority": r.priority,
                "language": r.language,
                "channel": r.channel,
                "screening": r.screening,
                "barriers": barrier_texts(r.barriers, include_health=health),
                "booking": booking_text(r),
            }
            for r in found
        ]
    return render_template(
        "dashboard/referrals.html", rows=rows, counts=counts, filters=filters, bad_filters=bad,
        languages=catalogs.languages, channels=channels, barriers=[(c, barrier_text(c)) for c in barriers],
        export_args=filter_args(filters), health=health, active="referrals",
        total=total, page=page_number, pages=pages,
    )


@bp.get("/referrals/export.csv")
@role_required(*CASE)
def export_csv():
    _catalogs, _barriers, filters, bad = _filters_from_request()
    if bad:
        abort(400)
    with database().transaction() as db:
        found = queries.filter_referrals(db, filters, timezone=settings().timezone)
        body = csv_text(found)
        audit(db, current_user.username, "referrals.exported", "referral", None, count=len(found), format="csv",
              filters=filters.details())
    name = f"remisser-{utcnow().astimezone(zone()):%Y%m%d-%H%M}.csv"
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
    })


@bp.get("/referrals/<int:referral_id>")
@role_required(*STAFF)
def referral(referral_id: int):
    health = sees_health()
    catalogs = load_catalogs(settings().locales_dir)
    with database().transaction() as db:
        found = queries.get_referral(db, referral_id)
        if found is None:
            abort(404)
        audit(db, current_user.username, "referral.viewed", "referral", found.id, role=current_user.role)
        attendance = queries.attendance_of(db, [b.id for b in found.bookings])
        context = {
            "referral": found,
            "participant": found.participant,
            "language": language_name(found.language),
            "interpreter": interpreter_need(found),
            "bookings": [(b, attendance.get(b.id)) for b in reversed(found.bookings)],
            "barriers": barrier_texts(found.barriers, include_health=health),
            "health": health,
            "active": "referrals",
        }
        if health:  # not even computed for the NGO's staff
            context.update(
                summary=swedish_summary(found, catalogs, include_health=True),
                phq4_note=phq4_note(found.phq4_score, found.phq4_band),
                reasons=[labels.label(labels.REASON_TEXTS, r) for r in found.eligibility_reasons or ()],
                transcript=queries.transcript_messages(db, found.id),
                notes=queries.referral_notes(db, found.id),
                next_statuses=list(TRANSITIONS.get(found.status, ())),
                alerts=safety_alerts_of(db, found.participant_id),
                erase_confirm=ERASE_CONFIRM,
            )
        return render_template("dashboard/referral.html", **context)


def safety_alerts_of(db, participant_id: int) -> List[SafetyAlert]:
    """The participant's safety alerts, newest first."""
    return list(db.execute(
        select(SafetyAlert).where(SafetyAlert.participant_id == participant_id)
        .order_by(SafetyAlert.created_at.desc(), SafetyAlert.id.desc())
    ).scalars())


ERASE_CONFIRM = "Jag har kontrollerat att deltagaren vill att uppgifterna raderas"


@bp.post("/referrals/<int:referral_id>/erase")
@role_required(*CASE)
def referral_erase(referral_id: int):
    """Erase the participant and everything about them, once the caseworker has confirmed it."""
    if request.form.get("confirm") != "yes":
        flash(f"Uppgifterna är inte raderade. Kryssa i rutan ”{ERASE_CONFIRM}” först.", "error")
        return redirect(url_for("dashboard.referral", referral_id=referral_id), code=303)
    with database().transaction() as db:
        found = queries.get_referral(db, referral_id)
        if found is None:
            abort(404)
        erase_participant(db, found.participant, actor=current_user.username)
    flash("Uppgifterna är raderade.", "info")
    return redirect(url_for("dashboard.referrals"), code=303)


@bp.post("/referrals/<int:referral_id>/status")
@role_required(*CASE)
def referral_status(referral_id: int):
    try:
        with database().transaction() as db:
            found = queries.get_referral(db, referral_id)
            if found is None:
                abort(404)
            row = update_referral(db, found, request.form.get("status"), request.form.get("note", ""),
                                  actor=current_user.username)
            moved = row.status_to
    except DashboardError as exc:
        flash(str(exc), "error")
    else:
        if moved:
            flash(f"Status ändrad till {labels.label(labels.STATUS_LABELS, moved).lower()}.", "info")
        else:
            flash("Anteckningen är sparad.", "info")
    return redirect(url_for("dashboard.referral", referral_id=referral_id), code=303)


# -- sessions -----------------------------------------------------------------------------------

@bp.get("/sessions")
@role_required(*STAFF)
def sessions():
    now = utcnow()
    with database().transaction() as db:
        upcoming, past = queries.list_sessions(db, now)
        return render_template("dashboard/sessions.html", upcoming=upcoming, past=past[:50],
                               can_edit=current_user.role in CASE, active="sessions")


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int((value or "").strip())
    except ValueError:
        return None


@bp.post("/sessions")
@role_required(*CASE)
def sessions_create():
    form = request.form
    try:
        try:
            starts_at = datetime.fromisoformat((form.get("starts_at") or "").strip())
        except ValueError:
            raise DashboardError("Skriv datum och tid för passet.") from None
        if starts_at.tzinfo is None:
            starts_at = starts_at.replace(tzinfo=zone())
        capacity, minutes = _int(form.get("capacity")), _int(form.get("minutes") or "90")
        if capacity is None or minutes is None:
            raise DashboardError("Antal platser och längd ska vara heltal.")
        with database().transaction() as db:
            activity = programme_activity(db, load_program(settings().program_file).activity)
            new = create_session(db, activity, NewSession(starts_at, minutes, form.get("place", ""),
                                                          form.get("address", ""), capacity),
                                 actor=current_user.username)
            new_id = new.id
    except DashboardError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.sessions"), code=303)
    flash("Passet är skapat.", "info")
    return redirect(url_for("dashboard.session_page", session_id=new_id), code=303)


@bp.get("/sessions/<int:session_id>")
@role_required(*STAFF)
def session_page(session_id: int):
    with database().transaction() as db:
        roster = queries.session_roster(db, session_id)
        if roster is None:
            abort(404)
        audit(db, current_user.username, "session.viewed", "session", session_id)
        return render_template("dashboard/session.html", roster=roster, can_edit=current_user.role in CASE,
                               outcomes=ATTENDANCE, active="sessions")


@bp.post("/sessions/<int:session_id>/capacity")
@role_required(*CASE)
def session_capacity(session_id: int):
    capacity = _int(request.form.get("capacity"))
    try:
        if capacity is None:
            raise DashboardError("Antal platser ska vara ett heltal.")
        with database().transaction() as db:
            set_capacity(db, session_id, capacity, actor=current_user.username)
    except DashboardError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Antal platser är nu {capacity}.", "info")
    return redirect(url_for("dashboard.session_page", session_id=session_id), code=303)


@bp.post("/sessions/<int:session_id>/attendance")
@role_required(*STAFF)
def session_attendance(session_id: int):
    changed = 0
    try:
        with database().transaction() as db:
            roster = queries.session_roster(db, session_id)
            if roster is None:
                abort(404)
            for entry in roster.booked:
                outcome = (request.form.get(f"attendance-{entry.booking.id}") or "").strip()
                if outcome and entry.booking.status != "offered":  # an open offer: answered separately
                    changed += mark_attendance(db, session_id, entry.booking.id, outcome,
                                               actor=current_user.username)
    except DashboardError as exc:
        flash(str(exc), "error")
    else:
        flash(f"Närvaron är sparad ({changed} ändrade).", "info")
    return redirect(url_for("dashboard.session_page", session_id=session_id), code=303)


@bp.post("/sessions/<int:session_id>/offers/<int:booking_id>")
@role_required(*STAFF)
def session_offer(session_id: int, booking_id: int):
    """Staff answer a waiting-list offer for a participant the assistant cannot write to (the
    tablet), or who answered them by phone."""
    from bot.db.models import Booking
    from bot.intake.booking import BOOKED, accept_offer, decline_offer
    from bot.intake.program import booking_rules

    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        abort(400)
    rules = booking_rules(settings())
    with database().transaction() as db:
        booking = db.get(Booking, booking_id)
        if booking is None or booking.session_id != session_id:
            abort(404)
        if booking.status != "offered":
            flash("Erbjudandet gäller inte längre.", "error")
        elif answer == "accept":
            if accept_offer(db, booking, rules=rules, actor=current_user.username) == BOOKED:
                flash("Platsen är bokad åt deltagaren.", "info")
            else:
                flash("Erbjudandet har gått ut.", "error")
        else:
            decline_offer(db, booking, rules=rules, actor=current_user.username)
            flash("Platsen går vidare till nästa i kön.", "info")
    return redirect(url_for("dashboard.session_page", session_id=session_id), code=303)


# -- the funnel ---------------------------------------------------------------------------------

def funnel_chart_data(result: dict, catalogs) -> dict:
    """The funnel for the charts and the table, with Swedish labels."""
    steps = [labels.STEP_LABELS[s] for s in FUNNEL_STEPS]

    def series(groups: Dict[str, Dict[str, int]], name) -> List[dict]:
        return [{"label": name(key), "data": [counts[s] for s in FUNNEL_STEPS]} for key, counts in groups.items()]

    sv = catalogs.get("sv")
    dropoff = [
        {"key": key or "", "label": BEFORE_FIRST_LABEL if key is None else question_line(sv, key), "count": n}
        for key, n in result["dropoff"]
    ]
    return {
        "steps": steps,
        "total": [result["total"][s] for s in FUNNEL_STEPS],
        "by_language": series(result["by_language"],
                              lambda c: "Okänt" if c == queries.UNKNOWN_LANGUAGE else language_name(c).capitalize()),
        "by_channel": series(result["by_channel"], lambda c: labels.label(labels.CHANNEL_LABELS, c)),
        "dropoff": dropoff,
    }


@bp.get("/funnel")
@role_required(*CASE)
def funnel():
    date_from, ok_from = _day(request.args.get("from"))
    date_to, ok_to = _day(request.args.get("to"))
    bad = [name for name, ok in (("from", ok_from), ("to", ok_to)) if not ok]
    catalogs = load_catalogs(settings().locales_dir)
    with database().transaction() as db:
        result = queries.funnel(db, date_from, date_to, timezone=settings().timezone)
    data = funnel_chart_data(result, catalogs)
    return render_template("dashboard/funnel.html", data=data, date_from=date_from, date_to=date_to,
                           bad_filters=bad, active="funnel")


# -- the audit log ------------------------------------------------------------------------------

@bp.get("/audit")
@role_required("admin")
def audit_page():
    page = max(1, _int(request.args.get("page")) or 1)
    with database().transaction() as db:
        total = queries.audit_count(db)
        events = queries.audit_log(db, limit=AUDIT_PAGE, offset=(page - 1) * AUDIT_PAGE)
        pages = max(1, (total + AUDIT_PAGE - 1) // AUDIT_PAGE)
        return render_template("dashboard/audit.html", events=events, page=page, pages=pages, total=total,
                               active="audit")
