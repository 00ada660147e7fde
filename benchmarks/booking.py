"""The booking lifecycle under load: the race for the last seat, the scheduler, the waiting list.

Usage: .venv/bin/python benchmarks/booking.py [--bookings 2000] [--racers 50]
           [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432]

On SQLite (a file in a temporary directory) and PostgreSQL (a fresh database, dropped after the
run), each with the migrated schema:

- the race: ``--racers`` threads, released together, each booking the last seat of one session
  for its own referral (``book_or_waitlist``, one transaction each). Prints the outcome (it must
  be one booked, the rest waitlisted, the seat count exact) and the wall time of the race, and
  the same number of bookings made one after the other: the ratio is the cost of contention;
- the scheduler: ``--bookings`` bookings on Telegram with a reminder due, then one scheduler tick
  that claims, renders and queues them all: reminders per second; a second tick right after must
  send nothing (never twice);
- the waiting list: ``--bookings`` / 10 one-seat sessions with a booking and five waiting each;
  the median ms to cancel the booking and offer the seat to the first in the queue, in one
  transaction, against cancelling a booking with nobody waiting (the ratio is what promotion
  costs), and the ms of a tick that expires every unanswered offer and asks the next.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("INTAKE_ENCRYPTION_KEYS", "bmDEuRHR6Us4AeUyijm1t8IMmLhoXSPqbS4qbcBpkfs=")


def setup(url: str):
    from bot.db import Database
    from bot.db.migrate import upgrade

    upgrade(url)
    return Database(url)


def rows(db, count: int, channel="telegram"):
    """``count`` participants with a referral each; their referral ids."""
    from bot.db.models import Participant, Referral

    ids = []
    with db.transaction() as session:
        for i in range(count):
            p = Participant(pseudonym=f"bench{time.perf_counter_ns()}{i}", channel=channel, language="sv")
            session.add(p)
            session.flush()
            r = Referral(participant_id=p.id, intake_key=f"k{p.id}", status="new", language="sv", channel=channel,
                         eligible=True, priority=2, contact_address=str(100000 + i))
            session.add(r)
            session.flush()
            ids.append(r.id)
    return ids


def a_session(db, starts, capacity, seats_booked=0):
    from bot.db.models import Activity, ActivitySession

    with db.transaction() as session:
        activity = Activity(code=f"a{time.perf_counter_ns()}", name="Steg ett", provider="NGO", municipality="Värmdö")
        session.add(activity)
        session.flush()
        s = ActivitySession(activity_id=activity.id, starts_at=starts, ends_at=starts + timedelta(hours=1),
                            place="Träffpunkten", address="Odelbergs väg 11", capacity=capacity,
                            seats_booked=seats_booked)
        session.add(s)
        session.flush()
        return s.id


def race(db, racers: int, now):
    from bot.intake.booking import book_or_waitlist

    session_id = a_session(db, now + timedelta(days=3), capacity=racers, seats_booked=racers - 1)
    referrals = rows(db, racers)
    barrier = threading.Barrier(racers)
    outcomes, errors = [None] * racers, []

    def work(i):
        try:
            barrier.wait()
            with db.transaction() as session:
                outcomes[i] = book_or_waitlist(session, referrals[i], session_id, now).outcome
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(racers)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raced = time.perf_counter() - began
    from bot.db.models import ActivitySession

    with db.transaction() as session:
        seats = session.get(ActivitySession, session_id).seats_booked
    # the same bookings one after the other, on a fresh session
    serial_session = a_session(db, now + timedelta(days=3), capacity=racers, seats_booked=racers - 1)
    serial_referrals = rows(db, racers)
    began = time.perf_counter()
    for r in serial_referrals:
        with db.transaction() as session:
            book_or_waitlist(session, r, serial_session, now)
    serial = time.perf_counter() - began
    return {"booked": outcomes.count("booked"), "waitlisted": outcomes.count("waitlisted"), "errors": len(errors),
            "seats_ok": seats == racers, "race_ms": raced * 1000, "serial_ms": serial * 1000}


def scheduler(db, bookings: int, now):
    from bot.i18n import load_catalogs
    from bot.intake.booking import book_seat
    from bot.intake.program import load_program
    from bot.scheduler import Scheduler

    starts = now + timedelta(days=3)
    session_id = a_session(db, starts, capacity=bookings)
    referrals = rows(db, bookings)
    with db.transaction() as session:
        for r in referrals:
            book_seat(session, r, session_id, now)
    clock = [starts - timedelta(hours=24)]
    tick = Scheduler(db, load_catalogs(ROOT / "locales"), load_program(ROOT / "program.yml"), lambda: clock[0],
                     "UTC")
    tick.rules = replace(tick.rules, quiet_from=(0, 0), quiet_to=(0, 0))  # no quiet hours in a benchmark
    began = time.perf_counter()
    first = tick.run_once()
    elapsed = time.perf_counter() - began
    again = tick.run_once()
    return {"sent": len(first.sent), "per_s": len(first.sent) / elapsed, "tick_s": elapsed, "again": len(again.sent)}


def waiting_list(db, sessions: int, now):
    from bot.db.models import Booking
    from bot.intake.booking import book_seat, cancel_booking, expire_offers, join_waitlist

    with_queue, alone = [], []
    for i in range(sessions):
        s = a_session(db, now + timedelta(days=3), capacity=1)
        holder, *queue = rows(db, 6)
        with db.transaction() as session:
            booking = book_seat(session, holder, s, now).booking.id
            for r in queue:
                join_waitlist(session, r, s, now)
        with_queue.append(booking)
        s2 = a_session(db, now + timedelta(days=3), capacity=1)
        [single] = rows(db, 1)
        with db.transaction() as session:
            alone.append(book_seat(session, single, s2, now).booking.id)

    def cancel_all(ids):
        times = []
        for booking_id in ids:
            began = time.perf_counter()
            with db.transaction() as session:
                cancel_booking(session, session.get(Booking, booking_id), now=now)
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)

    # interleaved halves so that machine noise hits both alike
    half = len(alone) // 2
    promoted = [cancel_all(with_queue[:half]), cancel_all(with_queue[half:])]
    plain = [cancel_all(alone[:half]), cancel_all(alone[half:])]
    began = time.perf_counter()
    with db.transaction() as session:
        expired = expire_offers(session, now + timedelta(days=2))
    expiry_ms = (time.perf_counter() - began) * 1000
    return {"promote_ms": statistics.median(promoted), "plain_ms": statistics.median(plain),
            "expired": len(expired), "expiry_ms": expiry_ms}


def run(url: str, label: str, args, now):
    db = setup(url)
    try:
        r = race(db, args.racers, now)
        s = scheduler(db, args.bookings, now)
        w = waiting_list(db, max(2, args.bookings // 10), now)
    finally:
        db.dispose()
    return label, r, s, w


def main() -> None:
    from bot.db.types import utcnow
    from privacy import postgres_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--racers", type=int, default=50)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    now = utcnow()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(run(f"sqlite:///{tmp}/bench.db", "SQLite", args, now))
    made, why = postgres_database(args.postgres)
    if made is None:
        print(f"PostgreSQL skipped: {why}")
    else:
        url, _rasa, drop = made
        try:
            results.append(run(url, "PostgreSQL", args, now))
        finally:
            drop()

    print(f"# Booking lifecycle ({args.racers} racers, {args.bookings} reminders, "
          f"{max(2, args.bookings // 10)} one-seat sessions with five waiting)\n")
    print("| database | race: booked / waitlisted / errors, seats exact | race ms (serial ms, ratio) "
          "| reminders/s in one tick (sent, sent again) | cancel + offer to queue ms (plain cancel, ratio) "
          "| expire all offers and ask the next, ms |")
    print("|---|---|---|---|---|---|")
    for label, r, s, w in results:
        print(f"| {label} | {r['booked']} / {r['waitlisted']} / {r['errors']}, {'yes' if r['seats_ok'] else 'NO'} "
              f"| {r['race_ms']:.0f} ({r['serial_ms']:.0f}, {r['race_ms'] / r['serial_ms']:.2f}×) "
              f"| {s['per_s']:.0f} ({s['sent']}, {s['again']}) "
              f"| {w['promote_ms']:.1f} ({w['plain_ms']:.1f}, {w['promote_ms'] / w['plain_ms']:.2f}×) "
              f"| {w['expiry_ms']:.0f} ({w['expired']} offers) |")


if __name__ == "__main__":
    main()
