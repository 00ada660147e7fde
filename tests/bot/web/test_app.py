"""The web app with Flask's test client: sign-in, CSRF, security headers, the tablet API's hand-over."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import Config
from bot.db import Database
from bot.web import create_app
from bot.web.config import WebConfig, tablet_key
from bot.web.users import create_user

PASSWORD = "a long enough password"


class FakeRasa:
    """Rasa's tablet channel as the web app sees it: records what it is handed, answers one reply."""

    def __init__(self, status: int = 200) -> None:
        self.received = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.received.append({"path": self.path, "key": self.headers.get("X-Intake-Tablet-Key"), **body})
                payload = json.dumps({"replies": [{"text": "Hej!", "buttons": [], "language": "sv",
                                                   "direction": "ltr"}]}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def rasa():
    fake = FakeRasa()
    yield fake
    fake.stop()


@pytest.fixture
def app(database_url, tmp_path, rasa):
    env = {"DATABASE_URL": database_url, "INTAKE_DATA_DIR": str(tmp_path), "INTAKE_SECRET": "web-test-secret",
           "INTAKE_RASA_URL": rasa.url}
    config = WebConfig.from_env(env)
    database = Database(database_url)
    with database.transaction() as session:
        create_user(session, "nora", "Nora", "ngo_staff", PASSWORD)
    database.dispose()
    app = create_app(config)
    app.config["TESTING"] = True
    return app


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client, username="nora", password=PASSWORD, follow=False):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=follow)


def test_every_page_wants_a_signed_in_user(app):
    client = app.test_client()
    for path in ("/", "/tablet"):
        reply = client.get(path)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    reply = client.post("/tablet/api/message", json={})
    assert reply.status_code == 401 and reply.get_json() == {"error": "signed_out"}


def test_sign_in_and_out(app):
    client = app.test_client()
    assert sign_in(client, password="wrong password").status_code == 401
    reply = sign_in(client)
    assert reply.status_code == 302 and reply.headers["Location"] == "/"  # the home page of the role
    assert client.get("/").headers["Location"].endswith("/tablet")
    page = client.get("/tablet")
    assert page.status_code == 200 and "Nora" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/tablet").status_code == 302


def test_a_form_without_the_csrf_token_is_refused(app):
    client = app.test_client()
    reply = client.post("/login", data={"username": "nora", "password": PASSWORD})
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
    assert client.get("/tablet").status_code == 302  # not signed in
    sign_in(client)
    reply = client.post("/logout", data={})
    assert reply.status_code == 400
    assert client.get("/tablet").status_code == 200  # still signed in


def test_sign_in_does_not_redirect_off_the_site(app):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    reply = client.post("/login?next=https://evil.example/x", data={"username": "nora", "password": PASSWORD,
                                                                    "csrf_token": token})
    assert reply.headers["Location"] == "/"
    token = csrf_token(client.get("/tablet").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    token = csrf_token(client.get("/login").get_data(as_text=True))
    reply = client.post("/login?next=/tablet", data={"username": "nora", "password": PASSWORD, "csrf_token": token})
    assert reply.headers["Location"] == "/tablet"  # a path on this site is fine


def test_security_headers(app):
    reply = app.test_client().get("/login")
    assert reply.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Frame-Options"] == "DENY"
    cookie = [c for c in reply.headers.getlist("Set-Cookie") if c.startswith("intake_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def api_post(client, body, token):
    return client.post("/tablet/api/message", json=body, headers={"X-CSRFToken": token})


def test_the_api_hands_messages_to_rasa_as_the_signed_in_staff_member(app, rasa):
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client.get("/tablet").get_data(as_text=True))
    body = {"sender": "a1b2c3d4e5f6", "message_id": "m1m2m3m4m5", "text": "/greet", "language": "ar",
            "tapped": True, "assisted_by": "somebody-else"}
    reply = api_post(client, body, token)
    assert reply.status_code == 200
    assert reply.get_json()["replies"][0]["text"] == "Hej!"
    handed = rasa.received[-1]
    assert handed["path"] == "/webhooks/tablet/webhook"
    assert handed["assisted_by"] == "nora"  # from the session, never from the page
    assert handed["key"] == tablet_key(Config.from_env({"INTAKE_SECRET": "web-test-secret"}))
    assert (handed["language"], handed["tapped"], handed["text"]) == ("ar", True, "/greet")


def test_the_api_wants_its_csrf_token(app):
    client = app.test_client()
    sign_in(client)
    reply = client.post("/tablet/api/message", json={"sender": "a1b2c3d4e5", "message_id": "m1m2m3m4m5", "text": "x"})
    assert reply.status_code == 400 and reply.get_json()["error"] == "csrf"


@pytest.mark.parametrize("body", [
    {"sender": "short", "message_id": "m1m2m3m4m5", "text": "hej"},
    {"sender": "a1b2c3d4e5", "message_id": "../../etc", "text": "hej"},
    {"sender": "a1b2c3d4e5", "message_id": "m1m2m3m4m5", "text": ""},
    {"sender": "a1b2c3d4e5", "message_id": "m1m2m3m4m5", "text": "x" * 1001},
    {"sender": "a1b2c3d4e5", "message_id": "m1m2m3m4m5", "text": "hej", "language": "xx"},
    [1, 2, 3],
])
def test_the_api_refuses_bad_input(app, rasa, body):
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client.get("/tablet").get_data(as_text=True))
    assert api_post(client, body, token).status_code == 400
    assert rasa.received == []


def test_the_api_says_unavailable_when_rasa_is_down(app, rasa):
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client.get("/tablet").get_data(as_text=True))
    rasa.stop()
    reply = api_post(client, {"sender": "a1b2c3d4e5", "message_id": "m1m2m3m4m5", "text": "hej"}, token)
    assert reply.status_code == 503 and reply.get_json() == {"error": "unavailable"}
