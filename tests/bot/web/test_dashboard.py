"""The dashboard with Flask's test client: sign-in, roles, CSRF, least privilege, escaping, audit."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from sqlalchemy import select

from bot.intake.referrals import EXPORT_COLUMNS
from bot.cli import main as cli
from bot.db.models import (
    ActivitySession,
    AuditEvent,
    BookingAttendance,
    FunnelEvent,
    Referral,
    ReferralNote,
)
from bot.i18n import load_catalogs
from bot.intake.questions import HEALTH_KEYS
from tests.bot.dashboard.factory import activity_session, book, events, referral
from tests.bot.web.conftest import PASSWORD
from tests.conftest import PROJECT_ROOT

SV = load_catalogs(PROJECT_ROOT / "locales").get("sv")
HEALTH_QUESTIONS = [SV.question_text(key) for key in HEALTH_KEYS]
TRANSCRIPT = [
    {"from": "assistant", "text": "Hur ofta har du känt dig ledsen?", "at": "2026-11-20T09:00:00+00:00"},
    {"from": "participant", "text": "Nästan varje dag, jag sover dåligt", "at": "2026-11-20T09:00:30+00:00"},
]


# the fixtures ``database`` (three staff users) and ``app`` are in conftest.py


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def signed_in(app, username):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    reply = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert reply.status_code == 302
    return client


def page(client, path, status=200):
    reply = client.get(path)
    assert reply.status_code == status, reply.get_data(as_text=True)[:1000]
    return reply.get_data(as_text=True)


def post(client, path, data, token_from):
    token = csrf_token(page(client, token_from))
    return client.post(path, data={**data, "csrf_token": token})


def audits(database, action):
    with database.transaction() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)).scalars())


def get(database, model, key):
    with database.transaction() as session:
        return session.get(model, key)


# -- signed in, roles, CSRF ---------------------------------------------------------------------

def test_every_dashboard_page_wants_a_signed_in_user(app, database):
    referral_id = referral(database)
    session_id = activity_session(database)
    client = app.test_client()
    for path in ("/referrals", "/referrals/export.csv", f"/referrals/{referral_id}", "/sessions",
                 f"/sessions/{session_id}", "/funnel", "/audit"):
        reply = client.get(path)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], path
    for path in (f"/referrals/{referral_id}/status", "/sessions", f"/sessions/{session_id}/capacity",
                 f"/sessions/{session_id}/attendance"):
        reply = client.post(path, data={"status": "contacted", "capacity": "1"})
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], path
    assert get(database, Referral, referral_id).status == "new"
    assert get(database, ActivitySession, session_id).capacity == 8


def test_home_is_the_dashboard_for_caseworkers_and_admins_and_the_tablet_for_ngo_staff(app):
    assert signed_in(app, "maria").get("/").headers["Location"].endswith("/referrals")
    assert signed_in(app, "adam").get("/").headers["Location"].endswith("/referrals")
    assert signed_in(app, "nora").get("/").headers["Location"].endswith("/tablet")


def test_a_post_without_the_csrf_token_is_refused(app, database):
    referral_id = referral(database)
    client = signed_in(app, "maria")
    reply = client.post(f"/referrals/{referral_id}/status", data={"status": "contacted", "note": "x"})
    assert reply.status_code == 400
    assert get(database, Referral, referral_id).status == "new"
    with database.transaction() as session:
        assert session.execute(select(ReferralNote)).first() is None


def test_the_pages_have_no_inline_script_or_style(app, database):
    referral_id = referral(database, transcript=TRANSCRIPT)
    session_id = activity_session(database)
    client = signed_in(app, "adam")
    for path in ("/referrals", f"/referrals/{referral_id}", "/sessions", f"/sessions/{session_id}", "/funnel",
                 "/audit"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
        html = reply.get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert " style=" not in html and "<style" not in html, path
        assert ' on' not in re.sub(r'"[^"]*"', '""', "".join(re.findall(r"<[a-z][^>]*>", html))), path


# -- the referral list and the export -----------------------------------------------------------

def test_the_list_filters_counts_and_is_audited(app, database):
    arabic = referral(database, language="ar")
    swedish = referral(database, language="sv", status="contacted")
    client = signed_in(app, "maria")
    html = page(client, "/referrals?language=ar")
    assert f"Remiss {arabic}<" in html and f"Remiss {swedish}<" not in html
    assert "Ny: <strong>1</strong>" in html and "Kontaktad: <strong>1</strong>" in html
    assert "Begränsad svenska" in html and "Psykisk ohälsa" in html  # barriers in Swedish
    assert "Exportera CSV" in html and "/referrals/export.csv?language=ar" in html
    listed = audits(database, "referrals.listed")[-1]
    assert listed.actor == "maria" and listed.details == {"count": 1, "filters": {"language": "ar"}}


def test_csv_export_has_the_filtered_rows_only_with_the_cli_columns(app, database, database_url):
    arabic = referral(database, language="ar")
    other = referral(database, language="sv")
    client = signed_in(app, "maria")
    reply = client.get("/referrals/export.csv?language=ar")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"].startswith("attachment;")
    assert reply.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(reply.get_data(as_text=True))))
    assert [int(r["id"]) for r in rows] == [arabic]
    assert list(rows[0]) == EXPORT_COLUMNS
    assert "Amina" not in reply.get_data(as_text=True)  # no names, numbers or free text
    exported = audits(database, "referrals.exported")[-1]
    assert exported.actor == "maria" and exported.details["count"] == 1
    assert exported.details["filters"] == {"language": "ar"}
    # without filters: what the command line exports, byte for byte
    everything = client.get("/referrals/export.csv").get_data(as_text=True)
    result = CliRunner().invoke(cli, ["--database-url", database_url, "referrals", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert everything == result.output
    assert {int(r["id"]) for r in csv.DictReader(io.StringIO(everything))} == {arabic, other}


def test_ngo_staff_cannot_export_or_filter_by_health(app, database):
    sick = referral(database)  # MENTAL_HEALTH and PHYSICAL_LIMITS
    well = referral(database, consent_health="no", swedish_level="good")
    client = signed_in(app, "nora")
    assert client.get("/referrals/export.csv").status_code == 403
    html = page(client, "/referrals?barrier=MENTAL_HEALTH")
    assert f"Remiss {sick}<" in html and f"Remiss {well}<" in html  # the filter is not applied
    assert "Psykisk ohälsa" not in html and "Sjukdom eller skada" not in html
    assert "Brådskande" not in html and "Prioritet" not in html
    assert "Exportera CSV" not in html


# -- one referral ---------------------------------------------------------------------------------

def test_a_caseworker_sees_everything_and_the_view_is_audited(app, database):
    referral_id = referral(database, transcript=TRANSCRIPT, language="ar", goals="أريد العمل")
    html = page(signed_in(app, "maria"), f"/referrals/{referral_id}")
    assert "Amina Hassan" in html and "+46701234567" in html
    assert "PHQ-4" in html and "Poäng: <strong>6</strong>" in html and "måttlig" in html
    assert all(question in html for question in HEALTH_QUESTIONS)
    assert "Psykisk ohälsa" in html
    assert "Nästan varje dag, jag sover dåligt" in html  # the transcript
    assert 'dir="auto"' in html
    assert "أريد العمل" in html and "skrivet på arabiska" in html
    assert "Arabiska" in html
    viewed = audits(database, "referral.viewed")[-1]
    assert (viewed.actor, viewed.entity_id) == ("maria", str(referral_id))


def test_ngo_staff_get_no_health_data_at_all(app, database):
    referral_id = referral(database, transcript=TRANSCRIPT)
    maria = signed_in(app, "maria")
    post(maria, f"/referrals/{referral_id}/status", {"status": "", "note": "Mår dåligt, ring tillbaka"},
         f"/referrals/{referral_id}")
    client = signed_in(app, "nora")
    html = page(client, f"/referrals/{referral_id}")
    # what the NGO's staff need to welcome the participant
    assert "Amina Hassan" in html and "+46701234567" in html
    assert "Somaliska" in html  # the interpreter's language
    assert "Ny" in html  # the status
    # and nothing about health, not even hidden
    assert "PHQ" not in html
    for question in HEALTH_QUESTIONS:
        assert question not in html
    for label in ("Mer än halva tiden", "Några dagar", "Psykisk ohälsa", "Sjukdom eller skada", "Hälsa"):
        assert label not in html
    assert "jag sover dåligt" not in html  # the transcript
    assert "Mår dåligt" not in html  # a caseworker's note
    assert "Brådskande" not in html and "Prioritet" not in html
    assert 'name="status"' not in html  # no status form
    reply = post(client, f"/referrals/{referral_id}/status", {"status": "contacted"}, f"/referrals/{referral_id}")
    assert reply.status_code == 403
    assert get(database, Referral, referral_id).status == "new"
    assert audits(database, "referral.viewed")[-1].actor == "nora"


def test_free_text_is_escaped(app, database):
    evil = "<script>alert(1)</script>"
    transcript = [{"from": "participant", "text": evil, "at": None}]
    referral_id = referral(database, goals=evil, name="<b>Bold</b>", transcript=transcript)
    for who in ("maria", "nora"):
        html = page(signed_in(app, who), f"/referrals/{referral_id}")
        assert evil not in html and "<b>Bold</b>" not in html
        assert "&lt;b&gt;Bold&lt;/b&gt;" in html
    html = page(signed_in(app, "maria"), f"/referrals/{referral_id}")
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # the answer and the transcript


def test_an_unknown_referral_is_not_found(app):
    assert signed_in(app, "maria").get("/referrals/999999").status_code == 404


# -- status and notes -----------------------------------------------------------------------------

def test_a_caseworker_changes_the_status_with_a_note(app, database):
    referral_id = referral(database)
    client = signed_in(app, "maria")
    reply = post(client, f"/referrals/{referral_id}/status", {"status": "contacted", "note": "Ringde, bokade tolk"},
                 f"/referrals/{referral_id}")
    assert reply.status_code == 303 and reply.headers["Location"].endswith(f"/referrals/{referral_id}")
    assert get(database, Referral, referral_id).status == "contacted"
    with database.transaction() as session:
        note = session.execute(select(ReferralNote).where(ReferralNote.referral_id == referral_id)).scalar_one()
        assert (note.author, note.text, note.status_from, note.status_to) == (
            "maria", "Ringde, bokade tolk", "new", "contacted")
    changed = audits(database, "referral.status_changed")[-1]
    assert (changed.actor, changed.entity_id, changed.details) == (
        "maria", str(referral_id), {"old": "new", "new": "contacted"})
    assert "Ringde" not in json.dumps([a.details for a in audits(database, "referral.note_added")])
    html = page(client, f"/referrals/{referral_id}")
    assert "Status ändrad till kontaktad." in html
    assert "Ringde, bokade tolk" in html and "Ny → Kontaktad" in html
    # the next moves are offered, and a note alone is fine
    assert 'value="accepted"' in html and 'value="started"' not in html
    post(client, f"/referrals/{referral_id}/status", {"status": "", "note": "Skickade sms"}, f"/referrals/{referral_id}")
    with database.transaction() as session:
        notes = session.execute(select(ReferralNote).where(ReferralNote.referral_id == referral_id)).scalars().all()
        assert [(n.text, n.status_to) for n in notes] == [("Ringde, bokade tolk", "contacted"), ("Skickade sms", None)]
    assert get(database, Referral, referral_id).status == "contacted"


def test_a_move_the_workflow_does_not_allow_is_refused(app, database):
    referral_id = referral(database)
    client = signed_in(app, "maria")
    reply = post(client, f"/referrals/{referral_id}/status", {"status": "started", "note": "hoppar"},
                 f"/referrals/{referral_id}")
    assert reply.status_code == 303
    assert get(database, Referral, referral_id).status == "new"
    with database.transaction() as session:
        assert session.execute(select(ReferralNote)).first() is None
    assert "går inte att välja" in page(client, f"/referrals/{referral_id}")
    reply = post(client, f"/referrals/{referral_id}/status", {"status": "", "note": "  "}, f"/referrals/{referral_id}")
    assert "Välj en ny status eller skriv en anteckning." in page(client, f"/referrals/{referral_id}")


def test_the_audit_log_is_for_admins(app, database):
    referral_id = referral(database)
    post(signed_in(app, "maria"), f"/referrals/{referral_id}/status", {"status": "contacted", "note": ""},
         f"/referrals/{referral_id}")
    assert signed_in(app, "maria").get("/audit").status_code == 403
    assert signed_in(app, "nora").get("/audit").status_code == 403
    html = page(signed_in(app, "adam"), "/audit")
    assert "referral.status_changed" in html and "Ändrade status" in html
    row = re.search(r"<tr>(?:(?!</tr>).)*referral\.status_changed(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert "maria" in row and f"referral {referral_id}" in row and "contacted" in row
    assert html.index("referral.status_changed") < html.index("referral.created")  # newest first


# -- sessions ---------------------------------------------------------------------------------------

def test_sessions_are_created_in_swedish_time(app, database):
    client = signed_in(app, "maria")
    reply = post(client, "/sessions", {"starts_at": "2026-12-01T10:00", "minutes": "90", "place": "Träffpunkten",
                                       "address": "Odelbergs väg 11", "capacity": "6"}, "/sessions")
    assert reply.status_code == 303
    with database.transaction() as session:
        created = session.execute(select(ActivitySession)).scalar_one()
        assert created.starts_at == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)  # 10:00 CET
        assert created.ends_at - created.starts_at == timedelta(minutes=90)
        assert (created.place, created.capacity) == ("Träffpunkten", 6)
        assert created.activity.code == "varmdo-steg-ett"  # the programme's activity
    assert audits(database, "session.created")[-1].actor == "maria"
    nora = signed_in(app, "nora")
    assert "Träffpunkten" in page(nora, "/sessions")
    assert post(nora, "/sessions", {"starts_at": "2026-12-02T10:00", "place": "X", "address": "Y", "capacity": "3"},
                "/sessions").status_code == 403


def test_capacity_never_goes_below_the_seats_booked(app, database):
    session_id = activity_session(database, capacity=2)
    book(database, referral(database), session_id)
    book(database, referral(database), session_id)
    client = signed_in(app, "maria")
    path = f"/sessions/{session_id}"
    reply = post(client, f"{path}/capacity", {"capacity": "1"}, path)
    assert reply.status_code == 303
    assert get(database, ActivitySession, session_id).capacity == 2
    assert "kan inte bli färre än de 2 som redan är bokade" in page(client, path)
    post(client, f"{path}/capacity", {"capacity": "5"}, path)
    assert get(database, ActivitySession, session_id).capacity == 5
    assert audits(database, "session.capacity_changed")[-1].details == {"old": 2, "new": 5}
    nora = signed_in(app, "nora")
    assert post(nora, f"{path}/capacity", {"capacity": "9"}, path).status_code == 403


def test_marking_attendance_counts_in_the_funnel(app, database):
    session_id = activity_session(database, capacity=1)
    came = referral(database, funnel_key="conv-came")
    waiting = referral(database, funnel_key="conv-waiting")
    events(database, "conv-came", ["started", "consented", "screened", "eligible", "booked"])
    seat = book(database, came, session_id)
    queued = book(database, waiting, session_id)
    client = signed_in(app, "nora")  # the NGO's staff run the sessions
    path = f"/sessions/{session_id}"
    html = page(client, path)
    assert "Amina Hassan" in html and "Plats i kön" in html
    reply = post(client, f"{path}/attendance", {f"attendance-{seat}": "attended", f"attendance-{queued}": "attended"},
                 path)
    assert reply.status_code == 303
    assert get(database, BookingAttendance, seat).outcome == "attended"
    assert get(database, BookingAttendance, seat).marked_by == "nora"
    assert get(database, BookingAttendance, queued) is None  # the waiting list holds no seat

    def attended():
        with database.transaction() as session:
            return session.execute(select(FunnelEvent.conversation).where(FunnelEvent.step == "attended")).scalars().all()

    assert attended() == ["conv-came"]
    post(client, f"{path}/attendance", {f"attendance-{seat}": "attended"}, path)  # again: no duplicate
    assert attended() == ["conv-came"]
    assert audits(database, "booking.attendance_marked")[-1].details["outcome"] == "attended"
    post(client, f"{path}/attendance", {f"attendance-{seat}": "no_show"}, path)  # a correction
    assert get(database, BookingAttendance, seat).outcome == "no_show"
    assert attended() == []


# -- the funnel ----------------------------------------------------------------------------------

def test_the_funnel_page(app, database):
    events(database, "c1", ["started", "consented", "answered:consent_data", "answered:name"], language="ar")
    events(database, "c2", ["started"], channel="46elks", language="sv")
    assert signed_in(app, "nora").get("/funnel").status_code == 403
    html = page(signed_in(app, "maria"), "/funnel")
    data = json.loads(re.search(r'<script type="application/json" id="funnel-data">(.*?)</script>', html, re.S)
                      .group(1))
    assert data["steps"][:3] == ["Började", "Samtyckte", "Svarade klart"]
    assert data["total"][:2] == [2, 1]
    assert {s["label"]: s["data"][:2] for s in data["by_language"]} == {"Arabiska": [1, 1], "Svenska": [1, 0]}
    assert {s["label"] for s in data["by_channel"]} == {"Telegram", "Sms (46elks)"}
    dropoff = {row["label"]: row["count"] for row in data["dropoff"]}
    assert dropoff["Före första frågan"] == 1
    assert dropoff["Vad vill du att vi kallar dig? Du behöver inte svara."] == 1
    assert "vendor/chart.umd.min.js" in html and "funnel.js" in html
    assert "<th scope=\"row\">Arabiska</th>" in html  # the same numbers as a table


def test_the_list_comes_in_pages_of_fifty_with_the_filters_kept(app, database):
    ids = [referral(database, language="ar") for _ in range(53)]
    other = referral(database, language="sv")
    client = signed_in(app, "maria")
    first = page(client, "/referrals?language=ar")
    assert "53 remisser" in first and "sida 1 av 2" in first
    assert sum(f"Remiss {i}<" in first for i in ids) == 50 and f"Remiss {other}<" not in first
    assert "/referrals?page=2&amp;language=ar" in first
    second = page(client, "/referrals?language=ar&page=2")
    shown = [i for i in ids if f"Remiss {i}<" in second]
    assert len(shown) == 3 and not set(shown) & {i for i in ids if f"Remiss {i}<" in first}
    assert "sida 2 av 2" in page(client, "/referrals?language=ar&page=99")  # past the end: the last page
    assert "53 remisser" in page(client, "/referrals?language=ar&page=x")


def test_a_no_show_and_the_bookings_messages_are_on_the_referral_page(app, database):
    from bot.db.models import Booking
    from bot.i18n import load_catalogs as catalogs_of
    from bot.intake.program import load_program
    from bot.scheduler import Scheduler

    session_id = activity_session(database, capacity=2)
    tablet = referral(database, channel="tablet")
    seat = book(database, tablet, session_id)
    staff = signed_in(app, "nora")
    path = f"/sessions/{session_id}"
    post(staff, f"{path}/attendance", {f"attendance-{seat}": "no_show"}, path)
    assert get(database, Booking, seat).status == "no_show"
    # the follow-up goes out at the next tick; the tablet cannot be written to: held for staff
    noon = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=11, minute=0)  # 12 or 13 in Stockholm
    tick = Scheduler(database, catalogs_of(PROJECT_ROOT / "locales"), load_program(PROJECT_ROOT / "program.yml"),
                     lambda: noon).run_once()
    assert len(tick.held) == 1
    html = page(signed_in(app, "maria"), f"/referrals/{tablet}")
    assert "Kom inte" in html
    assert "Uppföljning: ny tid?" in html and "kan inte skickas i den kanalen" in html
    assert "Påminnelse 24 h före" in html and "stoppad" in html  # the reminders were withdrawn


def test_staff_answer_an_offer_for_a_tablet_participant(app, database):
    from bot.db.models import Booking
    from bot.intake.booking import cancel_booking

    session_id = activity_session(database, capacity=1)
    holder = book(database, referral(database), session_id)
    first = book(database, referral(database, channel="tablet"), session_id)
    second = book(database, referral(database, channel="tablet"), session_id)
    with database.transaction() as session:
        cancel_booking(session, session.get(Booking, holder))
    assert get(database, Booking, first).status == "offered"
    staff = signed_in(app, "nora")
    path = f"/sessions/{session_id}"
    html = page(staff, path)
    assert "Erbjuden plats" in html and "Tacka ja åt deltagaren" in html
    reply = post(staff, f"{path}/offers/{first}", {"answer": "decline"}, path)
    assert reply.status_code == 303
    assert (get(database, Booking, first).status, get(database, Booking, second).status) == ("cancelled", "offered")
    post(staff, f"{path}/offers/{second}", {"answer": "accept"}, path)
    assert get(database, Booking, second).status == "booked"
    assert audits(database, "booking.offer_accepted")[-1].actor == "nora"
    assert post(staff, f"{path}/offers/{second}", {"answer": "maybe"}, path).status_code == 400
    assert post(staff, f"/sessions/{session_id + 99}/offers/{second}", {"answer": "accept"}, path).status_code == 404
