"""The caseworker dashboard in a real browser, on a referral made by a real Arabic intake.

Debian's Chromium driven by Playwright; screenshots in tests/artifacts/ (some in the README).
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bot.simulate import TAPPED_ANSWERS, book_first_free, run_intake
from tests.e2e.conftest import ARTIFACTS, PROJECT_ROOT

pytestmark = pytest.mark.servers
PASSWORD = "dashboard-e2e-password"
SCRIPT = "<script>alert(1)</script>"
PAGES = ["/referrals", "/referrals/1", "/referrals/export.csv", "/sessions", "/sessions/1", "/funnel", "/audit"]


@pytest.fixture(scope="module")
def accounts(servers):
    made = {}
    for username, role in (("karin", "caseworker"), ("adam", "admin"), ("nils", "ngo_staff")):
        result = subprocess.run(
            [str(Path(sys.executable).parent / "intake"), "users", "add", username, "--name", username.title(),
             "--role", role, "--password-stdin"],
            input=PASSWORD + "\n", env=servers.env, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
        assert result.returncode == 0, result.stderr
        made[role] = username
    return made


@pytest.fixture(scope="module")
def arabic_referral(servers):
    """A whole Arabic intake over REST, booked; its free text holds HTML."""
    sender = "e2e-dashboard-arabic"
    answers = {**TAPPED_ANSWERS, "work_kind": "تنظيف", "goals": SCRIPT, "interpreter_language": "العربية"}
    _seen, replies = run_intake(servers.client, sender, answers, first="مرحبا كيف حالك", language="ar")
    book_first_free(servers.client, sender, replies)
    rows = [line.split("\t") for line in servers.intake("referrals", "list").splitlines()]
    header, body = rows[0], rows[1:]
    arabic = [r for r in body if r[header.index("language")] == "ar" and r[header.index("channel")] == "rest"]
    return int(arabic[-1][0])


def sign_in(page, servers, username):
    page.set_viewport_size({"width": 1280, "height": 1000})  # a caseworker's screen
    page.goto(f"{servers.web_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def http_session(servers, username):
    session = requests.Session()
    login = session.get(f"{servers.web_url}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    reply = session.post(f"{servers.web_url}/login", data={"username": username, "password": PASSWORD,
                                                          "csrf_token": token}, timeout=30)
    assert reply.status_code == 200 and "/login" not in reply.url
    return session


def test_every_page_wants_a_session(servers):
    for path in PAGES:
        reply = requests.get(servers.web_url + path, allow_redirects=False, timeout=30)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], path


def test_a_caseworker_reviews_an_arabic_referral_and_moves_it_on(page, servers, accounts, arabic_referral):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, servers, accounts["caseworker"])
    assert page.url.endswith("/referrals")
    page.select_option("#f-language", "ar")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*language=ar.*"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-list.png"))
    page.click(f"text=Remiss {arabic_referral}")
    page.wait_for_url(re.compile(rf".*/referrals/{arabic_referral}$"))
    html = page.content()
    # a Swedish summary of an Arabic conversation: Swedish questions and option labels
    assert "Hur bra kan du svenska?" in html and "Lite" in html
    assert "arabiska" in html  # the language the free text was written in is named
    assert "تنظيف" in html  # free text as written
    assert "PHQ-4" in html
    # the participant's HTML is shown, not run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and SCRIPT not in html
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "dashboard-referral.png"))
    page.screenshot(path=str(ARTIFACTS / "dashboard-referral-full.png"), full_page=True)
    page.select_option("#new-status", "contacted")
    page.fill("#note", "Ringde, tolk bokad.")
    page.click("#status-heading ~ form button[type=submit]")
    page.wait_for_load_state()
    assert "Ringde, tolk bokad." in page.content()
    exported = servers.intake("referrals", "export", "--format", "json")
    assert f'"id": {arabic_referral}' in exported
    import json

    mine = [r for r in json.loads(exported) if r["id"] == arabic_referral][0]
    assert mine["status"] == "contacted"


def test_the_filtered_list_exports_as_csv(page, servers, accounts, arabic_referral):
    sign_in(page, servers, accounts["caseworker"])
    page.goto(f"{servers.web_url}/referrals?language=ar")
    with page.expect_download() as download:
        page.click("text=Exportera CSV")
    content = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert rows and {r["language"] for r in rows} == {"ar"}
    assert str(arabic_referral) in {r["id"] for r in rows}


def test_an_admin_reads_the_audit_log_of_it(page, servers, accounts, arabic_referral):
    import json

    from bot.intake.referrals import TRANSITIONS

    caseworker = http_session(servers, accounts["caseworker"])
    shown = caseworker.get(f"{servers.web_url}/referrals/{arabic_referral}", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', shown).group(1)
    current = [r for r in json.loads(servers.intake("referrals", "export", "--format", "json"))
               if r["id"] == arabic_referral][0]["status"]
    moved = caseworker.post(f"{servers.web_url}/referrals/{arabic_referral}/status",
                            data={"status": TRANSITIONS[current][0], "note": "", "csrf_token": token}, timeout=30)
    assert moved.status_code == 200
    sign_in(page, servers, accounts["admin"])
    page.goto(f"{servers.web_url}/audit")
    text = page.inner_text("main")
    assert "referral.viewed" in text and "referral.status_changed" in text and accounts["caseworker"] in text
    page.screenshot(path=str(ARTIFACTS / "dashboard-audit.png"))
    # a caseworker may not read the audit log
    assert caseworker.get(f"{servers.web_url}/audit", timeout=30).status_code == 403


def test_a_form_without_its_csrf_token_is_refused(servers, accounts, arabic_referral):
    caseworker = http_session(servers, accounts["caseworker"])
    reply = caseworker.post(f"{servers.web_url}/referrals/{arabic_referral}/status",
                            data={"status": "declined", "note": "forged"}, timeout=30)
    assert reply.status_code == 400
    assert "forged" not in caseworker.get(f"{servers.web_url}/referrals/{arabic_referral}", timeout=30).text


def test_ngo_staff_cannot_open_health_answers_by_url(servers, accounts, arabic_referral):
    staff = http_session(servers, accounts["ngo_staff"])
    page = staff.get(f"{servers.web_url}/referrals/{arabic_referral}", timeout=30)
    assert page.status_code == 200
    for health in ("PHQ", "Hur ofta har du", "nervös", "Samtalet"):
        assert health not in page.text, health
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    moved = staff.post(f"{servers.web_url}/referrals/{arabic_referral}/status",
                       data={"status": "declined", "csrf_token": token}, timeout=30)
    assert moved.status_code == 403
    assert staff.get(f"{servers.web_url}/referrals/export.csv", timeout=30).status_code == 403


def test_the_funnel_draws_its_charts(page, servers, accounts, arabic_referral):
    sign_in(page, servers, accounts["caseworker"])
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{servers.web_url}/funnel")
    page.wait_for_function("() => document.querySelectorAll('canvas').length >= 3")
    page.wait_for_timeout(500)
    assert not [e for e in errors if "favicon" not in e]
    page.screenshot(path=str(ARTIFACTS / "dashboard-funnel.png"))
