"""Crisis, handoff and the participant's own data, as actions (no Rasa server)."""

from __future__ import annotations

from sqlalchemy import select

from actions.privacy import (
    ActionConfirm,
    ActionEraseData,
    ActionShowMyData,
    ActionWithdrawConsent,
)
from actions.safety import (
    ActionCrisis,
    ActionCrisisCheck,
    ActionHandoffRelay,
    ActionResume,
    ActionTalkToHuman,
)
from bot.db.models import (
    ConsentRecord,
    Handoff,
    HandoffMessage,
    Participant,
    SafetyAlert,
    StaffUser,
)
from bot.intake.participants import get_or_create_participant, pseudonym, record_consent
from bot.safety.handoff import close, staff_reply
from tests.actions.conftest import (
    SENDER,
    all_slots,
    make_tracker,
    message,
    run,
    slots_set,
    texts,
)

KEY = pseudonym(b"test-secret", "rest", SENDER)


def crisis_message(category="suicide"):
    parsed = message("jag vill dö", "crisis", 1.0)
    parsed["crisis"] = {"category": category, "detected_by": "phrase"}
    return parsed


async def test_crisis_help_is_sent_even_when_the_database_is_down(domain):
    # no `env` fixture: DATABASE_URL is an unmigrated file, so storing the alert fails
    events, messages = await run(ActionCrisis(), make_tracker(all_slots(language="sv"), crisis_message()), domain)
    said = "\n".join(texts(messages))
    assert "112" in said and "90101" in said and "1177" in said
    assert events == []  # not paused: nobody would see the conversation


