"""Benchmark the intake spine: cold model training time and the time of one bot turn.

Usage: .venv/bin/python benchmarks/intake.py [--intakes 5] [--skip-training]

Trains a model from scratch (empty cache) into a temporary directory and times it; then starts
the Rasa and action servers on that model with an empty SQLite database and runs whole
Swedish intakes, booking included, over the REST channel one after another, timing every turn
(HTTP request to last reply). Prints the figures as a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.simulate import SWEDISH_ANSWERS, RestClient, book_first_free, run_intake, texts  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(workdir: Path) -> tuple:
    env = dict(os.environ, RASA_CACHE_DIRECTORY=str(workdir / "cache"), RASA_TELEMETRY_ENABLED="false")
    started = time.perf_counter()
    subprocess.run([str(BIN / "rasa"), "train", "--force", "--fixed-model-name", "bench", "--out", str(workdir)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, workdir / "bench.tar.gz"


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intakes", type=int, default=5)
    parser.add_argument("--skip-training", action="store_true", help="use models/intake.tar.gz")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.skip_training:
            seconds, model = None, ROOT / "models" / "intake.tar.gz"
        else:
            print("training a model from scratch ...", flush=True)
            seconds, model = train(workdir)
        env = dict(os.environ, INTAKE_DATA_DIR=str(workdir / "var"), INTAKE_SECRET="bench",
                   DATABASE_URL=f"sqlite:///{workdir / 'intake.db'}")
        for command in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([str(BIN / "intake"), *command], env=env, cwd=ROOT, check=True, capture_output=True)
        # room for every participant: one seat each
        for _ in range(args.intakes):
            subprocess.run([str(BIN / "intake"), "sessions", "add", "--start", "2099-01-05 10:00", "--place", "Bench",
                            "--address", "Bench 1", "--capacity", "1000"], env=env, cwd=ROOT, check=True, capture_output=True)
        rasa_port, actions_port = free_port(), free_port()
        log = open(workdir / "servers.log", "w")
        server = subprocess.Popen([str(BIN / "intake"), "run", "--rasa-port", str(rasa_port), "--actions-port",
                                   str(actions_port), "--web-port", "0", "--model", str(model)], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            started = time.perf_counter()
            while "is running" not in (workdir / "servers.log").read_text(errors="replace"):
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit("servers did not start:\n" + (workdir / "servers.log").read_text()[-2000:])
                time.sleep(0.5)
            startup = time.perf_counter() - started
            client = RestClient(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook")
            run_intake(client, "warm-up", SWEDISH_ANSWERS)  # first requests load lazily
            client.latencies.clear()
            durations = []
            for i in range(args.intakes):
                began = time.perf_counter()
                seen, replies = run_intake(client, f"bench-{i}", SWEDISH_ANSWERS)
                confirmation = book_first_free(client, f"bench-{i}", replies)
                assert "Du är bokad" in texts(confirmation), texts(confirmation)
                durations.append(time.perf_counter() - began)
            turns = client.latencies
        finally:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(60)
            log.close()

    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| figure | value |")
    print("|---|---|")
    if seconds is not None:
        print(f"| model training from scratch (empty cache) | {seconds:.1f} s |")
    print(f"| server start-up until ready (Rasa + actions) | {startup:.1f} s |")
    print(f"| turns measured ({args.intakes} whole intakes with booking, {len(turns) // args.intakes} turns each) | {len(turns)} |")
    print(f"| median time of one bot turn | {statistics.median(turns) * 1000:.0f} ms |")
    print(f"| p95 time of one bot turn | {percentile(turns, 0.95) * 1000:.0f} ms |")
    print(f"| slowest turn | {max(turns) * 1000:.0f} ms |")
    print(f"| median whole intake, bot time only | {statistics.median(durations):.1f} s |")


if __name__ == "__main__":
    main()
