"""Sign in and out. Sessions end after ``session_minutes`` without a request."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable, Optional
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from bot.db import get_database
from bot.db.models import StaffUser
from bot.intake.audit import audit
from bot.web.users import authenticate

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Logga in för att fortsätta."
login_manager.session_protection = "strong"


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user for this request (not an ORM object: the session is closed by now)."""

    id: int
    username: str
    display_name: str
    role: str
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)


def database():
    return get_database(current_app.config["INTAKE"].intake)


@login_manager.user_loader
def load_user(user_id: str) -> Optional[SignedIn]:
    try:
        key = int(user_id)
    except ValueError:
        return None
    with database().transaction() as db:
        user = db.get(StaffUser, key)
        if user is None or not user.active:
            return None
        return SignedIn(user.id, user.username, user.display_name, user.role)


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/tablet/api/") or request.is_json:
        return jsonify(error="signed_out"), 401
    flash(login_manager.login_message, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def role_required(*roles: str) -> Callable:
    """Signed in, with one of ``roles`` (none given: any role)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and current_user.role not in roles:
                if request.path.startswith("/tablet/api/"):
                    return jsonify(error="forbidden"), 403
                return render_template("forbidden.html"), 403
            return view(*args, **kwargs)

        return wrapper

    return decorate


class LoginForm(FlaskForm):
    username = StringField("Användarnamn", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Lösenord", validators=[DataRequired(), Length(max=200)])


def safe_next(target: Optional[str]) -> Optional[str]:
    """Only a path on this site (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with database().transaction() as db:
            user = authenticate(db, form.username.data, form.password.data)
            signed = SignedIn(user.id, user.username, user.display_name, user.role) if user else None
        if signed is None:
            flash("Fel användarnamn eller lösenord.", "error")
            return render_template("login.html", form=form), 401
        session.clear()
        session.permanent = True
        login_user(signed)
        return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        with database().transaction() as db:
            audit(db, current_user.username, "user.signed_out", "staff_user", current_user.id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.role in ("caseworker", "admin"):
        return redirect(url_for("dashboard.referrals"))
    return redirect(url_for("tablet.page"))  # the NGO's staff: the tablet they hand to participants
