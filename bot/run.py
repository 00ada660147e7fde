"""Run the whole system locally: the Rasa server and the action server, stopped together."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot.channels.credentials import write_credentials
from bot.config import PROJECT_ROOT, Config


@dataclass
class Service:
    name: str
    command: List[str]
    ready_url: Optional[str]  # None: ready once it runs
    process: Optional[subprocess.Popen] = None

    def start(self, env: Dict[str, str]) -> None:
        self.process = subprocess.Popen(self.command, cwd=PROJECT_ROOT, env=env, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        if self.ready_url is None:
            return self.alive()
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


def telegram_polling(env: Dict[str, str]) -> bool:
    """Telegram without a public HTTPS address: fetch updates instead of receiving them."""
    return bool(env.get("TELEGRAM_BOT_TOKEN")) and env.get("TELEGRAM_MODE", "polling") != "webhook"


def services(rasa_port: int, actions_port: int, model: str, host: str = "127.0.0.1", debug: bool = False,
             credentials: str = "credentials.yml", poll_telegram: bool = False,
             web_port: Optional[int] = None) -> List[Service]:
    bin_dir = Path(sys.executable).parent
    extra = []
    if web_port:
        extra.append(Service(
            "web apps",
            [str(bin_dir / "intake"), "web", "--host", host, "--port", str(web_port)],
            f"http://{host}:{web_port}/healthz",
        ))
    if poll_telegram:
        extra.append(Service(
            "telegram poller",
            [str(bin_dir / "intake"), "telegram", "poll",
             "--webhook", f"http://{host}:{rasa_port}/webhooks/telegram/webhook"],
            None,
        ))
    extra.append(Service("scheduler", [str(bin_dir / "intake"), "scheduler", "run"], None))
    return [
        Service(
            "action server",
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
            f"http://{host}:{actions_port}/health",
        ),
        Service(
            "rasa",
            [str(bin_dir / "rasa"), "run", "--model", model, "--interface", host, "--port", str(rasa_port),
             "--credentials", credentials, "--endpoints", "endpoints.yml"] + (["--debug"] if debug else []),
            f"http://{host}:{rasa_port}/webhooks/rest/",
        ),
    ] + extra


def child_environment(actions_port: int, rasa_port: int = 5005) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("INTAKE_RASA_URL", f"http://127.0.0.1:{rasa_port}")
    env.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{actions_port}/webhook")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    if telegram_polling(env) and not env.get("TELEGRAM_WEBHOOK_SECRET"):
        # polling hands updates to our own webhook on localhost: a secret for this run only
        env["TELEGRAM_WEBHOOK_SECRET"] = secrets.token_urlsafe(32)
    return env


WEBHOOKS = {"REST": "rest", "Telegram": "telegram", "SMS (46elks)": "46elks", "SMS (Twilio)": "twilio"}


def channel_lines(rasa_port: int, on: List[str], off: Dict[str, List[str]], polling: bool) -> List[str]:
    lines = []
    for name in on:
        if name in ("Tablet channel", "Health"):  # reached through the web app, or by a load balancer
            continue
        line = f"{name + ':':15}http://127.0.0.1:{rasa_port}/webhooks/{WEBHOOKS.get(name, name)}/webhook"
        if name == "Telegram":
            line += " (polling Telegram for updates)" if polling else " (set the webhook: intake telegram setup)"
        lines.append(line)
    for name, missing in off.items():
        lines.append(f"{name + ':':15}off (set {', '.join(missing)})")
    return lines


def preflight(config: Config, env: Dict[str, str], debug: bool) -> Optional[str]:
    """Why the system must not start (production without its secrets, or with a debug log)."""
    from bot.crypto import KeyringError, configured_keys

    try:
        configured_keys(config, env)
        _ = config.secret
    except (KeyringError, RuntimeError) as exc:
        return f"cannot start: {exc}"
    if debug and config.production:
        return "cannot start: --debug logs what participants write; it is not for production"
    return None


def start_and_wait(procs: List[Service], env: Dict[str, str], ready_timeout: float, stopping) -> bool:
    """Start every service, then wait until each is ready; False when one exits or time runs out."""
    for service in procs:
        print(f"starting {service.name} ...", flush=True)
        service.start(env)
    deadline = time.monotonic() + ready_timeout
    pending = list(procs)
    while pending and not stopping():
        for service in list(pending):
            if not service.alive():
                print(f"{service.name} exited before it was ready", file=sys.stderr, flush=True)
                return False
            if service.ready():
                pending.remove(service)
                print(f"{service.name} ready", flush=True)
        if time.monotonic() > deadline:
            print("timed out waiting for " + ", ".join(s.name for s in pending), file=sys.stderr, flush=True)
            return False
        time.sleep(0.5)
    return True


def supervise(procs: List[Service], env: Dict[str, str], ready_timeout: float, banner: str, restart: bool) -> int:
    """Start the services, print ``banner`` once all are ready, and watch them until Ctrl-C or SIGTERM.

    A service that stops ends the run (``restart=False``, `intake run`) or is started again
    (``restart=True``, the production profile, as a container platform would). All are stopped
    at the end.
    """
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not start_and_wait(procs, env, ready_timeout, lambda: stopping):
            return 1
        if not stopping:
            print(banner, flush=True)
        while not stopping:
            for service in procs:
                if service.alive() or stopping:
                    continue
                if not restart:
                    print(f"{service.name} stopped unexpectedly", file=sys.stderr, flush=True)
                    return 1
                print(f"{service.name} stopped; starting it again", file=sys.stderr, flush=True)
                service.start(env)
            time.sleep(0.5)
        return 0
    finally:
        for service in reversed(procs):
            service.stop()
        print("stopped", flush=True)


def run_all(rasa_port: int = 5005, actions_port: int = 5055, model: str = "models", ready_timeout: float = 180.0,
            debug: bool = False, web_port: Optional[int] = 8000) -> int:
    env = child_environment(actions_port, rasa_port)
    problem = preflight(Config.from_env(env), env, debug)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    credentials = Config.from_env(env).data_dir / "credentials.yml"
    channels_on, channels_off = write_credentials(PROJECT_ROOT / "credentials.yml", credentials, env)
    poll = telegram_polling(env) and "Telegram" in channels_on
    procs = services(rasa_port, actions_port, model, debug=debug, credentials=str(credentials), poll_telegram=poll,
                     web_port=web_port)
    banner = (
        "\nThe intake assistant is running.\n"
        + "".join(f"  {line}\n" for line in channel_lines(rasa_port, channels_on, channels_off, poll))
        + (f"  {'Tablet chat:':15}http://127.0.0.1:{web_port}/tablet  (staff sign in; "
           "intake users add creates accounts)\n"
           f"  {'Dashboard:':15}http://127.0.0.1:{web_port}/referrals\n" if web_port else "")
        + f"  action server: http://127.0.0.1:{actions_port}/health\n"
        "Press Ctrl-C to stop."
    )
    return supervise(procs, env, ready_timeout, banner, restart=False)
