"""Benchmark what one whole SMS intake costs: segments sent per language, over both gateways.

Usage: .venv/bin/python benchmarks/sms_cost.py [--model models/intake.tar.gz] [--price 0.52]

Starts the real Rasa and action servers with the 46elks and Twilio channels pointed at local
stand-ins of the gateways' APIs (tests/support/gateways.py), then, in each language, a
participant does the whole short intake and books a session by SMS: a first message in their
language, then the numbers of the options, a name and an age. Every SMS the assistant sends is
counted in segments as the gateway bills them (GSM-7: 160, or 153 per part; UCS-2: 70, or 67 per
part). Prints a Markdown table; the target is at most 12 segments in every language.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.channels.sms_text import count_segments  # noqa: E402
from bot.simulate import run_intake, texts  # noqa: E402
from tests.support.clients import SmsClient, sms_answers  # noqa: E402
from tests.support.gateways import ElksApi, TwilioApi  # noqa: E402

BIN = Path(sys.executable).parent
TARGET = 12
FIRST = {  # a participant's first SMS, in their language
    "sv": "Hej, jag vill anmäla mig",
    "en": "Hello, I want to sign up",
    "ar": "مرحبا، أريد التسجيل في النشاط",
    "so": "Salaan, waxaan rabaa inaan is diiwaangeliyo",
    "ti": "ሰላም ከመይ ኣለኹም ክምዝገብ እደሊ",
    "fa": "سلام، می خواهم ثبت نام کنم",
    "uk": "Привіт, я хочу зареєструватися",
    "ckb": "سڵاو، دەمەوێت ناو تۆمار بکەم",
    "kmr": "Silav, ez dixwazim xwe tomar bikim",
}
WEBHOOK_PASSWORD = "bench-elks"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "intake.tar.gz"))
    parser.add_argument("--price", type=float, default=0.52, help="price of one segment (SEK; 46elks, Sweden)")
    parser.add_argument("--show", action="append", default=[], help="print every SMS sent in this language")
    args = parser.parse_args()

    elks, twilio = ElksApi().start(), TwilioApi().start()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rasa_port, actions_port = free_port(), free_port()
        env = dict(os.environ, INTAKE_DATA_DIR=str(workdir / "var"), INTAKE_SECRET="bench",
                   DATABASE_URL=f"sqlite:///{workdir / 'intake.db'}",
                   ELKS_API_USERNAME=elks.username, ELKS_API_PASSWORD=elks.password, ELKS_SENDER="+46766861004",
                   ELKS_WEBHOOK_PASSWORD=WEBHOOK_PASSWORD, ELKS_API_BASE=elks.root_url,
                   TWILIO_ACCOUNT_SID=twilio.account_sid, TWILIO_AUTH_TOKEN=twilio.auth_token,
                   TWILIO_SENDER="+46766861005", TWILIO_API_BASE=twilio.root_url)
        for command in (["db", "upgrade"], ["demo", "load"]):
            subprocess.run([str(BIN / "intake"), *command], env=env, cwd=ROOT, check=True, capture_output=True)
        # room for every participant, so that each books the first time offered
        engine = create_engine(env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text("UPDATE activity_sessions SET capacity = 1000"))
        engine.dispose()
        log = open(workdir / "servers.log", "w")
        server = subprocess.Popen([str(BIN / "intake"), "run", "--rasa-port", str(rasa_port), "--actions-port",
                                   str(actions_port), "--web-port", "0", "--model", args.model], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while "is running" not in (workdir / "servers.log").read_text(errors="replace"):
                if server.poll() is not None or time.monotonic() > deadline:
                    print((workdir / "servers.log").read_text()[-3000:], file=sys.stderr)
                    return 1
                time.sleep(1)
            webhook = f"http://127.0.0.1:{rasa_port}/webhooks/{{}}/webhook"
            clients = {
                "46elks": SmsClient("46elks", webhook.format("46elks"), elks, webhook_password=WEBHOOK_PASSWORD),
                "twilio": SmsClient("twilio", webhook.format("twilio"), twilio, auth_token=twilio.auth_token),
            }
            rows = []
            worst = 0
            for i, language in enumerate(FIRST):
                row = {"language": language}
                for g, (gateway, client) in enumerate(clients.items()):
                    phone = f"+467{30000000 + i * 100 + g}"
                    asked, replies = run_intake(client, phone, sms_answers(language), first=FIRST[language],
                                                language=language, sms=True)
                    if not asked or asked[-1] != "booking_session":
                        print(f"{language}/{gateway}: the intake did not reach the booking: {asked}\n{texts(replies)}",
                              file=sys.stderr)
                        return 1
                    client.send(phone, "1")  # the first session
                    received = client.received(phone)
                    segments = client.segments(phone)
                    assert segments == sum(count_segments(m).parts for m in received)
                    if language in args.show and gateway == "46elks":
                        for message in received:
                            found = count_segments(message)
                            print(f"--- {found.parts} x {found.encoding} ({len(message)} chars)\n{message}",
                                  file=sys.stderr)
                    row[gateway] = segments
                    row["messages"] = len(received)
                    row["characters"] = sum(len(m) for m in received)
                    row["encoding"] = count_segments("".join(received)).encoding
                    worst = max(worst, segments)
                rows.append(row)
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            elks.stop()
            twilio.stop()

    print("| language | encoding | SMS sent | characters | segments (46elks) | segments (Twilio) | cost (SEK) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['language']} | {row['encoding']} | {row['messages']} | {row['characters']} | {row['46elks']} "
              f"| {row['twilio']} | {row['46elks'] * args.price:.2f} |")
    print(f"\nOne whole SMS intake with booking; target at most {TARGET} segments in every language. "
          f"Most segments: {worst} ({'met' if worst <= TARGET else 'NOT met'}). Price {args.price} SEK per segment.")
    return 0 if worst <= TARGET else 2


if __name__ == "__main__":
    sys.exit(main())
