"""bot.channels.store: inbound ids, pending choices and the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.channels import store
from bot.channels.store import RETRY_DELAYS, SENDING_TIMEOUT
from bot.db.models import InboundMessage, OutboundMessage, PendingChoice
from bot.db.types import utcnow

YES = {"title": "Ja", "payload": '/choose{"choice":"yes"}'}
NO = {"title": "Nej", "payload": '/choose{"choice":"no"}'}
PHONE = "+46701234567"


def first(db, channel: str, external_id: str) -> bool:
    with db.transaction() as session:
        return store.first_delivery(session, channel, external_id)


def row(db, message_id: int) -> OutboundMessage:
    with db.transaction() as session:
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        session.expunge(message)
        return message


def enqueue(db, body: str = "Hej! Vad heter du?", channel: str = "46elks", pseudonym: str = "p1") -> int:
    with db.transaction() as session:
        return store.enqueue(session, channel, pseudonym, PHONE, body, segments=1, encoding="GSM-7")


def claim(db, message_id: int, now=None):
    with db.transaction() as session:
        return store.claim(session, message_id, now=now)


def due(db, channel: str = "46elks", now=None):
    with db.transaction() as session:
        return store.due_ids(session, channel, now=now)


# -- inbound ids ----------------------------------------------------------------------------


def test_first_delivery_is_true_once_per_channel_and_id(db):
    assert first(db, "telegram", "1001") is True
    assert first(db, "telegram", "1001") is False
    assert first(db, "telegram", "1001") is False
    # the same id on another channel, and another id on the same channel, are new
    assert first(db, "46elks", "1001") is True
    assert first(db, "telegram", "1002") is True
    assert first(db, "46elks", "1001") is False


def test_a_redelivery_inside_the_same_transaction_keeps_the_transaction_usable(db):
    with db.transaction() as session:
        assert store.first_delivery(session, "twilio", "SM1") is True
        assert store.first_delivery(session, "twilio", "SM1") is False
        # the failed insert was rolled back to its savepoint only
        assert store.first_delivery(session, "twilio", "SM2") is True
    with db.transaction() as session:
        assert session.query(InboundMessage).filter_by(channel="twilio").count() == 2


def test_forget_delivery_makes_the_id_new_again(db):
    assert first(db, "46elks", "s-abc") is True
    with db.transaction() as session:
        store.forget_delivery(session, "46elks", "s-abc")
    assert first(db, "46elks", "s-abc") is True
    assert first(db, "46elks", "s-abc") is False


def test_forget_delivery_touches_only_its_channel(db):
    assert first(db, "46elks", "42") is True
    assert first(db, "twilio", "42") is True
    with db.transaction() as session:
        store.forget_delivery(session, "46elks", "42")
    assert first(db, "twilio", "42") is False
    assert first(db, "46elks", "42") is True


def test_long_ids_are_cut_to_the_column_size_consistently(db):
    long_id = "x" * 150
    assert first(db, "46elks", long_id) is True
    assert first(db, "46elks", long_id) is False
    with db.transaction() as session:
        store.forget_delivery(session, "46elks", long_id)
    assert first(db, "46elks", long_id) is True


def test_concurrent_first_delivery_of_one_id_is_true_exactly_once(db):
    threads = 10
    barrier = threading.Barrier(threads)

    def attempt(_: int) -> bool:
        barrier.wait(timeout=30)
        with db.transaction() as session:
            return store.first_delivery(session, "telegram", "777")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(attempt, range(threads)))
    assert results.count(True) == 1, results
    assert results.count(False) == threads - 1
    with db.transaction() as session:
        assert session.query(InboundMessage).filter_by(channel="telegram", external_id="777").count() == 1


def test_purge_inbound_removes_only_old_ids(db):
    with db.transaction() as session:
        session.add(InboundMessage(channel="46elks", external_id="old", received_at=utcnow() - timedelta(days=8)))
        session.add(InboundMessage(channel="46elks", external_id="new"))
    with db.transaction() as session:
        assert store.purge_inbound(session) == 1
    assert first(db, "46elks", "old") is True
    assert first(db, "46elks", "new") is False


# -- pending choices ------------------------------------------------------------------------


def test_choices_round_trip_overwrite_and_delete(db):
    arabic = {"title": "نعم", "payload": '/choose{"choice":"yes"}'}
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == []
        store.save_choices(session, "p1", [YES, NO])
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == [YES, NO]
        assert store.load_choices(session, "p2") == []
        store.save_choices(session, "p1", [arabic])
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == [arabic]
        store.save_choices(session, "p1", [])
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == []
        assert session.get(PendingChoice, "p1") is None


def test_choices_keep_only_title_and_payload_as_text(db):
    with db.transaction() as session:
        store.save_choices(session, "p1", [{"title": 7, "payload": "/choose", "image": "x.png"}, {"payload": "/skip"}])
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == [
            {"title": "7", "payload": "/choose"},
            {"title": "", "payload": "/skip"},
        ]


def test_saving_no_choices_for_an_unknown_participant_is_harmless(db):
    with db.transaction() as session:
        store.save_choices(session, "nobody", [])
    with db.transaction() as session:
        assert session.query(PendingChoice).count() == 0


def test_choices_are_per_participant(db):
    with db.transaction() as session:
        store.save_choices(session, "p1", [YES])
        store.save_choices(session, "p2", [NO])
    with db.transaction() as session:
        store.save_choices(session, "p1", [])
    with db.transaction() as session:
        assert store.load_choices(session, "p1") == []
        assert store.load_choices(session, "p2") == [NO]


# -- outbox ---------------------------------------------------------------------------------


def test_enqueue_claim_once_and_mark_sent(db):
    message_id = enqueue(db, body="Hej! Vad heter du?")
    queued = row(db, message_id)
    assert (queued.status, queued.attempts, queued.body, queued.recipient) == ("queued", 0, "Hej! Vad heter du?", PHONE)
    assert due(db) == [message_id]
    assert due(db, channel="twilio") == []

    outgoing = claim(db, message_id)
    assert outgoing == store.Outgoing(message_id, "46elks", PHONE, "Hej! Vad heter du?", 1, "p1", None)
    assert claim(db, message_id) is None  # someone else has it
    assert row(db, message_id).status == "sending"
    assert due(db) == []

    with db.transaction() as session:
        store.mark_sent(session, message_id, "gw-1")
    sent = row(db, message_id)
    assert sent.status == "sent"
    assert sent.body is None
    assert sent.gateway_id == "gw-1"
    assert sent.sent_at is not None
    assert sent.last_error is None
    assert claim(db, message_id, now=utcnow() + timedelta(days=1)) is None
    assert due(db, now=utcnow() + timedelta(days=1)) == []


def test_due_ids_are_oldest_first_and_limited(db):
    ids = [enqueue(db, body=f"m{i}") for i in range(4)]
    later = utcnow() + timedelta(seconds=1)
    assert due(db, now=later) == ids
    with db.transaction() as session:
        assert store.due_ids(session, "46elks", now=later, limit=2) == ids[:2]


def test_a_message_is_not_due_before_its_time(db):
    message_id = enqueue(db)
    earlier = utcnow() - timedelta(minutes=1)
    assert due(db, now=earlier) == []
    assert claim(db, message_id, now=earlier) is None
    assert row(db, message_id).status == "queued"


def test_failed_attempts_are_retried_after_the_delays_then_failed(db):
    message_id = enqueue(db, body="Välj en tid:")
    now = utcnow() + timedelta(seconds=1)
    for number, delay in enumerate(RETRY_DELAYS, start=1):
        outgoing = claim(db, message_id, now=now)
        assert outgoing is not None, f"attempt {number} was not claimed"
        assert outgoing.attempts == number
        assert outgoing.body == "Välj en tid:"
        with db.transaction() as session:
            status = store.mark_failed_attempt(session, message_id, f"HTTP 503 ({number})", now=now)
        assert status == "queued"
        retry = row(db, message_id)
        assert retry.status == "queued"
        assert retry.next_attempt_at == now + delay
        assert retry.last_error == f"HTTP 503 ({number})"
        assert retry.body == "Välj en tid:"
        # not before the delay is over
        assert due(db, now=now + delay - timedelta(seconds=1)) == []
        assert claim(db, message_id, now=now + delay - timedelta(seconds=1)) is None
        now = now + delay
        assert due(db, now=now) == [message_id]

    last = claim(db, message_id, now=now)
    assert last is not None and last.attempts == len(RETRY_DELAYS) + 1
    with db.transaction() as session:
        assert store.mark_failed_attempt(session, message_id, "HTTP 503 (last)", now=now) == "failed"
    failed = row(db, message_id)
    assert failed.status == "failed"
    assert failed.body is None
    assert failed.last_error == "HTTP 503 (last)"
    assert due(db, now=now + timedelta(days=1)) == []
    assert claim(db, message_id, now=now + timedelta(days=1)) is None


def test_a_permanent_failure_fails_at_once(db):
    message_id = enqueue(db)
    assert claim(db, message_id) is not None
    with db.transaction() as session:
        assert store.mark_failed_attempt(session, message_id, "invalid number", permanent=True) == "failed"
    failed = row(db, message_id)
    assert (failed.status, failed.body, failed.last_error, failed.attempts) == ("failed", None, "invalid number", 1)
    assert claim(db, message_id, now=utcnow() + timedelta(days=1)) is None


def test_errors_are_cut_to_the_column_size(db):
    message_id = enqueue(db)
    assert claim(db, message_id) is not None
    with db.transaction() as session:
        store.mark_failed_attempt(session, message_id, "e" * 2000)
    assert row(db, message_id).last_error == "e" * 500


def test_a_message_stuck_in_sending_is_claimed_again_after_the_timeout(db):
    message_id = enqueue(db)
    now = utcnow() + timedelta(seconds=1)
    assert claim(db, message_id, now=now) is not None
    almost = now + SENDING_TIMEOUT - timedelta(seconds=1)
    assert due(db, now=almost) == []
    assert claim(db, message_id, now=almost) is None
    later = now + SENDING_TIMEOUT
    assert due(db, now=later) == [message_id]
    again = claim(db, message_id, now=later)
    assert again is not None
    assert again.attempts == 2
    assert again.body
    # and the new claim holds for another timeout
    assert claim(db, message_id, now=later + timedelta(seconds=1)) is None


def sent_message(db, gateway_id: str, channel: str = "46elks", pseudonym: str = "p1") -> int:
    message_id = enqueue(db, channel=channel, pseudonym=pseudonym)
    assert claim(db, message_id) is not None
    with db.transaction() as session:
        store.mark_sent(session, message_id, gateway_id)
    return message_id


def test_delivery_reports(db):
    delivered_id = sent_message(db, "gw-1")
    lost_id = sent_message(db, "gw-2")
    with db.transaction() as session:
        assert store.record_delivery_report(session, "46elks", "gw-1", True) is True
        assert store.record_delivery_report(session, "46elks", "gw-2", False, "expired") is True
        assert store.record_delivery_report(session, "46elks", "gw-unknown", True) is False
        # a gateway id is only looked up on its own channel
        assert store.record_delivery_report(session, "twilio", "gw-1", False) is False
    assert row(db, delivered_id).status == "delivered"
    lost = row(db, lost_id)
    assert (lost.status, lost.last_error) == ("failed", "expired")


def test_a_failure_report_without_an_error_says_not_delivered(db):
    message_id = sent_message(db, "gw-3")
    with db.transaction() as session:
        assert store.record_delivery_report(session, "46elks", "gw-3", False) is True
    assert row(db, message_id).last_error == "not delivered"


def test_a_delivery_report_does_not_touch_a_message_not_yet_sent(db):
    message_id = enqueue(db)
    with db.transaction() as session:
        session.get(OutboundMessage, message_id).gateway_id = "gw-early"
    with db.transaction() as session:
        assert store.record_delivery_report(session, "46elks", "gw-early", True) is False
    assert row(db, message_id).status == "queued"


def test_undelivered_counts(db):
    with db.transaction() as session:
        store.record_failed(session, "telegram", "pA", "1234", "Forbidden: bot was blocked by the user")
        store.record_failed(session, "telegram", "pA", "1234", "BadRequest: chat not found")
        store.record_failed(session, "telegram", "pB", "5678", "NetworkError")
    sent_message(db, "gw-ok", pseudonym="pC")
    lost = sent_message(db, "gw-lost", pseudonym="pB")
    queued = enqueue(db, pseudonym="pD")
    with db.transaction() as session:
        store.record_delivery_report(session, "46elks", "gw-lost", False, "expired")
    with db.transaction() as session:
        assert store.undelivered_counts(session, ["pA", "pB", "pC", "pD", "pE"]) == {"pA": 2, "pB": 2}
        assert store.undelivered_counts(session, ["pB"]) == {"pB": 2}
        assert store.undelivered_counts(session, []) == {}
        failed = session.query(OutboundMessage).filter_by(pseudonym="pA").all()
    assert {(m.status, m.body, m.attempts) for m in failed} == {("failed", None, 1)}
    assert row(db, lost).status == "failed"
    assert row(db, queued).status == "queued"


def test_concurrent_claims_of_one_message_give_it_to_exactly_one(db):
    message_id = enqueue(db)
    now = utcnow() + timedelta(seconds=1)
    threads = 10
    barrier = threading.Barrier(threads)

    def attempt(_: int):
        barrier.wait(timeout=30)
        return claim(db, message_id, now=now)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(attempt, range(threads)))
    claimed = [r for r in results if r is not None]
    assert len(claimed) == 1, results
    assert claimed[0].attempts == 1
    assert row(db, message_id).attempts == 1


def test_buttons_travel_with_a_queued_message(db):
    buttons = [{"title": "Ja, jag kommer", "payload": "/confirm_booking"}, {"title": "Byt tid", "payload": "/reschedule_booking"}]
    with db.transaction() as session:
        message_id = store.enqueue(session, "telegram", "p9", "4242", "Påminnelse", buttons=buttons)
    assert claim(db, message_id) == store.Outgoing(message_id, "telegram", "4242", "Påminnelse", 1, "p9", buttons)


def test_a_message_taken_but_never_handled_is_taken_over_by_a_late_redelivery(db):
    """The database went away before a failed message could be forgotten: it must not be lost."""
    now = utcnow()
    with db.transaction() as session:
        assert store.first_delivery(session, "tablet", "m-1", now=now) is True
    with db.transaction() as session:  # a redelivery soon after: still being answered, a duplicate
        assert store.first_delivery(session, "tablet", "m-1", now=now + timedelta(seconds=30)) is False
    later = now + store.ABANDONED_AFTER + timedelta(seconds=1)
    with db.transaction() as session:  # long after, never handled: abandoned, taken over once
        assert store.first_delivery(session, "tablet", "m-1", now=later) is True
    with db.transaction() as session:
        assert store.first_delivery(session, "tablet", "m-1", now=later + timedelta(seconds=1)) is False
        store.mark_handled(session, "tablet", "m-1", {"replies": []})
    with db.transaction() as session:  # handled: a duplicate for good
        assert store.first_delivery(session, "tablet", "m-1", now=later + timedelta(hours=1)) is False
