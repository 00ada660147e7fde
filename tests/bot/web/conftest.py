"""Fixtures of the dashboard's tests: a database with one user per role, and the web app on it.

(``test_app.py`` has its own ``app``, with a fake Rasa behind the tablet.)
"""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.web import create_app
from bot.web.config import WebConfig
from bot.web.users import create_user

PASSWORD = "a long enough password"


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    with db.transaction() as session:
        create_user(session, "maria", "Maria Handläggare", "caseworker", PASSWORD)
        create_user(session, "adam", "Adam Admin", "admin", PASSWORD)
        create_user(session, "nora", "Nora NGO", "ngo_staff", PASSWORD)
    yield db
    db.dispose()


@pytest.fixture
def app(database, database_url, tmp_path):
    env = {"DATABASE_URL": database_url, "INTAKE_DATA_DIR": str(tmp_path), "INTAKE_SECRET": "web-test-secret",
           "INTAKE_RASA_URL": "http://127.0.0.1:9"}
    app = create_app(WebConfig.from_env(env))
    app.config["TESTING"] = True
    return app
