"""Handed-over conversations and safety alerts, for caseworkers.

A participant who asks for a person, or writes something that shows a crisis, is handed to the
caseworkers (:mod:`bot.safety.handoff`). Here they see the open handoffs (waiting first, crises
first among them, oldest first), read a thread, answer in it, take it, and hand it back to the
assistant; and they acknowledge safety alerts. The thread page refreshes itself
(``static/handoff.js``) while the handoff is open. Every view of a thread is audited.

The navigation's badge (waiting handoffs, open alerts) is two COUNT queries, made only for the
dashboard's pages of a signed-in caseworker or admin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import Handoff, Referral, SafetyAlert
from bot.i18n import load_catalogs
from bot.i18n.catalog import CatalogError
from bot.intake.audit import audit
from bot.intake.program import load_program
from bot.safety import alerts as safety_alerts
from bot.safety import handoff as handoffs_ops
from bot.web.auth import database, role_required, safe_next
from bot.web.dashboard import CASE, settings

bp = Blueprint("handoffs", __name__)

MAX_REPLY = 1000  # characters of a caseworker's reply
CLOSED_SHOWN = 20  # recently closed handoffs on the list
BADGE_BLUEPRINTS = ("dashboard", "handoffs")  # the pages with the dashboard's navigation
NO_BADGE_ENDPOINTS = ("handoffs.live", "dashboard.export_csv")  # no navigation in what they answer
REFRESH_SECONDS = 10

REASON_LABELS: Dict[str, str] = {
    "asked": "Vill prata med en person",
    "crisis": "Kris",
}

ALERT_LABELS: Dict[str, str] = {
    "suicide": "Självmordstankar",
    "self_harm": "Självskada",
    "violence": "Våld eller hot",
    "danger": "Akut fara",
    "other": "Kris",
}

HANDOFF_STATUS_LABELS: Dict[str, str] = {
    "waiting": "Väntar",
    "active": "Pågår",
    "closed": "Avslutat",
}

DETECTED_BY_LABELS: Dict[str, str] = {
    "phrase": "ordlista",
    "nlu": "språkmodell",
}


def alert_label(category: Optional[str]) -> str:
    return ALERT_LABELS.get(category or "other", "Kris")


# -- the navigation's badge -----------------------------------------------------------------------

@dataclass(frozen=True)
class Badge:
    waiting: int
    alerts: int


@bp.before_app_request
def count_for_badge():
    """The badge's two counts, before the view opens its own unit of work (SQLite has one writer
    at a time, and a view renders its page inside its transaction)."""
    g.handoff_badge = None
    if (request.method != "GET" or request.blueprint not in BADGE_BLUEPRINTS
            or request.endpoint in NO_BADGE_ENDPOINTS):
        return
    if current_user.is_authenticated and current_user.role in CASE:
        with database().transaction() as db:
            g.handoff_badge = Badge(handoffs_ops.waiting_count(db), safety_alerts.open_count(db))


@bp.app_context_processor
def handoff_context():
    return {
        "handoff_badge": g.get("handoff_badge"),
        "alert_label": alert_label,
        "REASON_LABELS": REASON_LABELS,
        "HANDOFF_STATUS_LABELS": HANDOFF_STATUS_LABELS,
        "DETECTED_BY_LABELS": DETECTED_BY_LABELS,
    }


# -- helpers ------------------------------------------------------------------------------------

def _latest_referrals(db: Session, participant_ids: Iterable[int]) -> Dict[int, int]:
    """participant id -> the id of their latest referral (participants with one only)."""
    ids = sorted(set(participant_ids))
    if not ids:
        return {}
    rows = db.execute(
        select(Referral.participant_id, func.max(Referral.id))
        .where(Referral.participant_id.in_(ids))
        .group_by(Referral.participant_id)
    ).all()
    return {participant_id: referral_id for participant_id, referral_id in rows}


def _crisis_categories(db: Session, handoffs: List[Handoff]) -> Dict[int, str]:
    """handoff id -> the category of its latest alert (or else its participant's latest)."""
    crises = [h for h in handoffs if h.reason == "crisis"]
    if not crises:
        return {}
    rows = db.execute(
        select(SafetyAlert.participant_id, SafetyAlert.handoff_id, SafetyAlert.category)
        .where(SafetyAlert.participant_id.in_(sorted({h.participant_id for h in crises})))
        .order_by(SafetyAlert.id)
    ).all()
    by_handoff = {handoff_id: category for _, handoff_id, category in rows if handoff_id is not None}
    by_participant = {participant_id: category for participant_id, _, category in rows}
    return {h.id: by_handoff.get(h.id) or by_participant.get(h.participant_id) or "other" for h in crises}


def _rows(db: Session, handoffs: List[Handoff]) -> List[dict]:
    referrals = _latest_referrals(db, (h.participant_id for h in handoffs))
    categories = _crisis_categories(db, handoffs)
    return [
        {
            "id": h.id,
            "reason": h.reason,
            "crisis": h.reason == "crisis",
            "reason_text": alert_label(categories.get(h.id)) if h.reason == "crisis" else REASON_LABELS["asked"],
            "channel": h.channel,
            "language": h.language,
            "requested_at": h.requested_at,
            "status": h.status,
            "taken_by": h.taken_by,
            "closed_at": h.closed_at,
            "closed_by": h.closed_by,
            "referral_id": referrals.get(h.participant_id),
        }
        for h in handoffs
    ]


def _handoff(db: Session, handoff_id: int) -> Handoff:
    found = db.execute(
        select(Handoff).where(Handoff.id == handoff_id).options(
            selectinload(Handoff.messages), selectinload(Handoff.participant))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def _open_alerts(db: Session, participant_id: int) -> List[SafetyAlert]:
    return list(db.execute(
        select(SafetyAlert)
        .where(SafetyAlert.participant_id == participant_id, SafetyAlert.acknowledged_at.is_(None))
        .order_by(SafetyAlert.created_at, SafetyAlert.id)
    ).scalars())


def _state(handoff: Handoff, alerts: List[SafetyAlert]) -> str:
    """What the live part of the thread page shows, in short: it changes when that changes."""
    last = max((m.id for m in handoff.messages), default=0)
    parts = [handoff.status, handoff.taken_by or "", str(last), str(len(handoff.messages)),
             ",".join(str(a.id) for a in alerts)]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:16]


def _thread_context(db: Session, handoff: Handoff) -> dict:
    alerts = _open_alerts(db, handoff.participant_id)
    referral_id = _latest_referrals(db, [handoff.participant_id]).get(handoff.participant_id)
    category = None
    if handoff.reason == "crisis":
        category = _crisis_categories(db, [handoff]).get(handoff.id)
    return {
        "handoff": handoff,
        "participant": handoff.participant,
        "before": [m for m in handoff.messages if m.before_handoff],
        "during": [m for m in handoff.messages if not m.before_handoff],
        "alerts": alerts,
        "referral_id": referral_id,
        "reason_text": alert_label(category) if handoff.reason == "crisis" else REASON_LABELS["asked"],
        "state": _state(handoff, alerts),
        "refresh_seconds": REFRESH_SECONDS,
    }


def goodbye_text(handoff: Handoff) -> Optional[str]:
    """The text, in the participant's language, that tells them the assistant answers again."""
    catalog = load_catalogs(settings().locales_dir).get(handoff.language)
    if load_program(settings().program_file).short_intake_on(handoff.channel):
        catalog = catalog.for_sms()
    try:
        return catalog.text("handoff_ended")
    except CatalogError:
        current_app.logger.warning("no handoff_ended text for %s: handed back without one", handoff.language)
        return None


def _back_to_thread(handoff_id: int):
    return redirect(url_for("handoffs.thread", handoff_id=handoff_id), code=303)


# -- the list -----------------------------------------------------------------------------------

@bp.get("/handoffs")
@role_required(*CASE)
def handoffs():
    with database().transaction() as db:
        open_rows = db.execute(
            select(Handoff)
            .where(Handoff.status.in_(handoffs_ops.OPEN))
            .order_by(
                case((Handoff.status == "waiting", 0), else_=1),
                case((Handoff.reason == "crisis", 0), else_=1),
                Handoff.requested_at,
                Handoff.id,
            )
        ).scalars().all()
        closed_rows = db.execute(
            select(Handoff).where(Handoff.status == "closed")
            .order_by(Handoff.closed_at.desc(), Handoff.id.desc()).limit(CLOSED_SHOWN)
        ).scalars().all()
        alerts = db.execute(
            select(SafetyAlert).where(SafetyAlert.acknowledged_at.is_(None))
            .order_by(SafetyAlert.created_at, SafetyAlert.id)
        ).scalars().all()
        alert_referrals = _latest_referrals(db, (a.participant_id for a in alerts))
        open_alerts = [
            {"id": a.id, "category": a.category, "created_at": a.created_at, "handoff_id": a.handoff_id,
             "referral_id": a.referral_id or alert_referrals.get(a.participant_id)}
            for a in alerts
        ]
        audit(db, current_user.username, "handoffs.listed", "handoff", None, open=len(open_rows),
              closed=len(closed_rows), alerts=len(open_alerts))
        return render_template("dashboard/handoffs.html", open_rows=_rows(db, open_rows),
                               closed_rows=_rows(db, closed_rows), open_alerts=open_alerts, active="handoffs")


# -- one thread ---------------------------------------------------------------------------------

@bp.get("/handoffs/<int:handoff_id>")
@role_required(*CASE)
def thread(handoff_id: int):
    with database().transaction() as db:
        found = _handoff(db, handoff_id)
        audit(db, current_user.username, "handoff.viewed", "handoff", found.id, role=current_user.role)
        return render_template("dashboard/handoff.html", max_reply=MAX_REPLY,
                               idle_seconds=current_app.config["INTAKE"].session_minutes * 60,
                               active="handoffs", **_thread_context(db, found))


@bp.get("/handoffs/<int:handoff_id>/live")
@role_required(*CASE)
def live(handoff_id: int):
    """The thread's changing part, for the page's refresh: 204 when nothing changed since ``state``."""
    with database().transaction() as db:
        found = _handoff(db, handoff_id)
        context = _thread_context(db, found)
        if request.args.get("state") == context["state"]:
            return Response(status=204)
        audit(db, current_user.username, "handoff.viewed", "handoff", found.id, role=current_user.role,
              refresh=True)
        return render_template("dashboard/handoff_live.html", **context)


@bp.post("/handoffs/<int:handoff_id>/reply")
@role_required(*CASE)
def reply(handoff_id: int):
    text = (request.form.get("text") or "").strip()
    if not text:
        flash("Skriv ett svar innan du skickar.", "error")
        return _back_to_thread(handoff_id)
    if len(text) > MAX_REPLY:
        flash(f"Svaret är för långt: högst {MAX_REPLY} tecken (nu {len(text)}). Korta det och skicka igen.", "error")
        return _back_to_thread(handoff_id)
    with database().transaction() as db:
        found = _handoff(db, handoff_id)
        if found.status == "closed":
            flash("Samtalet är redan tillbakalämnat till assistenten. Svaret skickades inte.", "error")
            return _back_to_thread(handoff_id)
        handoffs_ops.staff_reply(db, found, current_user.username, current_user.display_name, text)
    flash("Svaret är skickat.", "info")
    return _back_to_thread(handoff_id)


@bp.post("/handoffs/<int:handoff_id>/take")
@role_required(*CASE)
def take(handoff_id: int):
    with database().transaction() as db:
        found = _handoff(db, handoff_id)
        if found.status == "waiting":
            handoffs_ops.take(db, found, current_user.username)
            message, category = "Du har tagit ärendet.", "info"
        elif found.status == "active":
            message = ("Du har redan ärendet." if found.taken_by == current_user.username
                       else f"{found.taken_by or 'Någon annan'} har redan tagit ärendet.")
            category = "info"
        else:
            message, category = "Samtalet är redan tillbakalämnat till assistenten.", "error"
    flash(message, category)
    return _back_to_thread(handoff_id)


@bp.post("/handoffs/<int:handoff_id>/close")
@role_required(*CASE)
def close(handoff_id: int):
    with database().transaction() as db:
        found = _handoff(db, handoff_id)
        if found.status == "closed":
            flash("Samtalet är redan tillbakalämnat till assistenten.", "info")
            return _back_to_thread(handoff_id)
        handoffs_ops.close(db, found, current_user.username, goodbye=goodbye_text(found))
    flash("Samtalet är tillbakalämnat till assistenten.", "info")
    return _back_to_thread(handoff_id)


# -- safety alerts ------------------------------------------------------------------------------

@bp.post("/alerts/<int:alert_id>/acknowledge")
@role_required(*CASE)
def acknowledge(alert_id: int):
    with database().transaction() as db:
        alert = db.get(SafetyAlert, alert_id)
        if alert is None:
            abort(404)
        already = alert.acknowledged_at is not None
        safety_alerts.acknowledge(db, alert, current_user.username)
        who = alert.acknowledged_by
    if already:
        flash(f"Larmet var redan kvitterat av {who}.", "info")
    else:
        flash("Larmet är kvitterat.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for("handoffs.handoffs"), code=303)

