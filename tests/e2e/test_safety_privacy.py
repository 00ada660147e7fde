"""Safety, handoff, consent and erasure over the REST channel, against the running servers.

The servers are the real Rasa server (with our tracker store) and action server; the database is
the one they write. A caseworker's side is played by calling the same operations the dashboard
calls.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, select

from bot.crypto import keyring
from bot.db import Database
from bot.db.models import (
    ConsentRecord,
    Handoff,
    Participant,
    Referral,
    SafetyAlert,
    StaffUser,
    TrackerEvent,
)
from bot.db.rotation import encrypted_columns
from bot.i18n import load_catalogs
from bot.intake.participants import pseudonym
from bot.safety.handoff import close, open_handoff, staff_reply
from bot.safety.phrases import load_all
from bot.simulate import TAPPED_ANSWERS
from bot.tracker import tracker_key
from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import buttons, texts
from tests.e2e.driver import BASE_ANSWERS, run_intake
from tests.support.database import found_in, raw_dump

CATALOGS = load_catalogs(PROJECT_ROOT / "locales")
LANGUAGES = CATALOGS.languages
PHRASES = load_all()
SECRET = b"e2e-secret"


@pytest.fixture(scope="module")
def database(servers):
    db = Database(servers.env["DATABASE_URL"])
    yield db
    db.dispose()


def new_sender() -> str:
    return "safety-" + uuid.uuid4().hex[:12]


def start(servers, sender: str, language: str) -> None:
    servers.send(sender, "hej")
    servers.send(sender, '/set_language{"language":"%s"}' % language)


def participant_of(database, sender: str):
    with database.transaction() as session:
        return session.execute(
            select(Participant).where(Participant.pseudonym == pseudonym(SECRET, "rest", sender))
        ).scalar_one_or_none()


def is_crisis_reply(replies) -> bool:
    said = texts(replies)
    return "112" in said and "90101" in said


@pytest.mark.parametrize("language", LANGUAGES)
def test_crisis_phrases_in_every_language_get_help_at_once_and_an_alert(servers, database, language):
    sender = new_sender()
    start(servers, sender, language)
    for example in PHRASES[language].examples:
        replies = servers.send(sender, example)
        assert is_crisis_reply(replies), (example, texts(replies))
        assert {"title": CATALOGS.get(language).text("resume_button"), "payload": "/resume"} in buttons(replies)
    participant = participant_of(database, sender)
    with database.transaction() as session:
        alerts = session.execute(select(SafetyAlert).where(SafetyAlert.participant_id == participant.id)).scalars().all()
        assert len(alerts) == len(PHRASES[language].examples)
        handoff = open_handoff(session, participant.id)
        assert handoff.reason == "crisis" and handoff.status == "waiting"
    if language in ("ar", "so", "fa"):  # 1177's own line in the participant's language
        assert "08-123 130" in texts(servers.send(sender, PHRASES[language].examples[0]))


@pytest.mark.parametrize("language", LANGUAGES)
def test_negatives_in_every_language_are_no_crisis(servers, database, language):
    sender = new_sender()
    start(servers, sender, language)
    servers.send(sender, '/choose{"choice":"yes"}')
    for negative in PHRASES[language].negatives:
        replies = servers.send(sender, negative)
        assert not is_crisis_reply(replies), (negative, texts(replies))
    participant = participant_of(database, sender)
    with database.transaction() as session:
        assert session.execute(select(SafetyAlert).where(SafetyAlert.participant_id == participant.id)).first() is None


def test_a_crisis_mid_intake_pauses_the_form_until_the_participant_resumes_and_the_referral_is_urgent(servers, database):
    sender = new_sender()
    asked, replies = run_intake(servers, sender, BASE_ANSWERS, stop_at="swedish_level")
    replies = servers.send(sender, "jag vill inte leva längre")
    assert is_crisis_reply(replies)
    # the form does not go on: the next message goes to the caseworkers, not to the questions
    replies = servers.send(sender, "jag vet inte vad jag ska göra")
    assert "svenska" not in texts(replies).lower()
    replies = servers.send(sender, "/resume")
    assert "svenska" in texts(replies).lower()  # the question it was at, again
    asked, replies = run_intake(servers, sender, BASE_ANSWERS, first='/choose{"choice":"basic"}')
    with database.transaction() as session:
        participant = session.execute(
            select(Participant).where(Participant.pseudonym == pseudonym(SECRET, "rest", sender))
        ).scalar_one()
        referral = session.execute(select(Referral).where(Referral.participant_id == participant.id)).scalar_one()
        assert referral.urgent is True
        alert = session.execute(select(SafetyAlert).where(SafetyAlert.participant_id == participant.id)).scalar_one()
        assert alert.referral_id == referral.id and alert.category == "suicide"
        # the participant chose to go on: their handoff is closed by them
        assert session.execute(select(Handoff).where(Handoff.participant_id == participant.id)).scalar_one().closed_by == "participant"


def test_handoff_pauses_and_resumes_the_assistant_over_rest(servers, database):
    sender = new_sender()
    start(servers, sender, "sv")
    servers.send(sender, '/choose{"choice":"yes"}')  # consent to store; next: the health question
    replies = servers.send(sender, "jag vill prata med en person")
    assert "En person tar över chatten" in texts(replies)
    participant = participant_of(database, sender)
    with database.transaction() as session:
        handoff = open_handoff(session, participant.id)
        assert handoff.reason == "asked" and handoff.status == "waiting"
        before = [m.text for m in handoff.messages if m.before_handoff]
        assert any("Får vi spara dina svar" in t for t in before)  # the caseworker sees the conversation
    replies = servers.send(sender, "Jag behöver hjälp med en blankett")
    assert "En person läser det" in texts(replies) and "hälsa" not in texts(replies)
    assert servers.send(sender, "Hallå?") == []  # paused: nothing from the assistant
    with database.transaction() as session:
        if session.execute(select(StaffUser).where(StaffUser.username == "karin")).first() is None:
            session.add(StaffUser(username="karin", display_name="Karin", role="caseworker", password_hash="-"))
        handoff = open_handoff(session, participant.id)
        staff_reply(session, handoff, "karin", "Karin", "Hej! Vilken blankett gäller det?")
    replies = servers.send(sender, "Från Försäkringskassan")
    assert "Karin: Hej! Vilken blankett gäller det?" in texts(replies)
    with database.transaction() as session:
        handoff = open_handoff(session, participant.id)
        assert [m.text for m in handoff.messages if m.sender == "participant" and not m.before_handoff] == [
            "Jag behöver hjälp med en blankett", "Hallå?", "Från Försäkringskassan"]
        close(session, handoff, "karin", goodbye=CATALOGS.get("sv").text("handoff_ended"))
    replies = servers.send(sender, "ok")
    said = texts(replies)
    assert "Nu svarar assistenten igen" in said
    assert "hälsa" in said  # the intake goes on where it was: the health consent


def show_and_erase(servers, sender):
    replies = servers.send(sender, "vad vet ni om mig")
    shown = texts(replies)
    replies = servers.send(sender, "radera mina uppgifter")
    assert "Vill du att vi raderar allt om dig?" in texts(replies)
    assert [b["payload"] for b in buttons(replies)] == ["/affirm", "/deny"]
    return shown, servers.send(sender, "ja")


def decrypted_dump(engine) -> str:
    """Every encrypted value, decrypted: what the database holds, read with the keys."""
    ring, parts = keyring(), []
    with engine.connect() as conn:
        for table, _key, column in encrypted_columns():
            for (value,) in conn.exec_driver_sql(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"):
                parts.append(ring.decrypt(value))
    return "\n".join(parts)


def test_access_then_erasure_from_the_chat_leaves_nothing_anywhere(servers, database):
    sender = new_sender()
    answers = dict(TAPPED_ANSWERS, name="Zeynab Karimi", phone="0709876543", goals="Bli snickare i Hemmesta",
                   work_kind="Snickare i Herat", interpreter_language="dari")
    run_intake(servers, sender, answers)
    shown, replies = show_and_erase(servers, sender)
    assert "Zeynab Karimi" in shown and "+46709876543" in shown and "Bli snickare i Hemmesta" in shown
    assert "Vi har raderat allt om dig" in texts(replies)
    secrets = [sender, "Zeynab", "709876543", "Bli snickare", "Snickare i Herat",
               pseudonym(SECRET, "rest", sender), tracker_key(SECRET, sender)]
    engine = create_engine(servers.env["DATABASE_URL"])
    try:
        assert found_in(raw_dump(engine), secrets) == []
        assert found_in(decrypted_dump(engine), secrets) == []
        with engine.connect() as conn:
            events = conn.execute(select(TrackerEvent.id).where(
                TrackerEvent.conversation == tracker_key(SECRET, sender))).fetchall()
        assert events == []
    finally:
        engine.dispose()
    # the servers' logs hold no name, number or answer either
    log = (servers.data_dir / "servers.log").read_text(errors="replace")
    assert found_in(log, secrets[:5]) == []
    # and the conversation starts afresh
    assert "Välj språk" in texts(servers.send(sender, "hej")) or "språk" in texts(servers.send(sender, "hej"))


def test_a_no_to_erasure_keeps_everything(servers, database):
    sender = new_sender()
    start(servers, sender, "sv")
    servers.send(sender, '/choose{"choice":"yes"}')
    servers.send(sender, "radera mina uppgifter")
    replies = servers.send(sender, "nej")
    assert "Vi raderar ingenting" in texts(replies)
    assert participant_of(database, sender) is not None


def test_withdrawn_consent_stops_processing(servers, database):
    sender = new_sender()
    run_intake(servers, sender, dict(TAPPED_ANSWERS, name="Leyla Ahmadi", work_kind="Städare", goals="Jobba i en butik",
                                         interpreter_language="persiska"))
    replies = servers.send(sender, "jag tar tillbaka mitt samtycke")
    assert "Vill du ta tillbaka ditt ja?" in texts(replies)
    replies = servers.send(sender, "/affirm")
    assert "Vi använder inte dina svar längre" in texts(replies)
    participant = participant_of(database, sender)
    with database.transaction() as session:
        participant = session.get(Participant, participant.id)
        consents = session.execute(select(ConsentRecord).where(ConsentRecord.participant_id == participant.id)).scalars().all()
        assert consents and all(c.withdrawn_at is not None for c in consents if c.given)
        assert all(c.consent_text is not None and c.text_version for c in consents)
        referral = session.execute(select(Referral).where(Referral.participant_id == participant.id)).scalar_one()
        assert referral.status == "withdrawn" and referral.answers == []
        assert participant.display_name is None
    # the conversation is gone with the consent: a new start begins from the language menu
    replies = servers.send(sender, "hej")
    assert any(b["payload"].startswith("/set_language") for b in buttons(replies))
    with database.transaction() as session:
        assert session.execute(select(TrackerEvent.id).where(
            TrackerEvent.conversation == tracker_key(SECRET, sender))).all() != []  # only the new "hej"
        handoffs = session.execute(select(Handoff).where(Handoff.participant_id == participant.id)).all()
        assert handoffs == []


def test_consent_records_hold_the_wording_shown_in_its_language(servers, database):
    sender = new_sender()
    start(servers, sender, "ar")
    servers.send(sender, '/choose{"choice":"yes"}')
    participant = participant_of(database, sender)
    with database.transaction() as session:
        record = session.execute(select(ConsentRecord).where(ConsentRecord.participant_id == participant.id)).scalar_one()
        assert record.language == "ar" and record.scope == "data" and record.given
        expected = CATALOGS.get("ar").question_text("consent_data")
        assert record.consent_text.text.split("\n")[0] == expected.split("\n")[0]
        assert json.dumps(record.text_version)
