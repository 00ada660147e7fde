"""The tablet chat: a page NGO staff sign in to and hand to a participant.

The page talks to this app (``/tablet/api/message``, CSRF-protected, signed in), and this app
hands each message to Rasa's ``tablet`` channel with a key only the two share, and with the
signed-in staff member as ``assisted_by``: the browser cannot claim to be someone else.

While a caseworker has the conversation (a handoff), the page asks ``/tablet/api/updates`` every
few seconds for their replies, so that they show up without the participant writing first.
"""

from __future__ import annotations

import re

import requests
from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from bot.i18n import load_catalogs
from bot.intake.participants import pseudonym
from bot.safety.handoff import latest_for_pseudonym, take_undelivered
from bot.web.auth import database, role_required

bp = Blueprint("tablet", __name__)
ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
CHANNEL = "tablet"  # Rasa's channel, which sees the page's sender as f"tablet-{sender}"
MAX_TEXT = 1000
TIMEOUT = 60


def settings():
    return current_app.config["INTAKE"]


@bp.get("/tablet")
@role_required()
def page():
    catalogs = load_catalogs(settings().intake.locales_dir)
    languages = [{"code": c.code, "name": c.name, "direction": c.direction} for c in catalogs.all()]
    return render_template("tablet.html", languages=languages, staff=current_user,
                           idle_seconds=settings().tablet_idle_seconds)


@bp.post("/tablet/api/message")
@role_required()
def message():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="bad_request", detail="JSON object expected"), 400
    sender, message_id, text = data.get("sender"), data.get("message_id"), data.get("text")
    language = data.get("language")
    if not (isinstance(sender, str) and ID.match(sender) and isinstance(message_id, str) and ID.match(message_id)):
        return jsonify(error="bad_request", detail="sender and message_id are ids"), 400
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
        return jsonify(error="bad_request", detail=f"text of 1 to {MAX_TEXT} characters expected"), 400
    catalogs = load_catalogs(settings().intake.locales_dir)
    if language is not None and language not in catalogs:
        return jsonify(error="bad_request", detail="unknown language"), 400
    body = {"sender": sender, "message_id": message_id, "text": text, "language": language,
            "tapped": bool(data.get("tapped")), "assisted_by": current_user.username}
    try:
        reply = requests.post(f"{settings().rasa_url}/webhooks/tablet/webhook", json=body, timeout=TIMEOUT,
                              headers={"X-Intake-Tablet-Key": settings().tablet_key})
    except requests.RequestException:
        return jsonify(error="unavailable"), 503
    if reply.status_code != 200:
        current_app.logger.warning("the tablet channel answered %s", reply.status_code)
        return jsonify(error="unavailable"), 503
    return jsonify(replies=reply.json().get("replies", []))


@bp.get("/tablet/api/updates")
@role_required()
def updates():
    """A caseworker's replies to the conversation not yet shown on the tablet (each is shown once)."""
    conversation = request.args.get("conversation") or ""
    if not ID.match(conversation):
        return jsonify(error="bad_request", detail="conversation is an id"), 400
    key = pseudonym(settings().intake.secret, CHANNEL, f"{CHANNEL}-{conversation}")
    with database().transaction() as db:
        handoff = latest_for_pseudonym(db, key)
        texts = take_undelivered(db, handoff) if handoff is not None and handoff.channel == CHANNEL else []
    return jsonify(messages=texts)
