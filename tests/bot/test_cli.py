"""The ``intake`` command line, against the real test databases."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.intake.referrals import EXPORT_COLUMNS
from bot.db import Database
from bot.db.migrate import alembic_config, current_revision, downgrade
from bot.db.models import Activity, ActivitySession, Base, Referral
from bot.intake.booking import book_seat
from bot.intake.participants import get_or_create_participant, pseudonym
from bot.intake.program import load_program
from bot.intake.referrals import submit_referral
from tests.conftest import PROJECT_ROOT

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def command_paths(group: click.Group, prefix=()):
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, prefix + (name,)))
        else:
            paths.append(prefix + (name,))
    return paths


COMMANDS = command_paths(main)


def run(*args, expect=0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


@pytest.fixture
def database(env, database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def count_sessions(database) -> int:
    with database.transaction() as session:
        return session.execute(select(func.count(ActivitySession.id))).scalar_one()


def future_local(days: int, hour: int = 10) -> datetime:
    day = datetime.now(STOCKHOLM).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=STOCKHOLM)


# -- help -----------------------------------------------------------------------------------

def test_the_command_tree_is_walked():
    names = {" ".join(p) for p in COMMANDS}
    assert {"", "db", "db upgrade", "demo load", "sessions add", "referrals export", "run"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "intake" for p in COMMANDS])
def test_help_works_for_every_command(path, tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for flag in ("--help", "-h"):
        result = run(*path, flag)
        assert "Usage:" in result.output
    assert not list(tmp_path.iterdir())  # asking for help touches no database


# -- database -------------------------------------------------------------------------------

def test_db_upgrade(env, database_url):
    downgrade(database_url, "base")
    assert run("db", "current").output.strip() == "empty"
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head is not None and head >= "0002"
    result = run("db", "upgrade")
    assert result.output.strip() == f"database at revision {head}"
    assert current_revision(database_url) == head
    assert run("db", "current").output.strip() == head
    # a second upgrade changes nothing
    assert run("db", "upgrade").output.strip() == f"database at revision {head}"


def test_db_upgrade_with_database_url_option(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    url = f"sqlite:///{tmp_path / 'other.db'}"
    run("--database-url", url, "db", "upgrade")
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            from sqlalchemy import inspect

            assert set(Base.metadata.tables) <= set(inspect(conn).get_table_names())
    finally:
        database.dispose()


# -- demo data and sessions -----------------------------------------------------------------

def test_demo_load(database):
    result = run("demo", "load")
    assert result.output.splitlines()[0] == "added 4 demo sessions"
    program = load_program(PROJECT_ROOT / "program.yml")
    now = datetime.now(STOCKHOLM)
    with database.transaction() as session:
        activity = session.execute(select(Activity)).scalar_one()
        assert activity.code == program.activity["code"]
        rows = session.execute(select(ActivitySession).order_by(ActivitySession.starts_at)).scalars().all()
        assert [s.capacity for s in rows] == [8, 8, 1, 8]
        for row in rows:
            local = row.starts_at.astimezone(STOCKHOLM)
            assert local > now
            assert local.weekday() < 5
            assert (local.hour, local.minute) == (10, 0)
            assert row.seats_booked == 0
        assert len({s.starts_at.date() for s in rows}) == 4


def test_demo_load_makes_a_staff_account_for_the_tablet_once(database, tmp_path):
    from bot.web.users import authenticate

    assert "created the staff account 'demo'" in run("demo", "load").output
    secret_file = tmp_path / "var" / "demo-account.txt"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    blocks = [dict(line.split(": ", 1) for line in block.splitlines()) for block in secret_file.read_text().split("\n\n")]
    assert [(b["username"], b["role"]) for b in blocks] == [("demo", "ngo_staff"), ("demo-caseworker", "caseworker")]
    with database.transaction() as session:
        for block in blocks:
            assert authenticate(session, block["username"], block["password"]).role == block["role"]
    assert "staff account" not in run("demo", "load").output  # not again once there is an account


def test_demo_load_makes_no_account_in_production(database, monkeypatch):
    monkeypatch.setenv("INTAKE_ENV", "production")
    assert "staff account" not in run("demo", "load").output
    with database.transaction() as session:
        from bot.db.models import StaffUser

        assert session.execute(select(func.count(StaffUser.id))).scalar_one() == 0


def test_demo_load_if_empty_adds_once(database):
    assert run("demo", "load", "--if-empty").output.splitlines()[0] == "added 4 demo sessions"
    second = run("demo", "load", "--if-empty")
    assert "nothing added" in second.output
    assert count_sessions(database) == 4
    with database.transaction() as session:
        assert session.execute(select(func.count(Activity.id))).scalar_one() == 1
    # without --if-empty it adds four more, for the same activity
    run("demo", "load")
    assert count_sessions(database) == 8
    with database.transaction() as session:
        assert session.execute(select(func.count(Activity.id))).scalar_one() == 1


def test_sessions_add_and_list(database):
    run("activities", "add", "--code", "steg", "--name", "Steg ett", "--provider", "Vägen In",
        "--municipality", "Värmdö")
    start = future_local(days=10)
    result = run("sessions", "add", "--start", start.strftime("%Y-%m-%d %H:%M"), "--place", "Träffpunkten",
                 "--address", "Odelbergs väg 11", "--capacity", "5", "--minutes", "60")
    assert result.output.startswith("session ")
    assert f"{start:%Y-%m-%d %H:%M} Träffpunkten (5 seats)" in result.output
    with database.transaction() as session:
        row = session.execute(select(ActivitySession)).scalar_one()
        assert row.starts_at == start  # local time, stored as the same instant
        assert row.ends_at - row.starts_at == timedelta(minutes=60)
        assert (row.capacity, row.place, row.address) == (5, "Träffpunkten", "Odelbergs väg 11")
        session_id = row.id

    listing = run("sessions", "list").output.splitlines()
    assert listing[0] == "id\tstart\tplace\tcapacity\tbooked\tfree\twaitlisted"
    assert listing[1] == f"{session_id}\t{start:%Y-%m-%d %H:%M}\tTräffpunkten\t5\t0\t5\t0"
    assert len(listing) == 2


def test_sessions_list_hides_past_sessions_unless_all(database):
    run("activities", "add", "--code", "steg", "--name", "n", "--provider", "p", "--municipality", "m")
    past = future_local(days=-3)
    run("sessions", "add", "--start", past.isoformat(), "--place", "Förr", "--address", "a", "--capacity", "1")
    assert "Förr" not in run("sessions", "list").output
    assert "Förr" in run("sessions", "list", "--all").output


@pytest.mark.parametrize("start", ["tomorrow", "2026-13-01 10:00", "1/12 10:00", ""])
def test_sessions_add_with_a_bad_start_is_a_usage_error(database, start):
    run("activities", "add", "--code", "steg", "--name", "n", "--provider", "p", "--municipality", "m")
    result = run("sessions", "add", "--start", start, "--place", "x", "--address", "y", "--capacity", "3",
                 expect=2)
    assert "--start" in result.output
    assert "not a date and time" in result.output
    assert "Traceback" not in result.output
    assert count_sessions(database) == 0


def test_sessions_add_needs_an_activity(database):
    result = run("sessions", "add", "--start", future_local(2).isoformat(), "--place", "x", "--address", "y",
                 "--capacity", "3", expect=1)
    assert "no activity" in result.output
    assert count_sessions(database) == 0


def test_sessions_add_refuses_a_negative_capacity(database):
    run("activities", "add", "--code", "steg", "--name", "n", "--provider", "p", "--municipality", "m")
    run("sessions", "add", "--start", future_local(2).isoformat(), "--place", "x", "--address", "y",
        "--capacity", "-1", expect=2)
    assert count_sessions(database) == 0


# -- referrals ------------------------------------------------------------------------------

SLOTS = {
    "consent_data": "yes",
    "consent_health": "yes",
    "name": "Amina Hassan",
    "phone": "+46701234567",
    "municipality": "varmdo",
    "age_band": "25_34",
    "swedish_level": "basic",
    "support": "other",
    "housing": "own_contract",
    "phq_1": "2",
    "phq_2": "2",
    "phq_3": "1",
    "phq_4": "1",
    "goals": "Jobba i kök",
    "interpreter": "no",
}


@pytest.fixture
def referrals(database):
    """Two referrals made by the intake functions: an urgent one without a booking, one booked."""
    program = load_program(PROJECT_ROOT / "program.yml")
    start = future_local(days=5)
    with database.transaction() as session:
        activity = Activity(code="steg", name="Steg ett", provider="Vägen In", municipality="Värmdö")
        session.add(activity)
        session.flush()
        seat = ActivitySession(activity_id=activity.id, starts_at=start, place="Träffpunkten", address="Väg 1",
                               capacity=2)
        session.add(seat)
        session.flush()
        ids = {}
        for sender, key, slots in (
            ("booked", "intake-booked", SLOTS),
            ("urgent", "intake-urgent", {**SLOTS, "housing": "homeless", "name": "Omar", "phone": "+46707654321"}),
        ):
            participant = get_or_create_participant(session, pseudonym(b"test-secret", "telegram", sender),
                                                    "telegram", "sv")
            result = submit_referral(session, participant=participant, intake_key=key, language="sv",
                                     channel="telegram", slots=slots, free_texts={"support": "Från kyrkan"},
                                     program=program)
            ids[sender] = result.referral.id
        assert book_seat(session, ids["booked"], seat.id).outcome == "booked"
    return {**ids, "start": start}


def test_referrals_list(referrals):
    lines = run("referrals", "list").output.splitlines()
    assert lines[0].split("\t") == ["id", "created", "status", "urgent", "priority", "language", "channel",
                                    "screening", "barriers", "booking", "undelivered"]
    rows = [line.split("\t") for line in lines[1:]]
    assert [int(r[0]) for r in rows] == [referrals["urgent"], referrals["booked"]]  # urgent first
    urgent, booked = rows
    assert (urgent[2], urgent[3], urgent[5], urgent[6], urgent[7]) == ("new", "yes", "sv", "telegram", "full")
    assert "HOMELESS" in urgent[8].split(",")
    assert urgent[9] == "-"
    assert urgent[10] == "0"
    assert booked[3] == "no"
    assert booked[9] == f"booked {referrals['start']:%Y-%m-%d %H:%M}"
    # filtering by status
    assert len(run("referrals", "list", "--status", "declined").output.splitlines()) == 1
    run("referrals", "list", "--status", "bogus", expect=2)


def test_referrals_show(referrals):
    shown = json.loads(run("referrals", "show", str(referrals["booked"])).output)
    assert shown["id"] == referrals["booked"]
    assert shown["phq4"] == {"score": 6, "band": "moderate"}
    answers = {a["question"]: a for a in shown["answers"]}
    assert answers["support"] == {"question": "support", "value": "other", "free_text": "Från kyrkan",
                                  "skipped": False}
    assert answers["goals"]["free_text"] == "Jobba i kök"
    assert "name" not in answers and "phone" not in answers
    assert shown["booking"]["status"] == "booked"


def test_referrals_show_unknown(referrals):
    result = run("referrals", "show", "999999", expect=1)
    assert "no referral 999999" in result.output


def test_referrals_export_json(referrals, database):
    output = run("referrals", "export", "--format", "json").output
    rows = json.loads(output)
    assert isinstance(rows, list) and len(rows) == 2
    assert [r["id"] for r in rows] == [referrals["urgent"], referrals["booked"]]
    for row in rows:
        assert set(row) == {"id", "created_at", "language", "channel", "status", "eligible",
                            "eligibility_reasons", "urgent", "priority", "barriers", "assisted_by", "screening",
                            "booking"}
        assert datetime.fromisoformat(row["created_at"]).tzinfo is not None
        assert isinstance(row["barriers"], list)
    urgent, booked = rows
    assert urgent["urgent"] is True and urgent["booking"] is None
    assert booked["booking"]["status"] == "booked"
    assert datetime.fromisoformat(booked["booking"]["session_start"]) == referrals["start"]
    for personal in ("Amina", "Omar", "+4670", "Från kyrkan", "Jobba i kök", "moderate", "phq"):
        assert personal not in output
    # the export is audited
    with database.transaction() as session:
        from bot.db.models import AuditEvent

        event = session.execute(select(AuditEvent).where(AuditEvent.action == "referrals.exported")).scalar_one()
        assert event.details == {"count": 2, "format": "json"}


def test_referrals_export_csv(referrals, tmp_path):
    target = tmp_path / "export.csv"
    run("referrals", "export", "--format", "csv", "--output", str(target))
    text = target.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == EXPORT_COLUMNS
    rows = list(reader)
    assert [int(r["id"]) for r in rows] == [referrals["urgent"], referrals["booked"]]
    urgent, booked = rows
    assert urgent["urgent"] == "True"
    assert "HOMELESS" in urgent["barriers"].split(";")
    assert (urgent["booking_status"], urgent["booking_session_start"]) == ("", "")
    assert booked["booking_status"] == "booked"
    assert datetime.fromisoformat(booked["booking_session_start"]) == referrals["start"]
    assert booked["eligible"] == "True" and booked["eligibility_reasons"] == ""
    for personal in ("Amina", "Omar", "+4670", "Från kyrkan", "Jobba i kök"):
        assert personal not in text


def test_referrals_export_by_status(referrals, database):
    with database.transaction() as session:
        session.get(Referral, referrals["booked"]).status = "contacted"
    rows = json.loads(run("referrals", "export", "--status", "contacted").output)
    assert [r["id"] for r in rows] == [referrals["booked"]]
    assert json.loads(run("referrals", "export", "--status", "started").output) == []
