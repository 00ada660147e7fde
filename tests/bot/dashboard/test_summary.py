"""The Swedish summary of a referral, barrier texts and the PHQ-4 note."""

from __future__ import annotations

import pytest

from bot.dashboard.queries import get_referral
from bot.dashboard.summary import (
    BARRIER_TEXTS,
    HEALTH_BARRIERS,
    LANGUAGE_NAMES_SV,
    barrier_texts,
    interpreter_need,
    language_name,
    phq4_note,
    question_line,
    swedish_summary,
)
from bot.i18n import load_catalogs
from bot.intake.questions import HEALTH_KEYS, INTAKE_QUESTIONS
from tests.bot.dashboard.factory import SLOTS, program, referral
from tests.conftest import PROJECT_ROOT

CATALOGS = load_catalogs(PROJECT_ROOT / "locales")
ORDER = [q.key for q in INTAKE_QUESTIONS]


def summary(db, referral_id, include_health=True):
    with db.transaction() as session:
        return swedish_summary(get_referral(session, referral_id), CATALOGS, include_health=include_health)


def test_rows_in_question_order_with_swedish_questions_and_labels(db):
    rows = summary(db, referral(db, SLOTS, free_texts={"support": "Pengar från min bror"}))
    keys = [row.key for row in rows]
    assert keys == sorted(keys, key=ORDER.index)
    assert keys[:3] == ["municipality", "age_band", "swedish_level"]
    by_key = {row.key: row for row in rows}
    assert by_key["municipality"].question == "Var bor du? Tryck eller skriv kommun eller område."
    assert by_key["municipality"].answer == "Värmdö"
    assert by_key["age_band"].answer == "25–34 år"
    assert by_key["swedish_level"].answer == "Lite"
    assert by_key["housing"].answer == "I andra hand"
    assert by_key["phq_1"].question.startswith("Tänk på de senaste två veckorna")
    assert by_key["phq_1"].answer == "Mer än halva tiden"
    # a choice with what was written besides it
    assert (by_key["support"].answer, by_key["support"].free_text) == ("Annat", "Pengar från min bror")
    assert by_key["support"].written_in == "skrivet på svenska"
    assert by_key["swedish_level"].free_text is None and by_key["swedish_level"].written_in is None


def test_a_skipped_answer_says_so(db):
    rows = {row.key: row for row in summary(db, referral(db, SLOTS))}
    assert rows["authority_help"].answer == "Hoppade över"
    assert rows["authority_help"].skipped is True
    assert rows["municipality"].skipped is False


def test_free_text_as_written_with_the_language_it_was_written_in(db):
    goals = "أريد أن أعمل مع الأطفال"
    rows = {row.key: row for row in summary(db, referral(db, SLOTS, language="ar", goals=goals))}
    assert rows["goals"].answer == goals  # as written, not translated
    assert rows["goals"].kind == "text"
    assert rows["goals"].written_in == "skrivet på arabiska"
    assert rows["goals"].language == "ar"
    assert rows["goals"].question == "Vad vill du göra eller lära dig? Skriv med egna ord."
    assert rows["municipality"].answer == "Värmdö"  # options still in Swedish


def test_health_rows_are_left_out_when_asked(db):
    referral_id = referral(db, SLOTS)
    with_health = summary(db, referral_id, include_health=True)
    without = summary(db, referral_id, include_health=False)
    assert {row.key for row in with_health if row.health} == set(HEALTH_KEYS)
    assert not {row.key for row in without} & set(HEALTH_KEYS)
    assert not any(row.health for row in without)
    assert len(with_health) - len(without) == len(HEALTH_KEYS)


def test_multi_line_questions_give_their_last_line():
    sv = CATALOGS.get("sv")
    assert "\n" in sv.question_text("consent_data")
    assert question_line(sv, "consent_data") == "Får vi spara dina svar?"
    assert question_line(sv, "consent_health") == "Får vi fråga om din hälsa?"


def test_interpreter_need(db):
    need = interpreter_need_of(db, referral(db, SLOTS, language="so"))
    assert (need.answer, need.free_text, need.written_in) == ("Ja", "Somaliska", "skrivet på somaliska")
    no = dict(SLOTS, interpreter="no")
    del no["interpreter_language"]
    assert interpreter_need_of(db, referral(db, no)).answer == "Nej"


def interpreter_need_of(db, referral_id):
    with db.transaction() as session:
        return interpreter_need(get_referral(session, referral_id))


def test_every_barrier_of_the_programme_has_a_swedish_text():
    codes = {b.code for b in program().barriers}
    assert codes <= set(BARRIER_TEXTS)
    assert BARRIER_TEXTS["SWEDISH_LIMITED"] == "Begränsad svenska"
    assert set(HEALTH_BARRIERS) <= codes
    texts = barrier_texts(["SWEDISH_LIMITED", "MENTAL_HEALTH", "PHYSICAL_LIMITS"], include_health=False)
    assert texts == ["Begränsad svenska"]
    assert len(barrier_texts(["SWEDISH_LIMITED", "MENTAL_HEALTH"], include_health=True)) == 2


def test_every_language_has_a_swedish_name():
    assert set(CATALOGS.languages) <= set(LANGUAGE_NAMES_SV)
    assert language_name("ckb") == "kurdiska (sorani)"
    assert language_name("ti") == "tigrinja"


@pytest.mark.parametrize("score, band, says", [
    (1, "normal", "inom det normala"),
    (4, "mild", "lätta symtom"),
    (7, "moderate", "måttliga symtom"),
    (11, "severe", "svåra symtom"),
])
def test_phq4_note_per_band(score, band, says):
    note = phq4_note(score, band)
    assert says in note
    assert f"Poängen {score}" in note
    assert "inte en diagnos" in note
    assert "två veckorna" in note and "0–2 normal, 3–5 lätt, 6–8 måttlig, 9–12 svår" in note
    high = band in ("moderate", "severe")
    assert ("1177" in note) is high  # a high score: offer contact with healthcare
    assert ("Prata med personen" in note) is high
    assert ("utesluter inte" in note) is (not high)  # a low score does not rule problems out
    assert ("112" in note) is (band == "severe")


def test_phq4_note_without_a_score():
    note = phq4_note(None, None)
    assert note.startswith("Ingen PHQ-4-poäng")
    assert "inte en diagnos" in note
