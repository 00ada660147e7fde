"""Faults during load: kill a Rasa instance, kill an action server, restart PostgreSQL, deliver twice.

Usage: .venv/bin/python benchmarks/faults.py [--participants 30] [--instances 2]

The production profile (``intake prod``: nginx, two Rasa instances, two action servers, PostgreSQL,
a Redis lock store) on a fresh PostgreSQL database. ``--participants`` simulated participants do
whole intakes with booking at once, over the tablet channel through nginx (the channel that
takes a message id: a message delivered again gets the first answer instead of being taken
twice, as Telegram's and the SMS gateways' redeliveries are). A participant pauses 0.5–2 s between
turns, as people do. Every message is delivered **twice**: a second copy is sent while the first
is being answered, and both answers must be the same. A message that fails (connection refused,
502, 503, a timeout) is sent again after a back-off, as the gateways do, for up to four minutes.

While they run, a schedule of faults:

- at 10 s, one Rasa instance is killed (SIGKILL); the profile's supervisor starts it again;
- at 30 s, one action server is killed (SIGKILL), and started again;
- at 50 s, PostgreSQL is restarted (``pg_ctlcluster … restart``).

Then every participant who did not finish writes "hej" and carries on; what cannot finish then is
*stuck*. Printed: referrals expected (participants who finished) / made / duplicated (a
participant with more than one) / lost (a finished participant with none), stuck
conversations, duplicate deliveries answered alike / differently, retries, and the turn latency.
Target: every finished intake ends in exactly one referral, and no conversation is stuck.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load import Ours, Ports, find_server, log, percentile  # noqa: E402

ANSWERS = {
    "consent_data": '/choose{"choice":"yes"}', "consent_health": '/choose{"choice":"yes"}', "name": "Deltagare",
    "phone": "0701234567", "municipality": "Gustavsberg", "age_band": "41",
    "swedish_level": '/choose{"choice":"basic"}', "sfi_status": '/choose{"choice":"ongoing"}', "schooling": "9",
    "work_experience": '/choose{"choice":"none"}', "support": '/choose{"choice":"income_support"}',
    "care_duties": "nej", "housing": '/choose{"choice":"own_contract"}', "phq_1": "1", "phq_2": "1", "phq_3": "1",
    "phq_4": "1", "physical_limits": "nej", "authority_help": "ofta", "digital_help": "ja båda",
    "goals": "Lära mig svenska och jobba", "preferred_times": "förmiddag", "interpreter": "nej",
}
RETRY_FOR = 240.0  # seconds a message is sent again before it counts as failed


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: Dict[str, int] = {}
        self.latencies: List[float] = []

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.values[name] = self.values.get(name, 0) + n


class TabletClient:
    """Sends a participant's message through nginx to the tablet channel, twice, with retries."""

    def __init__(self, url: str, key: str, counters: Counters, think: bool = True) -> None:
        self.url, self.key, self.counters, self.think = url, key, counters, think
        self.session = requests.Session()

    def _post(self, body: Dict) -> Optional[List[Dict]]:
        try:
            reply = requests.post(self.url, json=body, headers={"X-Intake-Tablet-Key": self.key}, timeout=90)
        except requests.RequestException:
            return None
        return reply.json().get("replies") if reply.status_code == 200 else None

    def send(self, sender: str, text: str) -> List[Dict]:
        if self.think:
            time.sleep(random.uniform(0.5, 2.0))
        body = {"sender": sender, "message_id": uuid.uuid4().hex, "text": text, "tapped": text.startswith("/")}
        began, attempt = time.monotonic(), 0
        while True:
            second: Dict[str, Optional[List[Dict]]] = {}

            def redeliver() -> None:  # the same message again, while the first is being answered
                time.sleep(0.05)
                second["replies"] = self._post(body)

            copy = threading.Thread(target=redeliver)
            started = time.perf_counter()
            copy.start()
            first = self._post(body)
            copy.join(150)
            if first is not None:
                self.counters.latencies.append(time.perf_counter() - started)
                if second.get("replies") is None:
                    self.counters.add("second copy not answered (retried by its sender)")
                elif second["replies"] == first:
                    self.counters.add("duplicate deliveries answered alike")
                else:
                    self.counters.add("duplicate deliveries answered differently")
                return first
            attempt += 1
            self.counters.add("messages sent again after a failure")
            if time.monotonic() - began > RETRY_FOR:
                raise RuntimeError(f"no answer to one message for {RETRY_FOR:.0f} s")
            time.sleep(min(0.5 * 2 ** attempt, 8.0))


def participant(client: TabletClient, sender: str, first: str = "hej hej") -> bool:
    from bot.simulate import buttons, run_intake, texts

    try:
        seen, replies = run_intake(client, sender, ANSWERS, first=first)
    except Exception as exc:  # noqa: BLE001 - counted as not finished
        log(f"{sender}: {exc.__class__.__name__}: {str(exc)[:120]}")
        return False
    if not seen or seen[-1] != "booking_session":
        return False
    sessions = [b for b in buttons(replies) if b["payload"].startswith("/choose")]
    return bool(sessions) and "Du är bokad" in texts(client.send(sender, sessions[0]["payload"]))


