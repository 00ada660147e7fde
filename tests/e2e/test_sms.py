"""SMS end to end over both gateways: 46elks form posts and Twilio requests signed by the real library."""

from __future__ import annotations

import json
import time

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from bot.crypto import keyring
from bot.simulate import QuestionReader, run_intake, texts
from tests.support.clients import next_id, sms_answers

pytestmark = pytest.mark.servers
GATEWAYS = ["46elks", "twilio"]


def client_for(servers, gateway):
    return servers.elks() if gateway == "46elks" else servers.twilio()


def new_phone() -> str:
    return "+4670" + str(1_000_000 + next_id() % 8_999_999)


def referrals(servers):
    return json.loads(servers.intake("referrals", "export", "--format", "json"))


def outbound(servers, **wanted):
    """The outbox rows whose columns have the wanted values (read through the models: the
    recipient and the text are encrypted in the table)."""
    from bot.db import Database
    from bot.db.models import OutboundMessage

    database = Database(servers.env["DATABASE_URL"])
    try:
        with database.transaction() as session:
            rows = [{c.name: getattr(m, c.name) for c in OutboundMessage.__table__.columns}
                    for m in session.query(OutboundMessage).all()]
    finally:
        database.dispose()
    return [r for r in rows if all(r[k] == v for k, v in wanted.items())]


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_forged_and_unsigned_requests_are_refused(servers, gateway):
    client = client_for(servers, gateway)
    phone = new_phone()
    assert client.post(client.form(phone, "hej"), authentic=False).status_code == 403
    assert requests.post(servers.webhook(gateway), data=client.form(phone, "hej"), timeout=30).status_code == 403
    time.sleep(0.5)
    assert client.received(phone) == []


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_a_whole_short_intake_by_sms(servers, gateway):
    client = client_for(servers, gateway)
    phone = new_phone()
    before = len(referrals(servers))
    asked, replies = run_intake(client, phone, sms_answers("sv"), first="Hej, jag vill anmäla mig", sms=True)
    assert asked == ["consent_data", "name", "municipality", "age_band", "interpreter", "booking_session"]
    said = texts(replies)
    assert "\n1 " in said and "\n2 " in said  # the sessions as a numbered list in one SMS
    confirmation = client.send(phone, "1")
    assert "Du är bokad" in texts(confirmation)
    rows = referrals(servers)
    assert len(rows) == before + 1
    mine = rows[-1] if rows[-1]["channel"] == gateway else [r for r in rows if r["channel"] == gateway][-1]
    assert mine["screening"] == "short" and mine["booking"]["status"] == "booked"
    assert mine["eligible"] is True
    # one SMS per turn, each as few segments as its text needs
    assert len(client.received(phone)) == len(asked) + 1
    assert client.segments(phone) <= 12


def test_the_number_becomes_the_participants_contact(servers):
    client = servers.elks()
    phone = new_phone()
    run_intake(client, phone, sms_answers("sv"), first="Hej, jag vill anmäla mig", sms=True)
    shown = servers.intake("referrals", "list")
    referral_id = [line.split("\t")[0] for line in shown.splitlines() if "46elks" in line][-1]
    engine = create_engine(servers.env["DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(text(
            "SELECT p.phone_e164 FROM referrals r JOIN participants p ON p.id = r.participant_id WHERE r.id = :id"
        ), {"id": int(referral_id)}).scalar_one()
    engine.dispose()
    assert phone not in stored and keyring().decrypt(stored) == phone  # encrypted at rest
    # the phone question was never asked; the tracker key is not the number
    assert all("telefonnummer" not in m for m in client.received(phone))


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_a_redelivered_sms_is_answered_once(servers, gateway):
    client = client_for(servers, gateway)
    phone = new_phone()
    message_id = f"dup{next_id()}"
    client.send(phone, "Hej, jag vill anmäla mig", message_id=message_id)
    for _ in range(2):
        assert client.post(client.form(phone, "Hej, jag vill anmäla mig", message_id)).status_code == 200
    time.sleep(1.0)
    assert len(client.received(phone)) == 1


