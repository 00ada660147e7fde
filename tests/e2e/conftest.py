"""Start the real Rasa and action servers once for the end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest
from sqlalchemy import create_engine, text

from bot.simulate import RestClient, buttons, texts  # noqa: F401 - re-exported for the tests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODEL = PROJECT_ROOT / "models" / "intake.tar.gz"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    def __init__(self, rasa_port: int, env: Dict[str, str]) -> None:
        self.client = RestClient(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook")
        self.env = env

    def send(self, sender: str, message: str, metadata: Dict = None) -> List[Dict]:
        return self.client.send(sender, message, metadata)

    def intake(self, *args: str) -> str:
        result = subprocess.run([str(Path(sys.executable).parent / "intake"), *args], env=self.env,
                                capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run 'make model' (make test does it)")
    data_dir = tmp_path_factory.mktemp("e2e")
    rasa_port, actions_port = free_port(), free_port()
    env = dict(os.environ)
    env.update({
        "INTAKE_DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'intake.db'}",
        "INTAKE_SECRET": "e2e-secret",
    })
    intake = str(Path(sys.executable).parent / "intake")
    subprocess.run([intake, "db", "upgrade"], env=env, check=True, cwd=PROJECT_ROOT, capture_output=True)
    subprocess.run([intake, "demo", "load"], env=env, check=True, cwd=PROJECT_ROOT, capture_output=True)
    # many test participants book: room for all, but keep the demo's one-seat session for the waiting list
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text("UPDATE activity_sessions SET capacity = 200 WHERE capacity > 1"))
    engine.dispose()
    log = open(data_dir / "servers.log", "w")
    process = subprocess.Popen(
        [intake, "run", "--rasa-port", str(rasa_port), "--actions-port", str(actions_port), "--model", str(MODEL)],
        env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail("servers exited: " + (data_dir / "servers.log").read_text()[-3000:])
            if "is running" in (data_dir / "servers.log").read_text(errors="replace"):
                break
            time.sleep(1)
        else:
            pytest.fail("servers did not start in 240 s")
        yield Servers(rasa_port, env)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


