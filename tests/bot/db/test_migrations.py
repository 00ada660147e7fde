"""The Alembic migrations build exactly the schema of the models, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.db import Database
from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, current_revision, downgrade, upgrade
from bot.db.models import (
    Activity,
    ActivitySession,
    Base,
    Booking,
    Participant,
    Referral,
)

MODEL_TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_one_head_revision():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads


def test_upgrade_on_empty_sqlite_creates_every_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current_revision(url) is None
    assert _tables(url) == set()
    upgrade(url)
    assert _tables(url) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(url) == _head()


def test_downgrade_to_base_and_upgrade_again(database_url):
    # the fixture's database is migrated to head
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}
    downgrade(database_url, "base")
    assert _tables(database_url) & MODEL_TABLES == set()
    assert current_revision(database_url) is None
    # upgrade on the now empty database makes every table again
    upgrade(database_url)
    assert _tables(database_url) == MODEL_TABLES | {"alembic_version"}
    assert current_revision(database_url) == _head()


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_sqlite_engine_enforces_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'fk.db'}"
    upgrade(url)
    database = Database(url)
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        database.dispose()


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(Referral(participant_id=424242, intake_key="orphan", language="sv",
                                 channel="rest", priority=3))


def _session_and_referral(db, capacity=2, seats_booked=0):
    with db.transaction() as session:
        activity = Activity(code="a", name="n", provider="p", municipality="m")
        participant = Participant(pseudonym="p" * 64, channel="rest", language="sv")
        session.add_all([activity, participant])
        session.flush()
        row = ActivitySession(activity_id=activity.id, starts_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                              place="x", address="y", capacity=capacity, seats_booked=seats_booked)
        referral = Referral(participant_id=participant.id, intake_key="k", language="sv", channel="rest",
                            priority=3)
        session.add_all([row, referral])
        session.flush()
        return row.id, referral.id


def test_one_active_booking_per_referral_is_enforced(db):
    session_id, referral_id = _session_and_referral(db)
    with db.transaction() as session:
        session.add(Booking(referral_id=referral_id, session_id=session_id, status="cancelled"))
        session.add(Booking(referral_id=referral_id, session_id=session_id, status="cancelled"))
        session.add(Booking(referral_id=referral_id, session_id=session_id, status="booked"))
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(Booking(referral_id=referral_id, session_id=session_id, status="waitlisted"))


def test_seats_cannot_exceed_capacity(db):
    session_id, _ = _session_and_referral(db, capacity=2, seats_booked=2)
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            row = session.get(ActivitySession, session_id)
            row.seats_booked = 3


def test_utc_datetime_round_trips_aware_datetimes(db):
    stockholm = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Stockholm"))
    plus_five = datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    with db.transaction() as session:
        a = Activity(code="a", name="n", provider="p", municipality="m", created_at=stockholm)
        b = Activity(code="b", name="n", provider="p", municipality="m", created_at=plus_five)
        session.add_all([a, b])
    with db.transaction() as session:
        rows = {r.code: r.created_at for r in session.execute(select(Activity)).scalars()}
    for code, original in (("a", stockholm), ("b", plus_five)):
        loaded = rows[code]
        assert loaded.tzinfo is not None
        assert loaded.utcoffset() == timedelta(0)
        assert loaded == original  # the same instant, to the microsecond
        assert loaded.replace(tzinfo=None) == original.astimezone(timezone.utc).replace(tzinfo=None)


def test_utc_datetime_filters_compare_instants(db):
    when = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    with db.transaction() as session:
        session.add(Activity(code="a", name="n", provider="p", municipality="m", created_at=when))
    with db.transaction() as session:
        after = select(Activity.id).where(Activity.created_at > when - timedelta(seconds=1))
        before = select(Activity.id).where(Activity.created_at > when + timedelta(seconds=1))
        assert len(session.execute(after).all()) == 1
        assert session.execute(before).all() == []


def test_utc_datetime_rejects_naive_datetimes(db):
    with pytest.raises((ValueError, StatementError), match="naive"):
        with db.transaction() as session:
            session.add(Participant(pseudonym="x" * 64, channel="rest", language="sv",
                                    created_at=datetime(2026, 1, 1, 12, 0)))
    with db.transaction() as session:
        assert session.execute(select(Participant)).all() == []