@pytest.mark.parametrize("reply", ["1", "١", "۱", "Ja"])
def test_a_number_in_any_script_or_the_options_text_chooses(servers, reply):
    client = servers.elks()
    phone = new_phone()
    client.send(phone, "Hej, jag vill anmäla mig")
    answer = client.send(phone, reply)
    assert QuestionReader("sv", sms=True).asked(answer) == "name", texts(answer)


def test_an_arabic_participant_gets_arabic_sms(servers):
    client = servers.twilio()
    phone = new_phone()
    replies = client.send(phone, "مرحبا، أريد التسجيل في النشاط")
    assert QuestionReader("ar", sms=True).asked(replies) == "consent_data", texts(replies)
    assert "\u200f1" not in texts(replies)  # no needless right-to-left marks (each costs a character)


def test_an_empty_sms_gets_a_polite_reply(servers):
    client = servers.elks()
    phone = new_phone()
    assert texts(client.send(phone, "")) == "Jag kan bara läsa text. Skriv ditt svar, tack."


def test_a_gateway_outage_is_retried_and_delivered(servers):
    client = servers.elks()
    phone = new_phone()
    servers.gateways.elks.fail_next(1, status=503)
    client.post(client.form(phone, "Hej, jag vill anmäla mig")).raise_for_status()
    deadline = time.monotonic() + 40  # first retry after 10 s, the outbox is looked at every 10 s
    while time.monotonic() < deadline and not client.received(phone):
        time.sleep(0.5)
    assert len(client.received(phone)) == 1
    rows = outbound(servers, recipient=phone)
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2)]
    assert rows[0]["body"] is None  # the text is not kept once the gateway has it


def test_a_message_that_cannot_be_delivered_shows_on_the_referral(servers):
    client = servers.elks()
    phone = new_phone()
    run_intake(client, phone, sms_answers("sv"), first="Hej, jag vill anmäla mig", sms=True)
    servers.gateways.elks.fail_next(1, status=403)  # e.g. a number that cannot get SMS
    client.send(phone, "1", expect_reply=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not outbound(servers, recipient=phone, status="failed"):
        time.sleep(0.3)
    listing = [line.split("\t") for line in servers.intake("referrals", "list").splitlines()]
    header, rows = listing[0], listing[1:]
    mine = [r for r in rows if r[header.index("channel")] == "46elks"][-1]
    assert mine[header.index("undelivered")] == "1"
    shown = json.loads(servers.intake("referrals", "show", mine[0]))
    assert shown["messages_not_delivered"] and "403" in shown["messages_not_delivered"][0]["error"]


def test_delivery_reports_are_recorded(servers):
    client = servers.elks()
    phone = new_phone()
    client.send(phone, "Hej, jag vill anmäla mig")
    sent = [s for s in servers.gateways.elks.sent() if s["to"] == phone][-1]
    assert sent["whendelivered"].endswith("/webhooks/46elks/delivery") and sent["dontlog"] == "message"
    url = servers.webhook("46elks").rsplit("/", 1)[0] + "/delivery"
    report = {"id": sent["id"], "status": "failed", "delivered": "2026-11-24T10:00:00"}
    assert requests.post(url, data=report, timeout=30).status_code == 403  # not signed in
    assert requests.post(url, data=report, auth=("intake", "e2e-elks-webhook"), timeout=30).status_code == 200
    assert outbound(servers, gateway_id=sent["id"])[0]["status"] == "failed"


form_values = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["id", "from", "to", "message", "created", "direction", "x"]),
                            form_values, max_size=6))
def test_fuzzed_46elks_posts_never_make_a_server_error(servers, form):
    reply = requests.post(servers.webhook("46elks"), data=form, auth=("intake", "e2e-elks-webhook"), timeout=60)
    assert reply.status_code < 500, reply.text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(["MessageSid", "From", "To", "Body", "NumMedia", "AccountSid", "X"]),
                            form_values, max_size=6))
def test_fuzzed_twilio_posts_never_make_a_server_error(servers, form):
    client = servers.twilio()
    reply = client.post(form)  # signed: the fuzz reaches the parsing, not only the signature check
    assert reply.status_code < 500, reply.text
