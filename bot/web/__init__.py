"""The web apps: a Flask app factory. ``create_app()`` builds one app; nothing connects at import.

Blueprints: ``auth`` (sign in and out), ``tablet`` (the chat page NGO staff hand to a participant),
``dashboard`` (referrals, sessions and attendance, the funnel, the audit log), ``handoffs``
(conversations handed to a person, safety alerts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from bot.web.config import WebConfig

csrf = CSRFProtect()


def create_app(config: Optional[WebConfig] = None) -> Flask:
    config = config or WebConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        INTAKE=config,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=config.session_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="intake_session",
        REMEMBER_COOKIE_DURATION=timedelta(0),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    csrf.init_app(app)

    from bot.web.auth import bp as auth_bp
    from bot.web.auth import login_manager
    from bot.web.dashboard import bp as dashboard_bp
    from bot.web.handoffs import bp as handoffs_bp
    from bot.web.tablet import bp as tablet_bp

    login_manager.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(tablet_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(handoffs_bp)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        from flask_login import current_user

        api = request.is_json or request.path.startswith("/tablet/api/")
        if not current_user.is_authenticated:  # most often: the session ran out
            if api:
                return jsonify(error="signed_out"), 401
            flash("Du har varit inaktiv för länge. Logga in igen.", "error")
            return redirect(url_for("auth.login"))
        if api:
            return jsonify(error="csrf", detail=error.description), 400
        return render_template("forbidden.html", reason="csrf"), 400

    @app.after_request
    def headers(response):
        # nothing a participant said may stay in a cache or the browser's history
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        return response

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, threads: int = 8) -> None:
    """Serve the web apps with waitress (a production WSGI server)."""
    from waitress import serve as waitress_serve

    waitress_serve(create_app(), host=host, port=port, threads=threads, ident="intake")
