"""The production profile for real: nginx, two Rasa instances and two action servers on
PostgreSQL and Redis (`intake prod`); health everywhere, a whole intake through the balancer,
one instance killed while the other answers, JSON logs without personal data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.simulate import SWEDISH_ANSWERS, RestClient, buttons, run_intake, texts
from tests.conftest import _pg_database, postgres_available
from tests.e2e.conftest import free_port, stop_group

pytestmark = pytest.mark.servers
PROJECT_ROOT = Path(__file__).resolve().parents[2]
INTAKE = str(Path(sys.executable).parent / "intake")


def free_pair() -> int:
    """A port whose next one is free too (two instances take consecutive ports)."""
    import socket

    while True:
        base = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("0.0.0.0", base + 1))
            except OSError:
                continue
        return base


class Running:
    def __init__(self, ports, env, log):
        self.ports, self.env, self.log = ports, env, log

    def url(self, port_name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[port_name]}{path}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    if not postgres_available():
        pytest.fail("the production profile needs PostgreSQL at 127.0.0.1:5432")
    data_dir = tmp_path_factory.mktemp("prod")
    ports = {"rasa": free_pair(), "actions": free_pair()}
    while len(set(ports.values()) | {ports["rasa"] + 1, ports["actions"] + 1}) < 4:
        ports["actions"] = free_pair()
    for name in ("lb", "actions_lb", "web", "scheduler"):
        port = free_port()
        while port in ports.values() or port - 1 in (ports["rasa"], ports["actions"]):
            port = free_port()
        ports[name] = port
    for database_url in _pg_database():
        env = dict(os.environ, DATABASE_URL=database_url.replace("postgresql://", "postgresql+psycopg2://", 1),
                   REDIS_DB="7", INTAKE_DATA_DIR=str(data_dir))
        env.pop("INTAKE_ENV", None)
        for command in (["db", "upgrade"], ["demo", "load"]):  # sessions to book
            subprocess.run([INTAKE, *command], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)
        log = data_dir / "prod.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [INTAKE, "prod", "--instances", "2", "--port", str(ports["lb"]), "--actions-port", str(ports["actions_lb"]),
                 "--rasa-base", str(ports["rasa"]), "--actions-base", str(ports["actions"]),
                 "--web-port", str(ports["web"]), "--scheduler-port", str(ports["scheduler"])],
                env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        running = Running(ports, env, log)
        try:
            deadline = time.monotonic() + 420
            while "The production profile is running." not in running.log_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("intake prod did not start:\n" + running.log_text()[-4000:])
                time.sleep(1)
            yield running
        finally:
            if os.environ.get("INTAKE_KEEP_PROD_LOG"):
                Path(os.environ["INTAKE_KEEP_PROD_LOG"]).write_text(running.log_text())
            stop_group(process, 90)


def test_every_process_is_healthy_and_ready(production):
    for port in (production.ports["rasa"], production.ports["rasa"] + 1):
        ready = requests.get(f"http://127.0.0.1:{port}/webhooks/health/ready", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"model": "ok", "database": "ok", "lock_store": "ok"}  # Redis answers
    for port in (production.ports["actions"], production.ports["actions"] + 1):
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    assert requests.get(production.url("lb", "/nginx/health"), timeout=10).status_code == 200
    assert requests.get(production.url("lb", "/webhooks/health/ready"), timeout=10).status_code == 200
    assert requests.get(production.url("web", "/healthz"), timeout=10).status_code == 200
    deadline = time.monotonic() + 60
    while requests.get(production.url("scheduler", "/healthz"), timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the scheduler never ticked"
        time.sleep(2)


def intake_through_the_balancer(production, sender):
    client = RestClient(production.url("lb", "/webhooks/rest/webhook"))
    seen, replies = run_intake(client, sender, dict(SWEDISH_ANSWERS, name="Amina Testdotter"), first="hej hej")
    assert seen and seen[-1] == "booking_session", (seen, texts(replies), production.log_text()[-3000:])
    session = [b for b in buttons(replies) if b["payload"].startswith("/choose")][0]
    return client.send(sender, session["payload"])


def referrals(production):
    out = subprocess.run([INTAKE, "referrals", "export", "--format", "json"], env=production.env, cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_a_whole_intake_through_the_balancer_makes_one_referral_in_postgresql(production):
    before = len(referrals(production))
    booked = intake_through_the_balancer(production, "prod-e2e-1")
    assert "Du är bokad" in texts(booked)
    rows = referrals(production)
    assert len(rows) == before + 1 and rows[-1]["booking"]["status"] == "booked"


def test_with_one_rasa_instance_killed_the_other_answers_and_it_comes_back(production):
    first = production.ports["rasa"]
    pid = int(subprocess.run(["pgrep", "-f", f"bot.rasa_server run .*--port {first} "], capture_output=True,
                             text=True, check=True).stdout.split()[0])
    os.kill(pid, signal.SIGKILL)
    while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower():
        time.sleep(0.05)  # a request in the instant it dies is lost to it: the gateway's retry covers that
    url = production.url("lb", "/webhooks/rest/webhook")
    retried = 0
    for i in range(6):  # nginx sends them to the living instance
        for attempt in range(5):
            reply = requests.post(url, json={"sender": f"prod-e2e-kill-{i}", "message": "hej hej"}, timeout=60)
            if reply.status_code == 200:
                break
            # a request that reached the dying instance is not sent twice by nginx (a POST):
            # the gateway sends it again, as Telegram and the SMS gateways do on a 5xx
            assert reply.status_code in (502, 503), reply.status_code
            retried += 1
            time.sleep(1)
        assert reply.status_code == 200 and reply.json(), i
    assert retried <= 3, retried  # nginx stops trying the dead instance after one failure (max_fails=1)
    deadline = time.monotonic() + 30
    while "rasa 1 stopped; starting it again" not in production.log_text():
        assert time.monotonic() < deadline, production.log_text()[-2000:]
        time.sleep(1)


def test_logs_are_json_lines_without_what_participants_wrote(production):
    lines = [line for line in production.log_text().splitlines() if line.startswith("{")]
    services = {json.loads(line).get("service") for line in lines}
    assert {"rasa-1", "rasa-2", "actions-1", "actions-2", "web", "scheduler"} <= services, services
    assert "Amina" not in production.log_text()
