"""Load: N participants doing whole intakes at once through nginx, against a bare `rasa init` bot.

Usage: .venv/bin/python benchmarks/load.py [--participants 20 100] [--instances 1 2] [--quick]
           [--postgres postgresql+psycopg2://postgres@127.0.0.1:5432] [--redis-db 5]

For each K in ``--instances``:

- *ours*: ``intake prod --instances K`` (nginx in front of K Rasa instances and K action servers,
  the web apps and the scheduler) on a fresh PostgreSQL database (made for the run and dropped
  after it) and Redis (``--redis-db``), with one activity and one session of 1,000 seats. Two
  whole intakes through nginx, one after the other, warm the servers up (they are not measured).
- *bare*: the moodbot of ``rasa init --no-prompt`` (trained once per invocation), K ``rasa run``
  instances behind an nginx of the same configuration (``bot.prod.nginx_config``). Its tracker
  store and lock store are Rasa's defaults, in memory, per instance; it has no action server and
  no database. nginx spreads the turns over the instances, so with K=2 a moodbot conversation's
  memory is split between them (it does not matter to the moodbot's replies' cost).

Then for each N in ``--participants``, ours and then the bare bot, both stacks up at the same
time (the idle one waits): N threads are released together by a barrier; each is one
participant. On ours it does one whole Swedish intake with booking over the REST channel
(``bot.simulate.run_intake`` with ``SWEDISH_ANSWERS``, then the first offered session) and
counts as finished when the booking is confirmed; on the bare bot it sends as many turns as an
intake of ours has (26), cycling through "hi", "I am sad", "yes", "great", "no", "bye". Each
turn is one POST to ``/webhooks/rest/webhook`` through nginx, timed from the request to the
response (a requests.Session per participant, keep-alive). A participant stops at its first
error (non-200 or exception).

Figures: turns/s = turns answered with 200 / wall time (barrier release to the last
participant's end); p50/p95/p99 over every request sent (errors included, with the time they
took); errors; participants finished; and for ours, from the database, the referrals of the
run's participants (pseudonyms of their sender ids): each finished intake must have exactly one,
and one active booking. The servers' JSON log during each load is summarised (warnings, errors,
lock messages). After the loads of a K: the resident memory (VmRSS of the process and its
children, /proc) of each Rasa instance and action server of ours and of each bare instance.
Targets (issue 10): ours p95 <= 1.25x the bare bot's at 20 concurrent; ours' turns/s grows from
K=1 to K=2 (at every N measured with both).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import requests  # noqa: E402

from bot.simulate import SWEDISH_ANSWERS, book_first_free, run_intake, texts  # noqa: E402

BIN = Path(sys.executable).parent
READY_TIMEOUT = 420.0
REQUEST_TIMEOUT = 120.0  # nginx's proxy_read_timeout
BARE_MESSAGES = ["hi", "I am sad", "yes", "great", "no", "bye"]
INTAKE_TURNS = 26  # turns of one whole intake with booking (benchmarks/intake.py)
P95_TARGET = 1.25


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- ports and processes ----------------------------------------------------------------------------


def ports_free(first: int, count: int) -> bool:
    for port in range(first, first + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


class Ports:
    """Free ports, runs of consecutive ones where needed; never the same one twice."""

    def __init__(self) -> None:
        self.taken: set = set()

    def run(self, count: int) -> int:
        for _ in range(2000):
            first = random.randint(20000, 40000)
            wanted = set(range(first, first + count))
            if not wanted & self.taken and ports_free(first, count):
                self.taken |= wanted
                return first
        raise RuntimeError("no free ports")

    def one(self) -> int:
        return self.run(1)


def children_map() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children[ppid].append(int(entry))
    return children


def descendants(pid: int, children: Optional[Dict[int, List[int]]] = None) -> List[int]:
    children = children_map() if children is None else children
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> List[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB."""
    return sum(rss_kb(p) for p in [pid, *descendants(pid)]) / 1024


