"""The tablet chat in a real browser: Debian's Chromium driven by Playwright.

Staff sign in, hand the tablet over, the participant taps through a whole intake (Swedish and
Arabic), and "Ny deltagare" leaves nothing of them behind. Screenshots: tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from bot.simulate import QuestionReader
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.servers

# what the participant taps (option codes) or types, question by question
TAPS = {
    "consent_data": "yes", "consent_health": "yes", "municipality": "varmdo", "age_band": "25_34",
    "swedish_level": "basic", "sfi_status": "ongoing", "schooling": "1_6", "work_experience": "home_country",
    "support": "income_support", "care_duties": "children", "housing": "sublet", "phq_1": "1", "phq_2": "2",
    "phq_3": "1", "phq_4": "0", "physical_limits": "no", "authority_help": "often", "digital_help": "bankid_only",
    "preferred_times": "morning", "interpreter": "no",
}
TYPED = {"name": "Amina", "phone": "0701234567", "work_kind": "Städning", "goals": "Jobba"}


def sign_in(page, servers, staff):
    page.goto(f"{servers.web_url}/tablet")
    assert "/login" in page.url  # signing in is required
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/tablet$"))


def bubbles(page, who=None):
    selector = '[data-testid="bubble"]' + (f'[data-from="{who}"]' if who else "")
    return page.locator(selector)


def wait_for_reply(page, count_before):
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"bubble\"][data-from=\"bot\"]').length > n",
        arg=count_before, timeout=30_000)
    page.wait_for_selector("#typing", state="hidden", timeout=30_000)


def last_question(page, reader):
    said = "\n".join(bubbles(page, "bot").all_inner_texts()[-3:])
    return reader.asked([{"text": said}])


def tap_through_intake(page, language, shot_prefix):
    reader = QuestionReader(language)
    page.click(f'[data-testid="language"][data-code="{language}"]')
    wait_for_reply(page, 0)
    asked = []
    for _ in range(40):
        key = last_question(page, reader)
        if key is None or key == "booking_session":
            asked.append(key)
            break
        asked.append(key)
        before = bubbles(page, "bot").count()
        if key in TAPS:
            label = reader.catalog.option_label(key, TAPS[key])
            page.locator('[data-testid="choice"]', has_text=label).first.click()
        else:
            page.fill("#text", TYPED.get(key, "arabiska"))
            page.press("#text", "Enter")
        wait_for_reply(page, before)
        if key == "consent_data":
            page.screenshot(path=str(ARTIFACTS / f"{shot_prefix}-consent.png"))
    assert asked[-1] == "booking_session", asked
    page.screenshot(path=str(ARTIFACTS / f"{shot_prefix}-sessions.png"))
    before = bubbles(page, "bot").count()
    page.locator('[data-testid="choice"]').first.click()  # the first session
    wait_for_reply(page, before)
    page.screenshot(path=str(ARTIFACTS / f"{shot_prefix}-booked.png"), full_page=True)
    return asked


def referrals(servers):
    return json.loads(servers.intake("referrals", "export", "--format", "json"))


def test_the_tablet_needs_a_signed_in_staff_member(page, servers):
    page.goto(f"{servers.web_url}/tablet")
    assert "/login" in page.url
    page.fill("#username", "nora")
    page.fill("#password", "wrong password!")
    page.click("button[type=submit]")
    assert "/login" in page.url and page.locator("text=Fel användarnamn eller lösenord").count() == 1
    # the API refuses too, without a session and without a CSRF token
    reply = requests.post(f"{servers.web_url}/tablet/api/message", json={"sender": "x" * 10}, timeout=30)
    assert reply.status_code in (400, 401)


def test_a_whole_swedish_intake_by_tapping(page, servers, staff):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sign_in(page, servers, staff)
    page.screenshot(path=str(ARTIFACTS / "tablet-languages.png"))
    before = len(referrals(servers))
    tap_through_intake(page, "sv", "tablet-sv")
    assert "Du är bokad" in bubbles(page, "bot").all_inner_texts()[-2] + bubbles(page, "bot").all_inner_texts()[-1]
    rows = referrals(servers)
    assert len(rows) == before + 1
    mine = rows[-1] if rows[-1]["channel"] == "tablet" else [r for r in rows if r["channel"] == "tablet"][-1]
    assert mine["assisted_by"] == staff["username"]  # assisted, and by whom
    assert mine["booking"]["status"] == "booked"
    assert page.locator("#chat").get_attribute("dir") == "ltr"


def test_a_whole_arabic_intake_is_right_to_left(page, servers, staff):
    sign_in(page, servers, staff)
    before = len(referrals(servers))
    tap_through_intake(page, "ar", "tablet-ar")
    direction = page.evaluate("getComputedStyle(document.querySelector('#chat')).direction")
    assert direction == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('#text')).direction") == "rtl"
    bot_bubble = bubbles(page, "bot").last
    assert bot_bubble.evaluate("el => getComputedStyle(el).direction") == "rtl"
    # the participant's bubbles sit on the other side than in Swedish: the layout flips
    rows = referrals(servers)
    assert len(rows) == before + 1
    assert [r for r in rows if r["channel"] == "tablet"][-1]["language"] == "ar"


def test_new_participant_leaves_nothing_behind(page, servers, staff):
    sign_in(page, servers, staff)
    history = page.evaluate("history.length")
    page.click('[data-testid="language"][data-code="sv"]')
    wait_for_reply(page, 0)
    before = bubbles(page, "bot").count()
    page.locator('[data-testid="choice"]').first.click()  # consent
    wait_for_reply(page, before)
    before = bubbles(page, "bot").count()
    page.locator('[data-testid="choice"]').first.click()  # health consent
    wait_for_reply(page, before)
    page.fill("#text", "Zebulon Unikt-Namn")
    page.press("#text", "Enter")
    page.wait_for_function("() => document.body.innerText.includes('Zebulon')")
    page.fill("#text", "halvskrivet hemligt")  # typed but not sent
    page.click("#new-participant")
    page.wait_for_selector('[data-testid="language"]', state="visible")
    html = page.content()
    for trace in ("Zebulon", "halvskrivet", "Får vi spara", "Vad vill du att vi kallar dig"):
        assert trace not in html, trace
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("history.length") == history  # no entry per message or participant
    assert page.url.endswith("/tablet")  # nothing in the address either
    assert page.input_value("#text") == ""
    page.screenshot(path=str(ARTIFACTS / "tablet-after-reset.png"))


def test_an_idle_tablet_starts_over(browser, servers, staff):
    context = browser.new_context(viewport={"width": 800, "height": 1280})
    page = context.new_page()
    try:
        sign_in(page, servers, staff)
        page.evaluate("document.querySelector('#tablet').dataset.idleSeconds = '2'")
        page.click('[data-testid="language"][data-code="sv"]')
        wait_for_reply(page, 0)
        assert bubbles(page).count() > 0
        page.wait_for_selector('[data-testid="language"]', state="visible", timeout=15_000)
        assert bubbles(page).count() == 0
    finally:
        context.close()


def test_a_message_sent_while_offline_is_sent_when_the_connection_returns(page, servers, staff):
    sign_in(page, servers, staff)
    page.click('[data-testid="language"][data-code="sv"]')
    wait_for_reply(page, 0)
    before = bubbles(page, "bot").count()
    page.context.set_offline(True)
    page.fill("#text", "ja")
    page.press("#text", "Enter")
    page.wait_for_selector('[data-testid="bubble"][data-from="participant"].unsent', timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "tablet-offline.png"))
    time.sleep(1)
    page.context.set_offline(False)
    wait_for_reply(page, before)
    assert page.locator(".unsent").count() == 0
    reader = QuestionReader("sv")
    assert last_question(page, reader) == "consent_health"  # taken once, and answered


def tablet_webhook(servers):
    return f"http://127.0.0.1:{servers.rasa_port}/webhooks/tablet/webhook"


def test_the_tablet_channel_takes_only_the_web_apps_key(servers):
    body = {"sender": "s" * 12, "message_id": "m" * 12, "text": "hej", "assisted_by": "mallory"}
    for key in (None, "wrong"):
        headers = {"X-Intake-Tablet-Key": key} if key else {}
        assert requests.post(tablet_webhook(servers), json=body, headers=headers, timeout=30).status_code == 403


def test_a_message_sent_again_gets_the_first_answer(servers):
    from bot.config import Config
    from bot.web.config import tablet_key

    key = tablet_key(Config.from_env(servers.env))
    body = {"sender": f"again{time.time_ns()}", "message_id": f"id{time.time_ns()}", "text": "/greet",
            "tapped": True, "language": "sv"}
    first = requests.post(tablet_webhook(servers), json=body, headers={"X-Intake-Tablet-Key": key}, timeout=60)
    again = requests.post(tablet_webhook(servers), json=body, headers={"X-Intake-Tablet-Key": key}, timeout=60)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and first.json()["replies"]  # the same answer, not none
    assert QuestionReader("sv").asked(first.json()["replies"]) == "consent_data"
