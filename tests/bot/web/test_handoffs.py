"""Handed-over conversations in the dashboard: the list, a thread, replies, handing back, alerts,
the navigation's badge, erasing a participant, and the tablet's fetching of caseworkers' replies."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import (
    Handoff,
    HandoffMessage,
    OutboundMessage,
    Participant,
    Referral,
    SafetyAlert,
)
from bot.db.types import utcnow
from bot.intake.participants import pseudonym
from tests.bot.dashboard.factory import referral
from tests.bot.web.test_dashboard import SV, audits, get, page, post, signed_in

_counter = itertools.count(1)
WEB_SECRET = b"web-test-secret"  # INTAKE_SECRET of the app fixture


def participant(database, *, channel="telegram", language="sv", key=None) -> int:
    with database.transaction() as session:
        row = Participant(pseudonym=key or f"p-{next(_counter):08d}", channel=channel, language=language)
        session.add(row)
        session.flush()
        return row.id


def handoff(database, participant_id=None, *, reason="asked", status="waiting", channel="telegram", language="sv",
            address=None, minutes_ago=0, taken_by=None, messages=(), category=None, alert_open=True) -> int:
    """A handoff with ``messages`` ((sender, text, before_handoff)); a crisis gets a safety alert."""
    if participant_id is None:
        participant_id = participant(database, channel=channel, language=language)
    with database.transaction() as session:
        row = Handoff(participant_id=participant_id, reason=reason, status=status, channel=channel,
                      language=language, address=address, requested_at=utcnow() - timedelta(minutes=minutes_ago),
                      taken_by=taken_by)
        if status == "closed":
            row.closed_at, row.closed_by = utcnow(), "maria"
        row.messages = [HandoffMessage(sender=sender, text=text, before_handoff=before,
                                       author="maria" if sender == "staff" else None)
                        for sender, text, before in messages]
        session.add(row)
        session.flush()
        if reason == "crisis":
            session.add(SafetyAlert(participant_id=participant_id, handoff_id=row.id, category=category or "other",
                                    detected_by="phrase",
                                    acknowledged_at=None if alert_open else utcnow(),
                                    acknowledged_by=None if alert_open else "adam"))
        return row.id


def participant_of_referral(database, referral_id) -> int:
    return get(database, Referral, referral_id).participant_id


def outbox(database):
    with database.transaction() as session:
        return [(m.channel, m.recipient, m.body) for m in session.execute(
            select(OutboundMessage).order_by(OutboundMessage.id)).scalars()]


def messages_of(database, handoff_id):
    with database.transaction() as session:
        return [(m.sender, m.author, m.text, m.delivered_at is not None) for m in session.execute(
            select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id)
            .order_by(HandoffMessage.id)).scalars()]


def table(html, key):
    found = re.search(rf'<table class="data handoffs" id="{key}-table">(.*?)</table>', html, re.S)
    return found.group(1) if found else ""


def listed(html, key):
    return [int(n) for n in re.findall(r'data-handoff="(\d+)"', table(html, key))]


# -- who may see them ------------------------------------------------------------------------------

def test_the_handoff_pages_are_for_caseworkers_and_admins(app, database):
    handoff_id = handoff(database)
    alert_handoff = handoff(database, reason="crisis")
    with database.transaction() as session:
        alert_id = session.execute(select(SafetyAlert.id)).scalar_one()
    nora = signed_in(app, "nora")
    for path in ("/handoffs", f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/live"):
        assert nora.get(path).status_code == 403, path
        assert app.test_client().get(path).status_code == 302, path  # to the sign-in page
    for path in (f"/handoffs/{handoff_id}/reply", f"/handoffs/{handoff_id}/take", f"/handoffs/{handoff_id}/close",
                 f"/alerts/{alert_id}/acknowledge"):
        assert post(nora, path, {"text": "hej"}, "/sessions").status_code == 403, path
    assert get(database, Handoff, handoff_id).status == "waiting"
    assert get(database, SafetyAlert, alert_id).acknowledged_at is None
    assert "Samtal" not in page(nora, "/referrals").split("</nav>")[0]  # no badge for the NGO's staff
    assert get(database, Handoff, alert_handoff).status == "waiting"
    assert signed_in(app, "maria").get("/handoffs").status_code == 200
    assert signed_in(app, "adam").get(f"/handoffs/{handoff_id}").status_code == 200
    assert signed_in(app, "maria").get("/handoffs/999999").status_code == 404


def test_a_post_without_the_csrf_token_is_refused(app, database):
    handoff_id = handoff(database, address="12345")
    client = signed_in(app, "maria")
    for path in (f"/handoffs/{handoff_id}/reply", f"/handoffs/{handoff_id}/take", f"/handoffs/{handoff_id}/close"):
        assert client.post(path, data={"text": "Hej"}).status_code == 400, path
    assert get(database, Handoff, handoff_id).status == "waiting"
    assert messages_of(database, handoff_id) == [] and outbox(database) == []
    referral_id = referral(database)
    assert client.post(f"/referrals/{referral_id}/erase", data={"confirm": "yes"}).status_code == 400
    assert get(database, Referral, referral_id) is not None


# -- the list ------------------------------------------------------------------------------------

def test_the_list_has_waiting_first_crises_first_then_the_oldest(app, database):
    referral_id = referral(database, name="Zebulon Namnsson")
    with_referral = participant_of_referral(database, referral_id)
    asked_old = handoff(database, with_referral, minutes_ago=30)
    crisis_new = handoff(database, reason="crisis", category="suicide", minutes_ago=5, channel="tablet",
                         language="ar")
    crisis_old = handoff(database, reason="crisis", category="violence", minutes_ago=20)
    active = handoff(database, reason="crisis", status="active", taken_by="adam", minutes_ago=60)
    closed = handoff(database, status="closed")
    html = page(signed_in(app, "maria"), "/handoffs")
    assert listed(html, "open") == [crisis_old, crisis_new, asked_old, active]
    assert listed(html, "closed") == [closed]
    rows = dict(zip(listed(html, "open"), re.findall(r"<tr[^>]*data-handoff.*?</tr>", table(html, "open"), re.S)))
    assert "Självmordstankar" in rows[crisis_new] and "tag-urgent" in rows[crisis_new]
    assert "Våld eller hot" in rows[crisis_old]
    assert "Vill prata med en person" in rows[asked_old] and "Kris" not in rows[asked_old]
    assert f'/referrals/{referral_id}"' in rows[asked_old]  # the participant's referral
    assert "Surfplatta" in rows[crisis_new] and "Arabiska" in rows[crisis_new]
    assert "Pågår" in rows[active] and "adam" in rows[active]
    assert "Zebulon" not in html  # no names on the list, as on the referral list
    assert audits(database, "handoffs.listed")[-1].details == {"open": 4, "closed": 1, "alerts": 3}


def test_the_badge_counts_waiting_handoffs_and_open_alerts(app, database):
    client = signed_in(app, "maria")
    html = page(client, "/referrals")
    assert "Samtal 0 · Larm 0" in html and "nav-badge-alert" not in html
    handoff(database)
    handoff(database, reason="crisis", status="active")  # an open alert, but not waiting
    handoff(database, reason="crisis", alert_open=False)
    for path in ("/referrals", "/sessions", "/handoffs", "/funnel"):
        html = page(client, path)
        badge = re.search(r'<a [^>]*data-testid="handoff-badge"[^>]*>[^<]*</a>', html).group(0)
        assert "Samtal 2 · Larm 1" in badge and "nav-badge-alert" in badge, path
    assert "Samtal 2 · Larm 1" in page(signed_in(app, "adam"), "/audit")


# -- one thread ------------------------------------------------------------------------------------

def test_a_thread_shows_before_and_after_and_every_view_is_audited(app, database):
    handoff_id = handoff(database, reason="crisis", category="self_harm", language="ar", messages=[
        ("assistant", "Vad heter du?", True),
        ("participant", "<b>Amina</b>", True),
        ("participant", "أحتاج إلى مساعدة", False),
        ("staff", "Jag är här", False),
    ])
    client = signed_in(app, "maria")
    html = page(client, f"/handoffs/{handoff_id}")
    assert "Självskada" in html and "Kvittera" in html
    assert "Före överlämningen" in html and "före överlämningen" in html
    assert html.index("Vad heter du?") < html.index("أحتاج إلى مساعدة") < html.index("Jag är här")
    assert "&lt;b&gt;Amina&lt;/b&gt;" in html and "<b>Amina</b>" not in html
    assert 'class="msg msg-participant msg-before"' in html and 'class="msg msg-staff"' in html
    assert "Ta ärendet" in html and "Lämna tillbaka till assistenten" in html and 'name="text"' in html
    assert "handoff.js" in html
    page(client, f"/handoffs/{handoff_id}")
    viewed = audits(database, "handoff.viewed")
    assert [(v.actor, v.entity_id) for v in viewed] == [("maria", str(handoff_id))] * 2


def test_the_refresh_answers_only_when_something_changed(app, database):
    handoff_id = handoff(database, messages=[("participant", "Hej", False)])
    client = signed_in(app, "maria")
    html = page(client, f"/handoffs/{handoff_id}")
    state = re.search(r'id="handoff-live" data-state="([0-9a-f]+)"', html).group(1)
    assert client.get(f"/handoffs/{handoff_id}/live?state={state}").status_code == 204
    assert len(audits(database, "handoff.viewed")) == 1  # nothing shown, nothing audited
    with database.transaction() as session:
        session.add(HandoffMessage(handoff_id=handoff_id, sender="participant", text="Är någon där?"))
    reply = client.get(f"/handoffs/{handoff_id}/live?state={state}")
    assert reply.status_code == 200
    fragment = reply.get_data(as_text=True)
    assert "Är någon där?" in fragment and "<html" not in fragment
    assert 'data-count="2"' in fragment
    assert audits(database, "handoff.viewed")[-1].details == {"role": "caseworker", "refresh": True}


def test_a_reply_on_telegram_goes_to_the_outbox_and_takes_the_handoff(app, database):
    handoff_id = handoff(database, address="98765", messages=[("participant", "Hjälp", False)])
    client = signed_in(app, "maria")
    path = f"/handoffs/{handoff_id}"
    reply = post(client, f"{path}/reply", {"text": "  Hej, jag heter Maria.  "}, path)
    assert reply.status_code == 303 and reply.headers["Location"].endswith(path)
    assert messages_of(database, handoff_id)[-1] == ("staff", "maria", "Hej, jag heter Maria.", True)
    assert outbox(database) == [("telegram", "98765", "Maria Handläggare: Hej, jag heter Maria.")]
    found = get(database, Handoff, handoff_id)
    assert (found.status, found.taken_by) == ("active", "maria")
    assert audits(database, "handoff.replied")[-1].actor == "maria"
    html = page(client, path)
    assert "Svaret är skickat." in html and "Ta ärendet" not in html and "tagit av maria" in html


def test_an_empty_or_too_long_reply_is_refused_politely(app, database):
    handoff_id = handoff(database, address="98765")
    client = signed_in(app, "maria")
    path = f"/handoffs/{handoff_id}"
    post(client, f"{path}/reply", {"text": "   "}, path)
    assert "Skriv ett svar innan du skickar." in page(client, path)
    post(client, f"{path}/reply", {"text": "x" * 1001}, path)
    assert "högst 1000 tecken (nu 1001)" in page(client, path)
    assert messages_of(database, handoff_id) == [] and outbox(database) == []
    assert get(database, Handoff, handoff_id).status == "waiting"
    post(client, f"{path}/reply", {"text": "x" * 1000}, path)
    assert len(outbox(database)) == 1


def test_a_tablet_reply_is_fetched_by_the_tablet_once(app, database):
    conversation = "0123456789abcdef"
    key = pseudonym(WEB_SECRET, "tablet", f"tablet-{conversation}")
    handoff_id = handoff(database, participant(database, channel="tablet", key=key), channel="tablet")
    other = handoff(database, channel="tablet")  # someone else's: never shown here
    maria = signed_in(app, "maria")
    post(maria, f"/handoffs/{handoff_id}/reply", {"text": "Hej från Maria"}, f"/handoffs/{handoff_id}")
    post(maria, f"/handoffs/{other}/reply", {"text": "Inte till dig"}, f"/handoffs/{other}")
    assert outbox(database) == []  # the tablet fetches; nothing is pushed
    assert messages_of(database, handoff_id) == [("staff", "maria", "Hej från Maria", False)]
    nora = signed_in(app, "nora")  # the NGO's staff hold the tablet
    assert app.test_client().get(f"/tablet/api/updates?conversation={conversation}").status_code == 401
    assert nora.get("/tablet/api/updates?conversation=x").status_code == 400
    first = nora.get(f"/tablet/api/updates?conversation={conversation}")
    assert first.status_code == 200 and first.get_json() == {"messages": ["Maria Handläggare: Hej från Maria"]}
    assert nora.get(f"/tablet/api/updates?conversation={conversation}").get_json() == {"messages": []}
    assert nora.get("/tablet/api/updates?conversation=fedcba9876543210").get_json() == {"messages": []}
    assert messages_of(database, handoff_id)[-1][-1] is True


def test_a_telegram_handoff_is_not_fetched_by_the_tablet(app, database):
    conversation = "abcdefabcdef0001"
    key = pseudonym(WEB_SECRET, "tablet", f"tablet-{conversation}")
    handoff_id = handoff(database, participant(database, key=key), channel="rest")
    post(signed_in(app, "maria"), f"/handoffs/{handoff_id}/reply", {"text": "Hej"}, f"/handoffs/{handoff_id}")
    reply = signed_in(app, "nora").get(f"/tablet/api/updates?conversation={conversation}")
    assert reply.get_json() == {"messages": []}
    assert messages_of(database, handoff_id)[-1][-1] is False  # left for its own channel


def test_taking_and_handing_back(app, database):
    handoff_id = handoff(database, address="555", language="sv")
    client = signed_in(app, "maria")
    path = f"/handoffs/{handoff_id}"
    assert post(client, f"{path}/take", {}, path).status_code == 303
    found = get(database, Handoff, handoff_id)
    assert (found.status, found.taken_by) == ("active", "maria")
    post(signed_in(app, "adam"), f"{path}/take", {}, path)
    assert get(database, Handoff, handoff_id).taken_by == "maria"
    reply = post(client, f"{path}/close", {}, path)
    assert reply.status_code == 303
    found = get(database, Handoff, handoff_id)
    assert (found.status, found.closed_by) == ("closed", "maria") and found.closed_at is not None
    goodbye = SV.text("handoff_ended")
    assert outbox(database) == [("telegram", "555", goodbye)]
    assert messages_of(database, handoff_id)[-1] == ("assistant", None, goodbye, True)
    assert audits(database, "handoff.closed")[-1].actor == "maria"
    html = page(client, path)
    assert "Samtalet är tillbakalämnat till assistenten." in html
    assert 'name="text"' not in html and "Ta ärendet" not in html and "handoff.js" not in html
    assert "går bara att läsa" in html
    post(client, f"{path}/reply", {"text": "för sent"}, path)
    assert len(outbox(database)) == 1
    assert "Svaret skickades inte" in page(client, path)
    post(client, f"{path}/close", {}, path)  # again: nothing more
    assert len(outbox(database)) == 1


def test_handing_back_a_tablet_conversation_leaves_the_goodbye_for_the_tablet(app, database):
    conversation = "feedfeedfeed0002"
    key = pseudonym(WEB_SECRET, "tablet", f"tablet-{conversation}")
    handoff_id = handoff(database, participant(database, channel="tablet", key=key, language="ar"),
                         channel="tablet", language="ar", status="active", taken_by="maria")
    post(signed_in(app, "maria"), f"/handoffs/{handoff_id}/close", {}, f"/handoffs/{handoff_id}")
    assert outbox(database) == []
    assert get(database, Handoff, handoff_id).status == "closed"
    texts = signed_in(app, "nora").get(f"/tablet/api/updates?conversation={conversation}").get_json()["messages"]
    from bot.i18n import load_catalogs
    from tests.conftest import PROJECT_ROOT
    assert texts == [load_catalogs(PROJECT_ROOT / "locales").get("ar").text("handoff_ended")]


# -- safety alerts ---------------------------------------------------------------------------------

def test_acknowledging_an_alert(app, database):
    handoff_id = handoff(database, reason="crisis", category="danger")
    with database.transaction() as session:
        alert_id = session.execute(select(SafetyAlert.id)).scalar_one()
    client = signed_in(app, "maria")
    path = f"/handoffs/{handoff_id}"
    assert "Larm 1" in page(client, path)
    reply = post(client, f"/alerts/{alert_id}/acknowledge", {"next": path}, path)
    assert reply.status_code == 303 and reply.headers["Location"].endswith(path)
    alert = get(database, SafetyAlert, alert_id)
    assert alert.acknowledged_by == "maria" and alert.acknowledged_at is not None
    html = page(client, path)
    assert "Larmet är kvitterat." in html and "Larm 0" in html and "Kvittera" not in html
    assert audits(database, "safety.acknowledged")[-1].actor == "maria"
    reply = post(client, f"/alerts/{alert_id}/acknowledge", {"next": "https://evil.example/"}, "/handoffs")
    assert reply.headers["Location"].endswith("/handoffs")  # no open redirect
    assert get(database, SafetyAlert, alert_id).acknowledged_by == "maria"
    assert post(client, "/alerts/999999/acknowledge", {}, "/handoffs").status_code == 404


def test_the_referral_page_shows_urgency_and_alerts_to_caseworkers_only(app, database):
    referral_id = referral(database)
    participant_id = participant_of_referral(database, referral_id)
    with database.transaction() as session:
        session.get(Referral, referral_id).urgent = True
        session.add(SafetyAlert(participant_id=participant_id, referral_id=referral_id, category="suicide",
                                detected_by="phrase", acknowledged_at=utcnow(), acknowledged_by="adam"))
        session.add(SafetyAlert(participant_id=participant_id, referral_id=referral_id, category="violence",
                                detected_by="nlu"))
    html = page(signed_in(app, "maria"), f"/referrals/{referral_id}")
    assert 'class="urgent-banner"' in html and "Brådskande" in html
    assert "Självmordstankar" in html and "Våld eller hot" in html and "adam" in html
    assert html.count(">Kvittera</button>") == 1
    assert "Radera deltagarens uppgifter" in html
    nora = page(signed_in(app, "nora"), f"/referrals/{referral_id}")
    for text in ("Brådskande", "Självmordstankar", "Våld eller hot", "Radera deltagarens uppgifter", "Larm"):
        assert text not in nora, text


# -- erasure -------------------------------------------------------------------------------------

def test_erasing_a_participant_needs_the_confirmation(app, database):
    referral_id = referral(database)
    participant_id = participant_of_referral(database, referral_id)
    handoff(database, participant_id, reason="crisis", messages=[("participant", "hemligt", False)])
    path = f"/referrals/{referral_id}"
    client = signed_in(app, "maria")
    reply = post(client, f"{path}/erase", {}, path)
    assert reply.status_code == 303 and reply.headers["Location"].endswith(path)
    assert get(database, Participant, participant_id) is not None
    assert "Uppgifterna är inte raderade" in page(client, path)
    assert post(signed_in(app, "nora"), f"{path}/erase", {"confirm": "yes"}, "/sessions").status_code == 403
    assert get(database, Participant, participant_id) is not None
    reply = post(client, f"{path}/erase", {"confirm": "yes"}, path)
    assert reply.status_code == 303 and reply.headers["Location"].endswith("/referrals")
    assert get(database, Participant, participant_id) is None
    assert get(database, Referral, referral_id) is None
    with database.transaction() as session:
        assert session.execute(select(Handoff)).first() is None
        assert session.execute(select(SafetyAlert)).first() is None
    assert "Uppgifterna är raderade" in page(client, "/referrals")
    assert audits(database, "participant.erased")[-1].actor == "maria"
    assert client.get(path).status_code == 404


# -- the pages' markup ------------------------------------------------------------------------------

def test_the_new_pages_have_no_inline_script_or_style(app, database):
    referral_id = referral(database)
    handoff_id = handoff(database, participant_of_referral(database, referral_id), reason="crisis",
                         messages=[("participant", "Hej", True), ("participant", "Hjälp", False)])
    closed = handoff(database, status="closed")
    client = signed_in(app, "adam")
    for path in ("/handoffs", f"/handoffs/{handoff_id}", f"/handoffs/{closed}", f"/referrals/{referral_id}"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["Cache-Control"] == "no-store"
        html = reply.get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert " style=" not in html and "<style" not in html, path
        assert ' on' not in re.sub(r'"[^"]*"', '""', "".join(re.findall(r"<[a-z][^>]*>", html))), path