def find_server(root_pid: int, *needles: str) -> Optional[int]:
    """The process under ``root_pid`` whose command line holds every needle (the outermost one)."""
    children = children_map()
    for pid in [root_pid, *descendants(root_pid, children)]:
        line = cmdline(pid)
        if all(n in line for n in needles):
            return pid
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def url_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Launched:
    """A process group of ours; stop() ends it and whatever it started, however it went."""

    name: str
    process: subprocess.Popen
    log_path: Path
    known: set = field(default_factory=set)  # descendants seen, in case they outlive the leader

    def remember(self) -> None:
        self.known |= set(descendants(self.process.pid))

    def wait_ready(self, urls: List[str], marker: Optional[str] = None, timeout: float = READY_TIMEOUT) -> float:
        began = time.monotonic()
        while True:
            self.remember()
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before it was ready; "
                                   f"its log ends:\n{self.tail()}")
            text_ok = marker is None or marker in self.log_path.read_text(errors="replace")
            if text_ok and all(url_ok(u) for u in urls):
                self.remember()
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s (waiting for "
                                   f"{marker or ''} {' '.join(urls)}); its log ends:\n{self.tail()}")
            time.sleep(1.0)

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, grace: float = 90.0) -> None:
        self.remember()
        pid = self.process.pid
        if self.process.poll() is None:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop in {grace:.0f} s; killing it")
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(10)
        # what it started in sessions of their own and left behind
        leftovers = [p for p in self.known if alive(p)]
        for p in leftovers:
            for sig in (signal.SIGTERM,):
                try:
                    os.killpg(p, sig)
                except (ProcessLookupError, PermissionError):
                    try:
                        os.kill(p, sig)
                    except ProcessLookupError:
                        pass
        deadline = time.monotonic() + 15
        while any(alive(p) for p in leftovers) and time.monotonic() < deadline:
            time.sleep(0.3)
        for p in leftovers:
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def launch(name: str, command: List[str], env: Dict[str, str], log_path: Path, cwd: Path) -> Launched:
    out = open(log_path, "ab")
    try:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    finally:
        out.close()
    return Launched(name, process, log_path)


# -- the load ---------------------------------------------------------------------------------------


@dataclass
class Turn:
    seconds: float
    ok: bool


