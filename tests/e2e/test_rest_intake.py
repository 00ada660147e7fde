"""A whole Swedish intake over the REST channel, against the running servers and database."""

from __future__ import annotations

import json

from tests.e2e.conftest import buttons, texts

HAPPY_PATH = [
    # (message, a word the reply must contain)
    ("hej", "Välj språk"),
    ('/set_language{"language":"sv"}', "Får vi spara dina svar?"),
    ("ja", "Får vi fråga om din hälsa?"),
    ("ja", "Vad vill du att vi kallar dig?"),
    ("Amina", "telefonnummer"),
    ("070-123 45 67", "Var bor du?"),
    ("jag bor i gustavsberg", "Hur gammal"),
    ("34", "svenska"),
    ("lite", "SFI"),
    ("vet inte", "skolan"),
    ("6", "arbetat förut"),
    ('/choose{"choice":"home_country"}', "arbetat med"),
    ("städare i Syrien", "lever du på"),
    ("försörjningsstöd", "hand om någon"),
    ("ja barn", "bor du"),
    ("hos min bror", "nervös"),
    ("2", "oroa"),
    ("3", "lust"),
    ("1", "ledsen"),
    ("4", "sjukdom"),
    ("nej", "brev"),
    ("ibland", "BankID"),
    ("bara bankid", "lära dig"),
    ("Jag vill jobba i kök", "När på dagen"),
    ("förmiddag", "tolk"),
    ("ja", "Vilket språk"),
    ("arabiska", "välja en tid"),
]


def test_whole_swedish_intake_ends_in_one_referral_with_booking(servers):
    sender = "e2e-happy"
    before = {r["id"] for r in json.loads(servers.intake("referrals", "export", "--format", "json"))}
    last = []
    for message, expected in HAPPY_PATH:
        last = servers.send(sender, message)
        assert expected in texts(last), f"after {message!r}: {texts(last)!r}"
    session_buttons = [b for b in buttons(last) if b["payload"].startswith("/choose")]
    assert session_buttons, "the booking question offers sessions as buttons"
    confirmation = servers.send(sender, session_buttons[0]["payload"])
    assert "Du är bokad" in texts(confirmation)
    assert "Plats:" in texts(confirmation)
    # the same button again (a double tap) changes nothing
    servers.send(sender, session_buttons[0]["payload"])

    exported = json.loads(servers.intake("referrals", "export", "--format", "json"))
    mine = [r for r in exported if r["id"] not in before]
    assert len(mine) == 1, mine  # exactly one referral for the whole intake and the double tap
    referral = mine[0]
    assert referral["language"] == "sv"
    assert referral["status"] == "new"
    assert referral["eligible"] is True
    assert referral["booking"]["status"] == "booked"
    assert {"SWEDISH_LIMITED", "CARE_DUTIES", "INSECURE_HOUSING", "MENTAL_HEALTH", "INTERPRETER_NEEDED"} <= set(referral["barriers"])
    assert referral["priority"] == 1

    shown = json.loads(servers.intake("referrals", "show", str(referral["id"])))
    answers = {a["question"]: a for a in shown["answers"]}
    assert answers["municipality"]["value"] == "varmdo"
    assert answers["municipality"]["free_text"] == "jag bor i gustavsberg"
    assert answers["sfi_status"]["skipped"] is True
    assert answers["housing"]["value"] == "family_friends"
    assert answers["work_kind"]["free_text"] == "städare i Syrien"
    assert shown["phq4"] == {"score": 6, "band": "moderate"}  # positions 2,3,1,4 are scores 1,2,0,3
    assert "name" not in answers and "phone" not in answers


def test_the_referral_keeps_its_transcript_and_the_funnel_its_steps(servers):
    """What the dashboard shows: the conversation as seen, and how far it got (anonymously)."""
    from sqlalchemy import create_engine, text

    from bot.config import Config
    from bot.crypto import keyring
    from bot.intake.funnel import conversation_key
    from bot.simulate import SWEDISH_ANSWERS, book_first_free, run_intake

    sender = "e2e-funnel-transcript"
    answers = {**SWEDISH_ANSWERS, "work_kind": "städning", "goals": "Jobba", "interpreter_language": "arabiska"}
    _seen, replies = run_intake(servers.client, sender, answers)
    book_first_free(servers.client, sender, replies)
    key = conversation_key(Config.from_env(servers.env).secret, "rest", sender)
    engine = create_engine(servers.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            referral_id = conn.execute(text("SELECT id FROM referrals WHERE funnel_key = :k"), {"k": key}).scalar_one()
            sealed = conn.execute(text("SELECT messages FROM referral_transcripts WHERE referral_id = :r"),
                                  {"r": referral_id}).scalar_one()
            assert "Sara" not in sealed  # encrypted at rest
            messages = json.loads(keyring().decrypt(sealed))
            steps = {row[0] for row in conn.execute(text("SELECT step FROM funnel_events WHERE conversation = :k"),
                                                    {"k": key})}
    finally:
        engine.dispose()
    said = [m["text"] for m in messages if m["from"] == "participant"]
    assert said[0] == "hej" and "Sara" in said
    assert not any(t.startswith("/") or "{" in t for t in said)  # taps as their labels
    assert any("Får vi spara dina svar?" in m["text"] for m in messages if m["from"] == "assistant")
    assert {"started", "consented", "screened", "eligible", "booked", "answered:consent_data", "answered:name",
            "answered:interpreter"} <= steps