def faults(ours: Ours, began: float, done: threading.Event, events: List[str]) -> None:
    import os
    import signal

    def at(seconds: float) -> bool:
        while time.monotonic() - began < seconds:
            if done.is_set():
                return False
            time.sleep(0.2)
        return True

    root = ours.process.process.pid
    if at(10):
        pid = find_server(root, "bot.rasa_server", str(ours.rasa_base))
        os.kill(pid, signal.SIGKILL)
        events.append(f"{time.monotonic() - began:5.1f} s  Rasa instance 1 killed (pid {pid})")
    if at(30):
        pid = find_server(root, "rasa_sdk", str(ours.actions_base))
        os.kill(pid, signal.SIGKILL)
        events.append(f"{time.monotonic() - began:5.1f} s  action server 1 killed (pid {pid})")
    if at(50):
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        t0 = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                       capture_output=True)
        events.append(f"{time.monotonic() - began:5.1f} s  PostgreSQL restarted ({time.monotonic() - t0:.1f} s down)")


def referrals_by_participant(ours: Ours, senders: List[str]) -> Dict[str, int]:
    from sqlalchemy import create_engine, text

    from bot.config import Config
    from bot.intake.participants import pseudonym

    secret = Config.from_env(ours.env).secret
    keys = {pseudonym(secret, "tablet", f"tablet-{s}"): s for s in senders}
    engine = create_engine(ours.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT p.pseudonym, COUNT(r.id) FROM participants p LEFT JOIN referrals r "
                "ON r.participant_id = p.id WHERE p.pseudonym = ANY(:keys) GROUP BY p.pseudonym"),
                {"keys": list(keys)}).all()
    finally:
        engine.dispose()
    counts = {s: 0 for s in senders}
    for key, n in rows:
        counts[keys[key]] = n
    return counts


def drop_database(url: str) -> None:
    """Drop the run's database on a new connection (the one made at the start died with the restart)."""
    import psycopg2
    from sqlalchemy.engine.url import make_url

    parsed = make_url(url)
    admin = psycopg2.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname="postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        admin.close()


def main() -> None:
    from bot.config import Config
    from bot.web.config import tablet_key

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    counters, events = Counters(), []
    with tempfile.TemporaryDirectory() as tmp:
        ours = Ours(args.instances, Path(tmp), Ports(), args.postgres, redis_db=9)
        ours.drop = lambda: drop_database(ours.database_url)
        Path(tmp).chmod(0o755)  # nginx's workers (user nobody) read its configuration there
        try:
            log(f"starting the production profile ({args.instances} instances) ...")
            ours.start()
            url = f"http://127.0.0.1:{ours.port}/webhooks/tablet/webhook"
            key = tablet_key(Config.from_env(ours.env))
            senders = [f"fault-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.participants)]
            done = threading.Event()
            began = time.monotonic()
            injector = threading.Thread(target=faults, args=(ours, began, done, events))
            injector.start()
            with ThreadPoolExecutor(args.participants) as pool:
                finished = dict(zip(senders, pool.map(
                    lambda s: participant(TabletClient(url, key, counters), s), senders)))
            load_seconds = time.monotonic() - began
            done.set()
            injector.join()
            log("the load is over; unfinished participants carry on")
            time.sleep(5)
            resumed = {}
            for sender in [s for s, ok in finished.items() if not ok]:
                resumed[sender] = participant(TabletClient(url, key, counters, think=False), sender, first="hej")
            counts = referrals_by_participant(ours, senders)
            restarts = ours.process.tail(10 ** 6).count("starting it again")
        finally:
            ours.stop()
    finished_all = {s for s, ok in finished.items() if ok} | {s for s, ok in resumed.items() if ok}
    expected = len(finished_all)
    made = sum(counts.values())
    duplicated = sum(1 for s in senders if counts[s] > 1)
    lost = sum(1 for s in finished_all if counts[s] == 0)
    stuck = len(senders) - len(finished_all)
    lat = counters.latencies
    print(f"# Faults under load ({args.participants} participants, {args.instances} instances, "
          f"{load_seconds:.0f} s of load)\n")
    print("Faults injected:\n")
    for line in events:
        print(f"- {line}")
    print(f"- processes started again by the supervisor: {restarts}\n")
    print("| figure | value |\n|---|---|")
    print(f"| intakes finished during the faults | {sum(finished.values())} of {len(senders)} |")
    print(f"| finished after the faults (\"hej\" and carry on) | {sum(resumed.values())} |")
    print(f"| referrals expected (finished intakes) | {expected} |")
    print(f"| referrals made | {made} |")
    print(f"| participants with more than one referral (duplicated) | {duplicated} |")
    print(f"| finished intakes without a referral (lost) | {lost} |")
    print(f"| conversations stuck (could not finish) | {stuck} |")
    for name in ("duplicate deliveries answered alike", "duplicate deliveries answered differently",
                 "second copy not answered (retried by its sender)", "messages sent again after a failure"):
        print(f"| {name} | {counters.values.get(name, 0)} |")
    if lat:
        print(f"| turn latency p50 / p95 / max (ms) | {percentile(lat, 0.5) * 1000:.0f} / "
              f"{percentile(lat, 0.95) * 1000:.0f} / {max(lat) * 1000:.0f} |")
    ok = duplicated == 0 and lost == 0 and stuck == 0 and made == expected
    print(f"\ntarget: every finished intake ends in exactly one referral, none stuck: {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