class TimedClient:
    """bot.simulate's client interface; times every request, keeps errors."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.turns: List[Turn] = []
        self.error: Optional[str] = None

    def send(self, sender: str, message: str, metadata: Optional[Dict] = None) -> List[Dict]:
        body = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        started = time.perf_counter()
        try:
            response = self.session.post(self.url, json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            self.turns.append(Turn(time.perf_counter() - started, False))
            self.error = type(exc).__name__
            raise
        self.turns.append(Turn(time.perf_counter() - started, response.status_code == 200))
        if response.status_code != 200:
            self.error = f"HTTP {response.status_code}"
            response.raise_for_status()
        return response.json()


def our_participant(client: TimedClient, sender: str) -> Tuple[bool, Optional[str]]:
    seen, replies = run_intake(client, sender, SWEDISH_ANSWERS)
    if not seen or seen[-1] != "booking_session":
        return False, f"intake ended without the booking question (last asked: {seen[-1] if seen else None})"
    confirmation = book_first_free(client, sender, replies)
    if "Du är bokad" not in texts(confirmation):
        return False, "booking not confirmed"
    return True, None


def bare_participant(client: TimedClient, sender: str) -> Tuple[bool, Optional[str]]:
    for i in range(INTAKE_TURNS):
        client.send(sender, BARE_MESSAGES[i % len(BARE_MESSAGES)])
    return True, None


@dataclass
class LoadResult:
    n: int
    wall: float
    latencies: List[float]
    turns_ok: int
    errors: collections.Counter
    finished: int
    failures: collections.Counter
    turns_per_participant: collections.Counter
    senders: List[str]
    finished_senders: List[str]

    @property
    def rate(self) -> float:
        return self.turns_ok / self.wall if self.wall else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000 if self.latencies else float("nan")


def load(url: str, n: int, prefix: str, participant: Callable[[TimedClient, str], Tuple[bool, Optional[str]]]) -> LoadResult:
    barrier = threading.Barrier(n + 1)
    clients = [TimedClient(url) for _ in range(n)]
    senders = [f"{prefix}-{i}" for i in range(n)]
    outcome: List[Tuple[bool, Optional[str]]] = [(False, "not run")] * n
    ended = [0.0] * n

    def work(i: int) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        try:
            outcome[i] = participant(clients[i], senders[i])
        except Exception as exc:  # noqa: BLE001 -- every failure is a figure
            outcome[i] = (False, clients[i].error or f"{type(exc).__name__}: {str(exc)[:80]}")
        finally:
            ended[i] = time.perf_counter()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    wall = max(ended) - began
    latencies = [t.seconds for c in clients for t in c.turns]
    errors = collections.Counter(c.error for c in clients if c.error)
    failures = collections.Counter(reason for ok, reason in outcome if not ok)
    return LoadResult(
        n=n, wall=wall, latencies=latencies, turns_ok=sum(t.ok for c in clients for t in c.turns),
        errors=errors, finished=sum(ok for ok, _ in outcome), failures=failures,
        turns_per_participant=collections.Counter(len(c.turns) for c in clients),
        senders=senders, finished_senders=[s for s, (ok, _) in zip(senders, outcome) if ok],
    )


# -- the two stacks ---------------------------------------------------------------------------------


def check_referrals(database_url: str, secret: bytes, result: LoadResult) -> Dict[str, int]:
    """Referrals and active bookings per participant of the run, by pseudonym (channel "rest")."""
    from sqlalchemy import create_engine, text

    from bot.intake.participants import pseudonym

    keys = {pseudonym(secret, "rest", s): s for s in result.senders}
    finished = set(result.finished_senders)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT p.pseudonym, COUNT(DISTINCT r.id), "
                "COUNT(DISTINCT b.id) FILTER (WHERE b.status IN ('booked', 'waitlisted', 'offered')) "
                "FROM participants p LEFT JOIN referrals r ON r.participant_id = p.id "
                "LEFT JOIN bookings b ON b.referral_id = r.id "
                "WHERE p.pseudonym = ANY(:keys) GROUP BY p.pseudonym"), {"keys": list(keys)}).all()
    finally:
        engine.dispose()
    referrals = {keys[k]: (n_ref, n_book) for k, n_ref, n_book in rows}
    figures = collections.Counter()
    for sender in result.senders:
        n_ref, n_book = referrals.get(sender, (0, 0))
        group = "finished" if sender in finished else "unfinished"
        figures[f"{group} participants"] += 1
        figures[f"{group}: referrals made"] += n_ref
        if n_ref == 1:
            figures[f"{group}: exactly one referral"] += 1
        elif n_ref == 0:
            figures[f"{group}: no referral"] += 1
        else:
            figures[f"{group}: more than one referral"] += 1
        if n_book == 1:
            figures[f"{group}: exactly one active booking"] += 1
        elif n_book > 1:
            figures[f"{group}: more than one active booking"] += 1
    return dict(figures)


def log_summary(path: Path, offset: int) -> Dict[str, object]:
    """Levels and lock messages in the JSON log written since ``offset``."""
    levels = collections.Counter()
    lock_lines = 0
    kinds = collections.Counter()
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            line = raw.decode(errors="replace").strip()
            try:
                record = json.loads(line)
                level = str(record.get("level", "?"))
                message = str(record.get("message", ""))
                where = f"{record.get('service', '?')}/{record.get('logger', '?')}"
            except (ValueError, AttributeError):
                level = "ERROR" if ("Traceback" in line or "Error" in line) else "plain"
                message, where = line, "?"
            levels[level] += 1
            if "lock" in message.lower():
                lock_lines += 1
            if level in ("ERROR", "CRITICAL", "WARNING"):
                kinds[f"{level} {where}: {message[:160]}"] += 1
    return {"levels": levels, "lock": lock_lines, "kinds": kinds}


def intake(command: List[str], env: Dict[str, str]) -> str:
    done = subprocess.run([str(BIN / "intake"), *command], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"intake {' '.join(command)} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return done.stdout


class Ours:
    def __init__(self, k: int, work: Path, ports: Ports, postgres: str, redis_db: int) -> None:
        from privacy import postgres_database
        from bot.crypto import generate_key

        self.k = k
        made, problem = postgres_database(postgres)
        if made is None:
            raise RuntimeError(f"PostgreSQL not reachable: {problem}")
        self.database_url, _, self.drop = made
        self.port, self.actions_port = ports.one(), ports.one()
        self.rasa_base, self.actions_base = ports.run(k), ports.run(k)
        self.web_port, self.scheduler_port = ports.one(), ports.one()
        self.secret = "load-" + uuid.uuid4().hex
        self.env = dict(
            os.environ, DATABASE_URL=self.database_url, REDIS_HOST="127.0.0.1", REDIS_PORT="6379",
            REDIS_DB=str(redis_db), INTAKE_DATA_DIR=str(work / f"ours-{k}"), INTAKE_ENV="production",
            INTAKE_SECRET=self.secret, INTAKE_ENCRYPTION_KEYS=generate_key(), PYTHONPATH=str(ROOT),
            RASA_TELEMETRY_ENABLED="false",
        )
        (work / f"ours-{k}").mkdir(parents=True, exist_ok=True)
        self.log_path = work / f"ours-{k}.log"
        self.process: Optional[Launched] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def start(self) -> float:
        from bot.intake.program import load_program

        began = time.monotonic()
        intake(["db", "upgrade"], self.env)
        a = load_program(ROOT / "program.yml").activity
        intake(["activities", "add", "--code", a["code"], "--name", a["name"], "--provider", a["provider"],
                "--municipality", a["municipality"]], self.env)
        intake(["sessions", "add", "--start", "2099-01-05 10:00", "--place", "Bench", "--address", "Bench 1",
                "--capacity", "1000"], self.env)
        self.process = launch(f"intake prod --instances {self.k}", [
            str(BIN / "intake"), "prod", "--instances", str(self.k), "--port", str(self.port),
            "--actions-port", str(self.actions_port), "--rasa-base", str(self.rasa_base),
            "--actions-base", str(self.actions_base), "--web-port", str(self.web_port),
            "--scheduler-port", str(self.scheduler_port)], self.env, self.log_path, ROOT)
        urls = [f"http://127.0.0.1:{self.rasa_base + i}/webhooks/health/ready" for i in range(self.k)]
        urls += [f"http://127.0.0.1:{self.actions_base + i}/health" for i in range(self.k)]
        self.process.wait_ready(urls, marker="The production profile is running.")
        return time.monotonic() - began

    def warm_up(self) -> None:
        for i in range(2):
            client = TimedClient(self.url)
            ok, why = our_participant(client, f"warm-up-{uuid.uuid4().hex[:8]}")
            if not ok:
                raise RuntimeError(f"warm-up intake failed: {why}")

    def memory(self) -> List[Tuple[str, float]]:
        assert self.process is not None
        found = []
        for i in range(self.k):
            rasa = find_server(self.process.process.pid, "bot.rasa_server", str(self.rasa_base + i))
            actions = find_server(self.process.process.pid, "rasa_sdk", str(self.actions_base + i))
            found.append((f"ours, Rasa instance {i + 1}", tree_rss_mb(rasa) if rasa else float("nan")))
            found.append((f"ours, action server {i + 1}", tree_rss_mb(actions) if actions else float("nan")))
        return found

    def stop(self) -> None:
        try:
            if self.process is not None:
                self.process.stop()
        finally:
            self.drop()


def make_bare(work: Path) -> Path:
    target = work / "bare"
    target.mkdir(parents=True, exist_ok=True)
    log(f"rasa init --no-prompt --init-dir {target} (trains the moodbot) ...")
    done = subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(target)], cwd=work,
                          env=dict(os.environ, RASA_TELEMETRY_ENABLED="false"), capture_output=True, text=True)
    models = list((target / "models").glob("*.tar.gz")) if (target / "models").exists() else []
    if done.returncode != 0 or not models:
        raise RuntimeError(f"rasa init failed ({done.returncode}):\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    return target


class Bare:
    def __init__(self, k: int, work: Path, bare_dir: Path, ports: Ports) -> None:
        from bot.prod import Profile, nginx_config

        self.k = k
        self.dir = bare_dir
        self.port, self.base = ports.one(), ports.run(k)
        self.data = work / f"bare-{k}"
        profile = Profile(instances=k, port=self.port, actions_port=ports.one(), rasa_base=self.base,
                          actions_base=ports.run(k), data_dir=self.data)
        (self.data / "nginx").mkdir(parents=True, exist_ok=True)
        self.conf = self.data / "nginx" / "nginx.conf"
        self.conf.write_text(nginx_config(profile))  # the actions upstream is never used
        self.env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
        self.processes: List[Launched] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/rest/webhook"

    def start(self) -> float:
        from bot.prod import NGINX

        began = time.monotonic()
        model = sorted((self.dir / "models").glob("*.tar.gz"))[-1]
        for i in range(self.k):
            port = self.base + i
            self.processes.append(launch(f"bare rasa {i + 1}", [
                str(BIN / "rasa"), "run", "--model", str(model), "--interface", "127.0.0.1", "--port", str(port),
                "--credentials", str(self.dir / "credentials.yml"), "--endpoints", str(self.dir / "endpoints.yml")],
                self.env, self.data / f"rasa-{i + 1}.log", self.dir))
        self.processes.append(launch("bare nginx", [NGINX, "-c", str(self.conf), "-p", str(self.conf.parent)],
                                     self.env, self.data / "nginx.log", self.dir))
        for i, p in enumerate(self.processes[:-1]):
            p.wait_ready([f"http://127.0.0.1:{self.base + i}/"])
        self.processes[-1].wait_ready([f"http://127.0.0.1:{self.port}/nginx/health"])
        return time.monotonic() - began

    def warm_up(self) -> None:
        client = TimedClient(self.url)
        for i in range(2 * self.k):
            bare_participant(client, f"warm-up-{uuid.uuid4().hex[:8]}-{i}")

    def memory(self) -> List[Tuple[str, float]]:
        return [(f"bare, Rasa instance {i + 1}", tree_rss_mb(p.process.pid))
                for i, p in enumerate(self.processes[:-1])]

    def stop(self) -> None:
        for p in reversed(self.processes):
            try:
                p.stop(grace=30)
            except Exception as exc:  # noqa: BLE001 -- stop the others all the same
                log(f"stopping {p.name}: {exc}")


# -- main ---------------------------------------------------------------------------------------------


def fmt_ms(value: float) -> str:
    return f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 participants, 1 instance")
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432",
                        help="server for ours (a database is made per K and dropped after it)")
    parser.add_argument("--redis-db", type=int, default=5, help="Redis database of ours' lock store")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args()
    if args.quick:
        args.participants, args.instances = [5], [1]

    def on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)

    load_at_start = os.getloadavg()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="intake-load-"))
    # nginx started as root runs its workers as nobody; they write request bodies under the work
    # directory, which mkdtemp makes 0700
    work.chmod(0o755)
    log(f"working in {work}")
    results: Dict[Tuple[str, int, int], LoadResult] = {}
    referrals: Dict[Tuple[int, int], Dict[str, int]] = {}
    logs: Dict[Tuple[int, int], Dict[str, object]] = {}
    memory: Dict[int, List[Tuple[str, float]]] = {}
    startup: Dict[Tuple[str, int], float] = {}
    ports = Ports()
    try:
        bare_dir = make_bare(work)
        for k in args.instances:
            ours, bare = None, None
            try:
                ours = Ours(k, work, ports, args.postgres, args.redis_db)
                log(f"K={k}: starting intake prod --instances {k} ...")
                startup[("ours", k)] = ours.start()
                log(f"K={k}: ours ready in {startup[('ours', k)]:.0f} s; starting the bare bot ...")
                bare = Bare(k, work, bare_dir, ports)
                startup[("bare", k)] = bare.start()
                log(f"K={k}: bare ready in {startup[('bare', k)]:.0f} s; warming up ...")
                ours.warm_up()
                bare.warm_up()
                for n in args.participants:
                    offset = ours.log_path.stat().st_size
                    log(f"K={k} N={n}: ours ...")
                    r = load(ours.url, n, f"load-k{k}-n{n}-{uuid.uuid4().hex[:6]}", our_participant)
                    results[("ours", k, n)] = r
                    logs[(k, n)] = log_summary(ours.log_path, offset)
                    time.sleep(3)  # let the last actions' writes settle
                    referrals[(k, n)] = check_referrals(ours.database_url, ours.secret.encode(), r)
                    log(f"  {r.turns_ok} turns in {r.wall:.1f} s, p95 {r.p(0.95):.0f} ms, finished {r.finished}/{n}")
                    time.sleep(5)
                    log(f"K={k} N={n}: bare ...")
                    r = load(bare.url, n, f"bare-k{k}-n{n}-{uuid.uuid4().hex[:6]}", bare_participant)
                    results[("bare", k, n)] = r
                    log(f"  {r.turns_ok} turns in {r.wall:.1f} s, p95 {r.p(0.95):.0f} ms, finished {r.finished}/{n}")
                    time.sleep(5)
                memory[k] = ours.memory() + bare.memory()
            finally:
                if bare is not None:
                    bare.stop()
                if ours is not None:
                    log(f"K={k}: stopping intake prod ...")
                    ours.stop()
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    total = time.monotonic() - started
    report(args, results, referrals, logs, memory, startup, load_at_start, total)


def report(args, results, referrals, logs, memory, startup, load_at_start, total) -> None:
    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at the start {load_at_start[0]:.2f} (1 min), {load_at_start[1]:.2f} (5 min); "
          f"whole run {total / 60:.1f} min")
    print()
    print("Ours: `intake prod` (nginx, K Rasa instances with the PostgreSQL tracker store and the Redis lock "
          "store, K action servers, PostgreSQL referral database). Bare: `rasa init` moodbot, K `rasa run` "
          "behind nginx, in-memory tracker and lock stores, no action server, no database. "
          f"Every participant: {INTAKE_TURNS} turns over REST through nginx, all N released together.")
    print()
    print("| K | N | bot | turns/s | p50 ms | p95 ms | p99 ms | max ms | errors | participants finished | turns per participant |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for (bot, k, n), r in sorted(results.items(), key=lambda x: (x[0][1], x[0][2], x[0][0] != "ours")):
        errors = sum(r.errors.values())
        shapes = ", ".join(f"{t}×{c}" for t, c in sorted(r.turns_per_participant.items()))
        print(f"| {k} | {n} | {bot} | {r.rate:.1f} | {fmt_ms(r.p(0.5))} | {fmt_ms(r.p(0.95))} | {fmt_ms(r.p(0.99))} | "
              f"{fmt_ms(max(r.latencies) * 1000)} | {errors} | {r.finished}/{n} | {shapes} |")
    print()
    print("| K | N | ours ÷ bare, p95 | ours ÷ bare, turns/s |")
    print("|---:|---:|---:|---:|")
    ratios = {}
    for (bot, k, n), r in sorted(results.items()):
        if bot != "ours" or ("bare", k, n) not in results:
            continue
        b = results[("bare", k, n)]
        ratios[(k, n)] = (r.p(0.95) / b.p(0.95), r.rate / b.rate if b.rate else float("nan"))
        print(f"| {k} | {n} | {ratios[(k, n)][0]:.2f}× | {ratios[(k, n)][1]:.2f}× |")
    print()
    print("Referrals of ours (database, by the participants' pseudonyms):")
    print()
    print("| K | N | finished intakes | with exactly one referral | with none | with more than one | with exactly one active booking | unfinished participants (referrals made) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (k, n), f in sorted(referrals.items()):
        print(f"| {k} | {n} | {f.get('finished participants', 0)} | {f.get('finished: exactly one referral', 0)} | "
              f"{f.get('finished: no referral', 0)} | {f.get('finished: more than one referral', 0)} | "
              f"{f.get('finished: exactly one active booking', 0)} | "
              f"{f.get('unfinished participants', 0)} ({f.get('unfinished: referrals made', 0)}) |")
    print()
    print("Server log of ours during each load (JSON lines of every Rasa, action server, web app, scheduler):")
    print()
    print("| K | N | INFO | WARNING | ERROR | lines about locks |")
    print("|---:|---:|---:|---:|---:|---:|")
    for (k, n), s in sorted(logs.items()):
        levels = s["levels"]
        print(f"| {k} | {n} | {levels.get('INFO', 0)} | {levels.get('WARNING', 0)} | "
              f"{levels.get('ERROR', 0) + levels.get('CRITICAL', 0)} | {s['lock']} |")
    for (k, n), s in sorted(logs.items()):
        for line, count in s["kinds"].most_common(4):
            print(f"- K={k} N={n}: {count} × {line}")
    failures = [(bot, k, n, reason, count) for (bot, k, n), r in sorted(results.items())
                for reason, count in r.failures.most_common()]
    if failures:
        print()
        print("Participants who did not finish, by reason:")
        for bot, k, n, reason, count in failures:
            print(f"- {bot}, K={k}, N={n}: {count} × {reason}")
    print()
    print("Memory after the load (VmRSS of the process and its children):")
    print()
    print("| K | process | MB |")
    print("|---:|---|---:|")
    for k, rows in sorted(memory.items()):
        for name, mb in rows:
            print(f"| {k} | {name} | {mb:,.0f} |")
    print()
    print("| start-up until ready | s |")
    print("|---|---:|")
    for (bot, k), seconds in sorted(startup.items()):
        what = f"ours, `intake prod --instances {k}` (database made, schema, session added)" if bot == "ours" else \
            f"bare, {k} × `rasa run` + nginx"
        print(f"| {what} | {seconds:.0f} |")
    print()
    print("Targets:")
    at20 = [(k, ratio) for (k, n), ratio in sorted(ratios.items()) if n == 20]
    if at20:
        for k, (p95, _) in at20:
            verdict = "met" if p95 <= P95_TARGET else "NOT met"
            print(f"- p95 at 20 concurrent <= {P95_TARGET}× the bare bot, K={k}: {p95:.2f}× — {verdict}")
    else:
        print("- p95 at 20 concurrent: not measured in this run")
    ks = sorted({k for (bot, k, n) in results if bot == "ours"})
    if len(ks) >= 2:
        lo, hi = ks[0], ks[-1]
        for n in sorted({n for (bot, k, n) in results if bot == "ours"}):
            if ("ours", lo, n) in results and ("ours", hi, n) in results:
                a, b = results[("ours", lo, n)].rate, results[("ours", hi, n)].rate
                verdict = "met" if b > a else "NOT met"
                print(f"- ours' throughput grows with instances at N={n}: K={lo} {a:.1f} → K={hi} {b:.1f} turns/s "
                      f"({b / a:.2f}×) — {verdict}")
    else:
        print("- throughput against instances: one K only in this run")
    all_one = all(f.get("finished participants", 0) == f.get("finished: exactly one referral", 0)
                  for f in referrals.values())
    print(f"- every finished intake made exactly one referral: {'yes' if all_one else 'NO'}")


if __name__ == "__main__":
    main()