async def test_a_crisis_only_the_classifier_saw_is_checked_first(env, db, domain):
    parsed = message("mitt barn slog huvudet", "crisis", 0.85)
    parsed["crisis"] = {"category": "other", "detected_by": "nlu"}
    events, messages = await run(ActionCrisis(), make_tracker(all_slots(language="sv"), parsed), domain)
    assert messages == [] and [e["name"] for e in events if e["event"] == "followup"] == ["action_crisis_check"]
    _, messages = await run(ActionCrisisCheck(), make_tracker(all_slots(language="sv"), parsed), domain)
    assert "112" in messages[0]["text"] and [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    no = make_tracker(all_slots(language="sv"), message("/deny", "deny", 1.0))
    no.events.insert(-1, {"event": "action", "name": "action_crisis_check"})
    no.events.insert(-1, {"event": "action", "name": "action_listen"})
    events, messages = await run(ActionConfirm(), no, domain)
    assert texts(messages) == ["Okej, vi fortsätter."]
    with db.transaction() as session:
        assert session.execute(select(SafetyAlert)).first() is None
    yes = make_tracker(all_slots(language="sv"), message("/affirm", "affirm", 1.0))
    yes.events.insert(-1, {"event": "action", "name": "action_crisis_check"})
    yes.events.insert(-1, {"event": "action", "name": "action_listen"})
    events, messages = await run(ActionConfirm(), yes, domain)
    assert "90101" in texts(messages)[0] and slots_set(events)["handoff"] is True
    with db.transaction() as session:
        assert session.execute(select(SafetyAlert)).scalar_one().detected_by == "confirmed"


async def test_crisis_opens_an_urgent_handoff_with_the_conversation_and_pauses(env, db, domain):
    tracker = make_tracker(all_slots(language="ar"), crisis_message("violence"), form=None)
    events, messages = await run(ActionCrisis(), tracker, domain)
    assert slots_set(events)["handoff"] is True
    assert "08-123 130 80" in "\n".join(texts(messages))  # 1177 in Arabic
    assert messages[-1]["buttons"] == [{"title": messages[-1]["buttons"][0]["title"], "payload": "/resume"}]
    with db.transaction() as session:
        alert = session.execute(select(SafetyAlert)).scalar_one()
        handoff = session.get(Handoff, alert.handoff_id)
        assert alert.category == "violence" and handoff.reason == "crisis" and handoff.language == "ar"
        assert [m.text for m in handoff.messages] == ["jag vill dö"]  # what was said before


async def test_talk_to_human_relay_reply_and_hand_back(env, db, domain):
    events, messages = await run(ActionTalkToHuman(), make_tracker(all_slots(language="sv"), message("en person", "talk_to_human")), domain)
    assert slots_set(events)["handoff"] is True and "En person tar över chatten" in texts(messages)[0]
    paused = all_slots(language="sv", handoff=True)
    events, messages = await run(ActionHandoffRelay(), make_tracker(paused, message("Hallå")), domain)
    assert texts(messages) == ["Tack. En person läser det och svarar här."]
    with db.transaction() as session:
        session.add(StaffUser(username="karin", display_name="Karin", role="caseworker", password_hash="-"))
        handoff = session.execute(select(Handoff)).scalar_one()
        staff_reply(session, handoff, "karin", "Karin", "Hej, jag heter Karin.")
    events, messages = await run(ActionHandoffRelay(), make_tracker(dict(paused, handoff_acknowledged=True), message("Hej")), domain)
    assert texts(messages) == ["Karin: Hej, jag heter Karin."]
    with db.transaction() as session:
        close(session, session.execute(select(Handoff)).scalar_one(), "karin", goodbye="Nu svarar assistenten igen.")
    events, messages = await run(ActionHandoffRelay(), make_tracker(paused, message("ok")), domain)
    assert texts(messages) == ["Nu svarar assistenten igen."]
    assert slots_set(events)["handoff"] is False
    assert {"event": "followup", "name": "intake_form"} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    with db.transaction() as session:
        senders = [m.sender for m in session.execute(select(HandoffMessage).order_by(HandoffMessage.id)).scalars()]
        assert senders == ["participant", "participant", "staff", "participant", "assistant"]


async def test_resume_closes_the_handoff_by_the_participant(env, db, domain):
    await run(ActionTalkToHuman(), make_tracker(all_slots(language="sv"), message("en person", "talk_to_human")), domain)
    events, messages = await run(ActionResume(), make_tracker(all_slots(language="sv", handoff=True), message("/resume", "resume", 1.0)), domain)
    assert texts(messages) == ["Okej, vi fortsätter."] and slots_set(events)["handoff"] is False
    with db.transaction() as session:
        assert session.execute(select(Handoff)).scalar_one().closed_by == "participant"


async def test_erasure_asks_then_erases_and_marks_the_conversation(env, db, domain):
    with db.transaction() as session:
        record_consent(session, get_or_create_participant(session, KEY, "rest", "sv"), "data", True, "sv")
    events, messages = await run(ActionEraseData(), make_tracker(all_slots(language="sv"), message("radera", "erase_data")), domain)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]
    asked = make_tracker(all_slots(language="sv"), message("ja", "affirm", 0.99), after_user=())
    asked.events.insert(-1, {"event": "action", "name": "action_erase_data"})
    asked.events.insert(-1, {"event": "action", "name": "action_listen"})
    events, messages = await run(ActionConfirm(), asked, domain)
    assert slots_set(events)["data_erased"] is True
    assert messages[-1].get("custom") == {"forget_after_send": True}
    with db.transaction() as session:
        assert session.execute(select(Participant)).first() is None


async def test_withdrawal_marks_the_consents_and_resets_the_conversation(env, db, domain):
    with db.transaction() as session:
        record_consent(session, get_or_create_participant(session, KEY, "rest", "sv"), "data", True, "sv")
    events, messages = await run(ActionWithdrawConsent(), make_tracker(all_slots(language="sv"), message("x", "withdraw_consent")), domain)
    assert "Vill du ta tillbaka ditt ja?" in texts(messages)[0]
    asked = make_tracker(all_slots(language="sv", name="Amina"), message("/affirm", "affirm", 1.0))
    asked.events.insert(-1, {"event": "action", "name": "action_withdraw_consent"})
    asked.events.insert(-1, {"event": "action", "name": "action_listen"})
    events, _ = await run(ActionConfirm(), asked, domain)
    assert {"event": "reset_slots"} in [{"event": e.get("event")} for e in events]
    with db.transaction() as session:
        assert session.execute(select(ConsentRecord)).scalar_one().withdrawn_at is not None


async def test_show_my_data_lists_the_answers_given_so_far(env, db, domain):
    tracker = make_tracker(all_slots(language="sv", consent_data="yes", name="Amina", municipality="varmdo"),
                           message("vad vet ni om mig", "show_my_data"))
    _, messages = await run(ActionShowMyData(), tracker, domain)
    shown = texts(messages)[0]
    assert "Amina" in shown and "Värmdö" in shown
