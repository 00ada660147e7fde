"""Start the real Rasa and action servers once for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from sqlalchemy import create_engine, text

from bot.simulate import RestClient, buttons, texts  # noqa: F401 - re-exported for the tests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODEL = PROJECT_ROOT / "models" / "intake.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TELEGRAM_SECRET = "e2e-telegram-secret"
ELKS_WEBHOOK_PASSWORD = "e2e-elks-webhook"


class Servers:
    def __init__(self, rasa_port: int, env: Dict[str, str], gateways: "Gateways" = None) -> None:
        self.rasa_port = rasa_port
        self.client = RestClient(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook")
        self.env = env
        self.gateways = gateways

    def webhook(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.rasa_port}/webhooks/{channel}/webhook"

    def telegram(self, language_code: str = "sv"):
        from tests.support.clients import TelegramClient

        return TelegramClient(self.gateways.telegram, self.webhook("telegram"), TELEGRAM_SECRET, language_code)

    def elks(self):
        from tests.support.clients import SmsClient

        return SmsClient("46elks", self.webhook("46elks"), self.gateways.elks, webhook_password=ELKS_WEBHOOK_PASSWORD)

    def twilio(self):
        from tests.support.clients import SmsClient

        return SmsClient("twilio", self.webhook("twilio"), self.gateways.twilio,
                         auth_token=self.gateways.twilio.auth_token)

    def send(self, sender: str, message: str, metadata: Dict = None) -> List[Dict]:
        return self.client.send(sender, message, metadata)

    def intake(self, *args: str) -> str:
        result = subprocess.run([str(Path(sys.executable).parent / "intake"), *args], env=self.env,
                                capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout


class Gateways:
    """Local stand-ins for Telegram's Bot API, 46elks and Twilio, for the whole test session."""

    def __init__(self) -> None:
        from tests.support.gateways import ElksApi, TelegramBotApi, TwilioApi

        self.telegram = TelegramBotApi().start()
        self.elks = ElksApi().start()
        self.twilio = TwilioApi().start()

    def env(self, rasa_port: int) -> Dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.telegram.token,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_BASE": self.telegram.root_url,
            "TELEGRAM_MODE": "webhook",
            "ELKS_API_USERNAME": self.elks.username,
            "ELKS_API_PASSWORD": self.elks.password,
            "ELKS_SENDER": "+46766861004",
            "ELKS_WEBHOOK_PASSWORD": ELKS_WEBHOOK_PASSWORD,
            "ELKS_API_BASE": self.elks.root_url,
            "TWILIO_ACCOUNT_SID": self.twilio.account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio.auth_token,
            "TWILIO_SENDER": "+46766861005",
            "TWILIO_API_BASE": self.twilio.root_url,
            "INTAKE_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
        }

    def stop(self) -> None:
        for api in (self.telegram, self.elks, self.twilio):
            api.stop()


@pytest.fixture(scope="session")
def gateways():
    found = Gateways()
    try:
        yield found
    finally:
        found.stop()


def stop_group(process: subprocess.Popen, grace: float) -> None:
    """Ctrl-C to a process group started with start_new_session; SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def servers(tmp_path_factory, gateways):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make model' (make test does it)")
    data_dir = tmp_path_factory.mktemp("e2e")
    rasa_port, actions_port, web_port = free_port(), free_port(), free_port()
    env = dict(os.environ)
    env.update({
        "INTAKE_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'intake.db'}",
        "INTAKE_SECRET": "e2e-secret",
    })
    env.update(gateways.env(rasa_port))
    intake = str(Path(sys.executable).parent / "intake")
    subprocess.run([intake, "db", "upgrade"], env=env, check=True, cwd=PROJECT_ROOT, capture_output=True)
    subprocess.run([intake, "demo", "load"], env=env, check=True, cwd=PROJECT_ROOT, capture_output=True)
    # many test participants book: room for all, but keep the demo's one-seat session for the waiting list
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE activity_sessions SET capacity = 200 WHERE capacity > 1"))
    engine.dispose()
    log = open(data_dir / "servers.log", "w")
    process = subprocess.Popen(
        [intake, "run", "--rasa-port", str(rasa_port), "--actions-port", str(actions_port), "--web-port", str(web_port),
         "--model", str(MODEL)],
        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("servers exited: " + (data_dir / "servers.log").read_text()[-3000:])
            if "is running" in (data_dir / "servers.log").read_text(errors="replace"):
                break
            time.sleep(1)
        else:
            pytest.fail("servers did not start in 240 s")
        servers = Servers(rasa_port, env, gateways)
        servers.web_url = f"http://127.0.0.1:{web_port}"
        servers.data_dir = data_dir
        yield servers
    finally:
        stop_group(process, 30)
        log.close()




# -- the browser (Debian's Chromium driven by Playwright; no browser download) ---------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
STAFF_PASSWORD = "tablet-e2e-password"


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while it
    is open, which async tests (pytest-asyncio) in later modules could not start beside."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def staff(servers):
    """An NGO staff account, made with the `intake users add` command."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "intake"), "users", "add", "nora", "--name", "Nora Nilsson",
         "--role", "ngo_staff", "--password-stdin"],
        input=STAFF_PASSWORD + "\n", env=servers.env, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return {"username": "nora", "password": STAFF_PASSWORD, "name": "Nora Nilsson"}


@pytest.fixture
def page(browser, request):
    """A fresh browser context (tablet-sized) per test; a screenshot is kept when the test ends."""
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="sv-SE")
    page = context.new_page()
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot is a bonus, never a failure
            pass
        context.close()
