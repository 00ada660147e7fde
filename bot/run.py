"""Run the whole system locally: the Rasa server and the action server, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot.config import PROJECT_ROOT


@dataclass
class Service:
    name: str
    command: List[str]
    ready_url: str
    process: Optional[subprocess.Popen] = None

    def start(self, env: Dict[str, str]) -> None:
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def services(rasa_port: int, actions_port: int, model: str, host: str = "127.0.0.1", debug: bool = False) -> List[Service]:
    bin_dir = Path(sys.executable).parent
    return [
        Service(
            "action server",
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
            f"http://{host}:{actions_port}/health",
        ),
        Service(
            "rasa",
            [str(bin_dir / "rasa"), "run", "--model", model, "--interface", host, "--port", str(rasa_port),
             "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"] + (["--debug"] if debug else []),
            f"http://{host}:{rasa_port}/webhooks/rest/",
        ),
    ]


def child_environment(actions_port: int) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{actions_port}/webhook")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    return env


def run_all(rasa_port: int = 5005, actions_port: int = 5055, model: str = "models", ready_timeout: float = 180.0,
            debug: bool = False) -> int:
    procs = services(rasa_port, actions_port, model, debug=debug)
    env = child_environment(actions_port)
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for service in procs:
            print(f"starting {service.name} ...", flush=True)
            service.start(env)
        deadline = time.monotonic() + ready_timeout
        pending = list(procs)
        while pending and not stopping:
            for service in list(pending):
                if not service.alive():
                    print(f"{service.name} exited before it was ready", file=sys.stderr, flush=True)
                    return 1
                if service.ready():
                    pending.remove(service)
                    print(f"{service.name} ready", flush=True)
            if time.monotonic() > deadline:
                print("timed out waiting for " + ", ".join(s.name for s in pending), file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
        if not stopping:
            print(
                "\nThe intake assistant is running.\n"
                f"  REST channel:  http://127.0.0.1:{rasa_port}/webhooks/rest/webhook\n"
                f"  action server: http://127.0.0.1:{actions_port}/health\n"
                "Press Ctrl-C to stop.",
                flush=True,
            )
        while not stopping:
            for service in procs:
                if not service.alive():
                    print(f"{service.name} stopped unexpectedly", file=sys.stderr, flush=True)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for service in reversed(procs):
            service.stop()
        print("stopped", flush=True)
