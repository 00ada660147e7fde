"""After the booking, over the REST channel in each language: another time, then cancelling.

The participant types what the assistant's own texts tell them to type ("byt tid", "avboka"),
in their language; the database shows the booking moved, then cancelled.
"""

from __future__ import annotations

import json

import pytest

from bot.simulate import TAPPED_ANSWERS, buttons, run_intake, texts
from tests.e2e.test_languages import PEOPLE, reply_language

# (another time, cancel): the words the catalogue texts tell the participant to write
TYPED = {
    "sv": ("byt tid", "avboka"),
    "en": ("change time", "cancel my time"),
    "ar": ("تغيير الموعد", "إلغاء الموعد"),
    "so": ("beddel waqtiga", "ballanta baaji"),
    "ti": ("ግዜ ቀይር", "ግዜ ሰርዝ"),
    "fa": ("تغییر وقت", "لغو"),
    "uk": ("змінити час", "скасувати"),
    "ckb": ("گۆڕینی کات", "هەڵوەشاندنەوە"),
    "kmr": ("demê biguherîne", "demê betal bike"),
}


def choices(replies):
    return [b["payload"] for b in buttons(replies) if b["payload"].startswith("/choose")]


def my_referral(servers, sender_language, referral_ids_before):
    exported = json.loads(servers.intake("referrals", "export", "--format", "json"))
    return [r for r in exported if r["id"] not in referral_ids_before]


@pytest.mark.parametrize("language", list(TYPED))
def test_another_time_then_cancel_in_each_language(servers, language):
    first, work, goals, interpreter = PEOPLE[language]
    change, cancel = TYPED[language]
    answers = dict(TAPPED_ANSWERS, work_kind=work, goals=goals, interpreter_language=interpreter)
    sender = f"e2e-lifecycle-{language}"
    before = {r["id"] for r in json.loads(servers.intake("referrals", "export", "--format", "json"))}
    seen, replies = run_intake(servers.client, sender, answers, first=first, language=language)
    assert seen[-1] == "booking_session", seen
    offered = choices(replies)
    servers.send(sender, offered[0])
    [mine] = my_referral(servers, language, before)
    first_booking = mine["booking"]
    assert first_booking["status"] == "booked" and mine["language"] == language

    # "another time": the other sessions, not the one already booked
    other = servers.send(sender, change)
    assert reply_language(other) == language, texts(other)
    moved_to = choices(other)
    assert moved_to and offered[0] not in moved_to, texts(other)
    moved = servers.send(sender, moved_to[0])
    assert reply_language(moved) == language, texts(moved)
    [mine] = my_referral(servers, language, before)
    assert mine["booking"]["status"] == "booked", mine
    assert mine["booking"]["session_id"] != first_booking["session_id"], (first_booking, mine["booking"])

    # "cancel": asked first, with yes and no
    asked = servers.send(sender, cancel)
    assert reply_language(asked) == language, texts(asked)
    assert [b["payload"] for b in buttons(asked)] == ["/affirm", "/deny"], texts(asked)
    done = servers.send(sender, "/affirm")
    assert reply_language(done) == language, texts(done)
    [mine] = my_referral(servers, language, before)
    assert mine["booking"]["status"] == "cancelled", mine


def test_a_no_to_cancelling_keeps_the_booking(servers):
    sender = "e2e-lifecycle-keep"
    before = {r["id"] for r in json.loads(servers.intake("referrals", "export", "--format", "json"))}
    answers = dict(TAPPED_ANSWERS, work_kind="städning", goals="jobba", interpreter_language="arabiska")
    seen, replies = run_intake(servers.client, sender, answers, first="hej hej", language="sv")
    servers.send(sender, choices(replies)[0])
    asked = servers.send(sender, "avboka")
    assert "Vill du avboka din tid" in texts(asked)
    kept = servers.send(sender, "/deny")
    assert "Du behåller din tid" in texts(kept)
    [mine] = my_referral(servers, "sv", before)
    assert mine["booking"]["status"] == "booked"
    # "I will come" is noted
    assert "Vi ses" in texts(servers.send(sender, "/confirm_booking"))


def test_nothing_to_cancel_or_move_before_an_intake(servers):
    assert "Du har ingen anmälan än" in texts(servers.send("e2e-lifecycle-none", "/reschedule_booking"))


# -- a reminder on Telegram, sent by the scheduler through the channel's outbox ----------------

def test_a_reminder_reaches_telegram_and_its_buttons_work(servers):
    import time as systime

    from sqlalchemy import select

    from bot.db import Database
    from bot.db.models import Booking, BookingMessage
    from bot.i18n import load_catalogs
    from bot.intake.program import load_program
    from bot.scheduler import Scheduler
    from tests.conftest import PROJECT_ROOT
    from tests.e2e.test_telegram import new_chat, referral_rows

    client, api, chat = servers.telegram(), servers.gateways.telegram, new_chat()
    answers = {**TAPPED_ANSWERS, "work_kind": "Städning", "goals": "Jobba", "interpreter_language": "arabiska"}
    asked, replies = run_intake(client, str(chat), answers, first="Hej, jag vill anmäla mig")
    sessions = [b for r in replies for b in r["buttons"] if b["payload"].startswith("/choose")]
    assert "Du är bokad" in texts(client.send(str(chat), sessions[0]["payload"]))
    mine = [r for r in referral_rows(servers) if r["channel"] == "telegram"][-1]

    # the scheduler, its clock at the first reminder's time (the servers' database); a session
    # tomorrow has only the two-hours-before reminder
    database = Database(servers.env["DATABASE_URL"])
    try:
        with database.transaction() as session:
            message_id, due = session.execute(
                select(BookingMessage.id, BookingMessage.due_at).join(Booking)
                .where(Booking.referral_id == mine["id"], BookingMessage.kind.like("reminder:%"))
                .order_by(BookingMessage.due_at).limit(1)
            ).one()
        program = load_program(PROJECT_ROOT / "program.yml")
        when = program.booking.sendable_from(due)
        scheduler = Scheduler(database, load_catalogs(PROJECT_ROOT / "locales"), program, lambda: when)
        assert message_id in scheduler.run_once().sent  # with those of other test participants then due
        assert scheduler.run_once().sent == []  # never twice
    finally:
        database.dispose()

    # the Telegram channel's outbox sends it within its flush interval, with a keyboard
    deadline = systime.monotonic() + 40
    reminder = None
    while systime.monotonic() < deadline and reminder is None:
        reminder = next((m for m in api.sent_messages(chat) if "Påminnelse" in (m.get("text") or "")), None)
        systime.sleep(0.5)
    assert reminder is not None, api.sent_texts(chat)[-3:]
    keys = [row[0]["text"] for row in reminder["reply_markup"]["inline_keyboard"]]
    assert keys == ["Ja, jag kommer", "Byt tid", "Avboka"]

    # tapping "Byt tid" offers the other sessions; "Ja, jag kommer" on it is noted
    other = client.send(str(chat), "/reschedule_booking")
    assert [b for r in other for b in r.get("buttons", []) if b["payload"].startswith("/choose")], texts(other)
    skipped = client.send(str(chat), "/skip")  # keep the time
    assert "Du behåller din tid" in texts(skipped)
    assert [r for r in referral_rows(servers) if r["id"] == mine["id"]][0]["booking"]["status"] == "booked"
