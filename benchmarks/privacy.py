"""The cost of privacy: encryption, the pseudonymous encrypted tracker store, erasure, key rotation.

Usage: .venv/bin/python benchmarks/privacy.py [--participants 500] [--conversations 10]
           [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432]

Measured on SQLite (a file in a temporary directory) and on PostgreSQL (a fresh database made
for the run and dropped after it; skipped with a note when the server cannot be reached), each
with the migrated schema (``bot.db.migrate.upgrade``):

- Fernet: µs per encrypt + decrypt of a 40-character answer (``bot.crypto.Keyring``), against a
  plain copy of the same text (UTF-8 encode + decode, which any driver does);
- the tracker store: ``bot.tracker.IntakeTrackerStore`` (HMAC conversation key, encrypted events)
  against Rasa's ``InMemoryTrackerStore`` and Rasa's own ``SQLTrackerStore`` on the same kind of
  database. A conversation has 40 turns; a turn is what Rasa does for one message: retrieve the
  tracker, append ActionExecuted("action_listen"), UserUttered (with a parse_data of intent,
  ranking and entities), ActionExecuted, BotUttered and SlotSet (``work_kind``, a text slot of
  domain.yml), save. Median and p95 of turns 30-40, over ``--conversations`` conversations per
  store, the stores taking turns;
- erasure: ``--participants`` participants, each with consents, a referral with the answers of
  tests/answers.py, a booking, funnel steps and 200 tracker events; then the median ms of
  ``erase_participant`` for 20 of them (one transaction each, commit included), and of
  ``purge_expired`` when nothing is due (program.yml's retention periods);
- key rotation: ``rotate_keys`` over that database with a new first key: values per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ANSWER = "Jag har jobbat som sömmerska i tio år nu"  # 40 characters
TURNS = 40
MEASURED = range(30, 41)  # turns 30-40
EVENTS_PER_PARTICIPANT = 200
ERASED = 20
INTENTS = ("inform", "affirm", "deny", "choose", "skip", "help", "greet", "goodbye", "stop", "crisis")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- Fernet -------------------------------------------------------------------------------------


def time_fernet(iterations: int):
    from bot.crypto import Keyring, generate_key

    ring = Keyring([generate_key()])
    for _ in range(200):
        ring.decrypt(ring.encrypt(ANSWER))
    began = time.perf_counter()
    for _ in range(iterations):
        ring.decrypt(ring.encrypt(ANSWER))
    fernet = (time.perf_counter() - began) / iterations * 1e6
    began = time.perf_counter()
    for _ in range(iterations):
        ANSWER.encode("utf-8").decode("utf-8")
    plain = (time.perf_counter() - began) / iterations * 1e6
    return fernet, plain


# -- the tracker store ----------------------------------------------------------------------------


def turn_events(turn: int):
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    text = f"svar nummer {turn}: jag har jobbat som sömmerska"
    intent = {"name": "inform", "confidence": 0.97}
    ranking = [{"name": name, "confidence": round(0.97 / (i + 1) ** 3, 4)} for i, name in enumerate(INTENTS)]
    parse_data = {"text": text, "intent": intent, "entities": [], "intent_ranking": ranking,
                  "language_detection": {"language": "sv", "confidence": 0.9}}
    return [
        ActionExecuted("action_listen"),
        UserUttered(text, intent=intent, parse_data=parse_data),
        ActionExecuted("action_x"),
        BotUttered(f"Fråga {turn + 1}: vad vill du göra?"),
        SlotSet("work_kind", f"svar {turn}"),
    ]


async def conversation(store, domain, sender: str) -> List[float]:
    """Seconds of each turn of one conversation."""
    from rasa.shared.core.trackers import DialogueStateTracker

    seconds = []
    for turn in range(1, TURNS + 1):
        began = time.perf_counter()
        tracker = await store.retrieve(sender)
        if tracker is None:
            tracker = DialogueStateTracker(sender, domain.slots)
        for event in turn_events(turn):
            tracker.update(event)
        await store.save(tracker)
        seconds.append(time.perf_counter() - began)
    return seconds


async def bench_tracker_stores(stores: Dict[str, object], domain, conversations: int) -> Dict[str, List[float]]:
    measured = {name: [] for name in stores}
    for c in range(conversations):
        for name, store in stores.items():  # the stores take turns, so drift hits them alike
            seconds = await conversation(store, domain, f"bench-{c}-{uuid.uuid4().hex[:8]}")
            measured[name] += [seconds[t - 1] * 1000 for t in MEASURED]
    return measured


# -- erasure, retention, rotation -------------------------------------------------------------------


def populate(n: int, secret: bytes) -> List[int]:
    from sqlalchemy import insert

    from bot.db import get_database
    from bot.db.models import Activity, ActivitySession, TrackerEvent
    from bot.db.types import utcnow
    from bot.intake.booking import book_seat
    from bot.intake.funnel import record_step
    from bot.intake.participants import get_or_create_participant, pseudonym, record_consent
    from bot.intake.program import load_program
    from bot.intake.referrals import submit_referral
    from bot.tracker import tracker_key
    from tests.answers import COMPLETE_ANSWERS

    program = load_program(ROOT / "program.yml")
    db = get_database()
    with db.transaction() as session:
        activity = Activity(code="bench", name="Steg ett", provider="Föreningen", municipality="Värmdö kommun")
        session.add(activity)
        session.flush()
        seats = ActivitySession(activity_id=activity.id, starts_at=utcnow() + timedelta(days=30), place="Träffpunkten",
                                address="Odelbergs väg 11", capacity=n + 10)
        session.add(seats)
        session.flush()
        seats_id = seats.id
    events = [e.as_dict() for turn in range(1, EVENTS_PER_PARTICIPANT // 5 + 1) for e in turn_events(turn)]
    ids = []
    for start in range(0, n, 50):
        with db.transaction() as session:
            for i in range(start, min(n, start + 50)):
                key = tracker_key(secret, f"bench-{i}")
                participant = get_or_create_participant(session, pseudonym(secret, "telegram", f"bench-{i}"),
                                                        "telegram", "sv", tracker_key=key)
                record_consent(session, participant, "data", True, "sv", text="Får vi spara dina svar?")
                record_consent(session, participant, "health", True, "sv", text="Får vi fråga om hälsa?")
                referral = submit_referral(session, participant=participant, intake_key=f"intake-{i}", language="sv",
                                           channel="telegram", slots=COMPLETE_ANSWERS,
                                           free_texts={"support": "Pengar från min bror"}, program=program).referral
                referral.funnel_key = f"{i:064x}"
                for step in ("started", "consented", "screened", "eligible", "booked"):
                    record_step(session, referral.funnel_key, step, "telegram", "sv")
                book_seat(session, referral.id, seats_id)
                now = time.time()
                session.execute(insert(TrackerEvent), [
                    {"conversation": key, "type_name": e["event"], "timestamp": now,
                     "data": json.dumps({**e, "timestamp": now}, ensure_ascii=False)} for e in events
                ])
                ids.append(participant.id)
    return ids


def erase(ids: List[int]) -> List[float]:
    from bot.db import get_database
    from bot.db.models import Participant
    from bot.intake.privacy import erase_participant

    db = get_database()
    chosen = ids[:: max(1, len(ids) // ERASED)][:ERASED]
    seconds = []
    for participant_id in chosen:
        began = time.perf_counter()
        with db.transaction() as session:
            erased = erase_participant(session, session.get(Participant, participant_id), actor="bench")
        seconds.append(time.perf_counter() - began)
        assert erased.tracker_events == EVENTS_PER_PARTICIPANT and erased.referrals == 1, erased
    return seconds


def purge(runs: int = 5) -> List[float]:
    from bot.db import get_database
    from bot.intake.privacy import purge_expired
    from bot.intake.program import load_program

    program = load_program(ROOT / "program.yml")
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        with get_database().transaction() as session:
            purged = purge_expired(session, timedelta(days=round(program.retention_months * 30.44)),
                                   timedelta(days=program.unlinked_retention_days))
        seconds.append(time.perf_counter() - began)
        assert purged.participants == 0 and purged.tracker_events == 0, purged  # nothing was due
    return seconds


def rotate():
    from bot.crypto import Keyring, generate_key
    from bot.db import get_database
    from bot.db.rotation import rotate_keys

    old = os.environ["INTAKE_ENCRYPTION_KEYS"]
    new = generate_key()
    began = time.perf_counter()
    with get_database().transaction() as session:
        counts = rotate_keys(session, Keyring([new, old]))
    seconds = time.perf_counter() - began
    os.environ["INTAKE_ENCRYPTION_KEYS"] = f"{new},{old}"
    return sum(counts.values()), seconds


# -- one database -------------------------------------------------------------------------------


def run_on(kind: str, url: str, rasa_store_kwargs: dict, args, domain) -> dict:
    from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore

    from bot.config import Config
    from bot.db import reset_databases
    from bot.db.migrate import upgrade
    from bot.tracker import IntakeTrackerStore

    reset_databases()
    os.environ["DATABASE_URL"] = url
    upgrade(url)
    rasa_sql = SQLTrackerStore(domain, **rasa_store_kwargs)
    stores = {"in-memory": InMemoryTrackerStore(domain), "Rasa SQL": rasa_sql, "intake": IntakeTrackerStore(domain)}
    try:
        turns = asyncio.run(bench_tracker_stores(stores, domain, args.conversations))
    finally:
        rasa_sql.engine.dispose()
    began = time.perf_counter()
    ids = populate(args.participants, Config.from_env().secret)
    populated = time.perf_counter() - began
    erased = erase(ids)
    purged = purge()
    values, rotation = rotate()
    reset_databases()
    return {"kind": kind, "turns": turns, "populated": populated, "erased": erased, "purged": purged,
            "rotated": values, "rotation": rotation}


def postgres_database(base: str):
    """A fresh database on the server of ``base``: (url, name, drop) or None when unreachable."""
    import psycopg2
    from sqlalchemy.engine.url import make_url

    server = make_url(base)
    params = dict(host=server.host, port=server.port or 5432, user=server.username, password=server.password,
                  dbname="postgres", connect_timeout=5)
    try:
        admin = psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        return None, str(exc).strip().splitlines()[0]
    admin.autocommit = True
    name = f"intake_bench_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    url = server.set(database=name).render_as_string(hide_password=False)
    rasa = dict(dialect="postgresql", host=server.host, port=server.port or 5432, db=name,
                username=server.username, password=server.password)
    return (url, rasa, drop), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=10, help="40-turn conversations per tracker store")
    parser.add_argument("--fernet-iterations", type=int, default=20000)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432",
                        help="server for the PostgreSQL run (a database is made and dropped)")
    args = parser.parse_args()

    logging.getLogger("rasa").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from bot.crypto import generate_key

    fernet, plain = time_fernet(args.fernet_iterations)
    results, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(INTAKE_DATA_DIR=str(Path(tmp) / "var"), INTAKE_SECRET="bench-secret",
                          INTAKE_ENCRYPTION_KEYS=generate_key())
        from rasa.shared.core.domain import Domain

        domain = Domain.load(str(ROOT / "domain.yml"))
        print("running on SQLite ...", file=sys.stderr, flush=True)
        results.append(run_on("SQLite", f"sqlite:///{Path(tmp) / 'intake.db'}",
                              dict(dialect="sqlite", db=str(Path(tmp) / "rasa.db")), args, domain))
        made, error = postgres_database(args.postgres)
        if made is None:
            notes.append(f"PostgreSQL skipped: {args.postgres} cannot be reached ({error}).")
        else:
            url, rasa, drop = made
            try:
                print("running on PostgreSQL ...", file=sys.stderr, flush=True)
                results.append(run_on("PostgreSQL", url, rasa, args, domain))
            finally:
                from bot.db import reset_databases

                reset_databases()
                drop()

    print(f"machine: {os.cpu_count()} cores; figures of one run (the machine is noisy)\n")
    print("### Encryption of one answer (40 characters)\n")
    print("| operation | µs per value | ratio |")
    print("|---|---|---|")
    print(f"| plain copy (UTF-8 encode + decode) | {plain:.2f} | 1 |")
    print(f"| Fernet encrypt + decrypt (`bot.crypto.Keyring`) | {fernet:.1f} | {fernet / plain:.0f}× |")

    print(f"\n### Tracker store: one turn (retrieve, 5 events, save), turns 30–40 of {TURNS}-turn conversations, "
          f"{args.conversations} conversations per store\n")
    print("| database | in-memory median / p95 | Rasa SQLTrackerStore median / p95 | IntakeTrackerStore median / p95 "
          "| intake ÷ in-memory (median) | intake ÷ Rasa SQL (median) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        t = {name: (statistics.median(v), percentile(v, 0.95)) for name, v in r["turns"].items()}
        print(f"| {r['kind']} | {t['in-memory'][0]:.2f} / {t['in-memory'][1]:.2f} ms | "
              f"{t['Rasa SQL'][0]:.1f} / {t['Rasa SQL'][1]:.1f} ms | {t['intake'][0]:.1f} / {t['intake'][1]:.1f} ms | "
              f"{t['intake'][0] / t['in-memory'][0]:.1f}× | {t['intake'][0] / t['Rasa SQL'][0]:.2f}× |")

    print(f"\n### Erasure, retention and key rotation ({args.participants} participants, each with a referral, "
          f"answers, a booking and {EVENTS_PER_PARTICIPANT} tracker events)\n")
    print("| database | populating | erase one participant, median of 20 | `purge_expired`, nothing due, median of 5 "
          "| key rotation | values per second |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['kind']} | {r['populated']:.1f} s | {statistics.median(r['erased']) * 1000:.1f} ms "
              f"(max {max(r['erased']) * 1000:.1f}) | {statistics.median(r['purged']) * 1000:.0f} ms | "
              f"{r['rotated']} values in {r['rotation']:.1f} s | {r['rotated'] / r['rotation']:.0f} |")
    for note in notes:
        print(f"\n{note}")


if __name__ == "__main__":
    main()
