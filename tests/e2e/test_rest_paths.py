"""The unhappy paths over the REST channel, with the database read back after each."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.db import Database
from bot.db.models import ConsentRecord, Participant, Referral
from tests.e2e.conftest import buttons, texts
from tests.e2e.driver import BASE_ANSWERS, BOOKING, run_intake


def counts(servers):
    db = Database(servers.env["DATABASE_URL"])
    try:
        with db.transaction() as s:
            return {m.__name__: s.execute(select(func.count()).select_from(m)).scalar_one()
                    for m in (Participant, ConsentRecord, Referral)}
    finally:
        db.dispose()


def referral_of(servers, referral_id):
    return json.loads(servers.intake("referrals", "show", str(referral_id)))


def newest_referral(servers):
    rows = json.loads(servers.intake("referrals", "export", "--format", "json"))
    return max(rows, key=lambda r: r["id"])


def test_consent_declined_stores_nothing_and_offers_a_person(servers):
    before = counts(servers)
    seen, replies = run_intake(servers, "e2e-no-consent", {"consent_data": "nej"})
    assert seen == ["consent_data"]
    assert "Vi sparar ingenting" in texts(replies)
    assert "Ring 08-570 470 00" in texts(replies)
    assert counts(servers) == before


def test_health_consent_declined_asks_and_stores_no_health_answers(servers):
    answers = dict(BASE_ANSWERS, consent_health="nej")
    seen, replies = run_intake(servers, "e2e-no-health", answers)
    assert seen[-2:] == ["interpreter", BOOKING]
    assert not {"phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"} & set(seen)
    shown = referral_of(servers, newest_referral(servers)["id"])
    assert shown["phq4"] is None
    assert not {a["question"] for a in shown["answers"]} & {"phq_1", "phq_2", "phq_3", "phq_4", "physical_limits"}
    assert "MENTAL_HEALTH" not in shown["barriers"]


def test_skipped_questions_are_stored_as_skipped(servers):
    answers = dict(BASE_ANSWERS, name="hoppa över", swedish_level="vet inte", schooling="/skip", goals="vet inte")
    seen, replies = run_intake(servers, "e2e-skips", answers)
    assert seen[-1] == BOOKING and "name" in seen
    shown = referral_of(servers, newest_referral(servers)["id"])
    skipped = {a["question"] for a in shown["answers"] if a["skipped"]}
    assert {"swedish_level", "schooling", "goals"} <= skipped


def test_not_eligible_gets_a_kind_explanation_and_no_booking(servers):
    answers = dict(BASE_ANSWERS, municipality="Rinkeby")
    seen, replies = run_intake(servers, "e2e-outside", answers)
    said = texts(replies)
    assert "Aktiviteten är för dig som bor i Värmdö kommun" in said
    assert "Arbetsförmedlingen" in said
    assert not [b for b in buttons(replies) if b["payload"].startswith("/choose")]
    referral = newest_referral(servers)
    assert referral["status"] == "declined" and referral["eligible"] is False
    assert referral["eligibility_reasons"] == ["outside_area"] and referral["booking"] is None


def test_a_full_session_offers_the_waiting_list(servers):
    # the demo's third session has one seat: the first participant takes it
    _, replies = run_intake(servers, "e2e-seat-1", BASE_ANSWERS)
    third = [b for b in buttons(replies) if b["payload"].startswith("/choose")][2]
    assert "En plats kvar" in third["title"] or "Fullt" in third["title"]
    first = servers.send("e2e-seat-1", "3")
    assert "Du är bokad" in texts(first) or "kölistan" in texts(first)

    _, replies = run_intake(servers, "e2e-seat-2", BASE_ANSWERS)
    third = [b for b in buttons(replies) if b["payload"].startswith("/choose")][2]
    assert "Fullt, kölista" in third["title"]
    full = servers.send("e2e-seat-2", third["payload"])
    assert "Den tiden är tyvärr full" in texts(full)
    assert "kölistan" in texts(full)
    waiting = servers.send("e2e-seat-2", "ja")
    assert "Du står på kölistan" in texts(waiting)
    assert "Du är nummer" in texts(waiting)
    referral = newest_referral(servers)
    assert referral["booking"]["status"] == "waitlisted"


def test_stop_in_the_middle_and_resume_where_it_stopped(servers):
    before = counts(servers)["Referral"]
    seen, replies = run_intake(servers, "e2e-stop", BASE_ANSWERS, stop_at="schooling")
    stopped = servers.send("e2e-stop", "stopp")
    assert "vi slutar här" in texts(stopped)
    assert counts(servers)["Referral"] == before
    resumed = servers.send("e2e-stop", "hej")
    assert "Hur många år har du gått i skolan?" in texts(resumed)


def test_finishing_twice_never_makes_two_referrals(servers):
    _, replies = run_intake(servers, "e2e-twice", BASE_ANSWERS)
    session = [b for b in buttons(replies) if b["payload"].startswith("/choose")][0]
    servers.send("e2e-twice", session["payload"])
    before = counts(servers)["Referral"]
    again = servers.send("e2e-twice", "hej")
    assert "Du har redan skickat in dina svar" in texts(again)
    assert counts(servers)["Referral"] == before


def test_bad_input_gets_a_polite_reply_and_the_question_again(servers):
    seen, replies = run_intake(servers, "e2e-bad", BASE_ANSWERS, stop_at="age_band")
    odd = servers.send("e2e-bad", "🙂🙂")
    assert "Jag förstod inte" in texts(odd)
    assert "Hur gammal är du?" in texts(odd)
    wrong_phone = servers.send("e2e-bad2", "hej")
    assert "Välj språk" in texts(wrong_phone)
