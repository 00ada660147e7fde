"""Shared fixtures: a migrated database on SQLite and, when reachable, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from bot.db import Database
from bot.db.migrate import upgrade

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
PROJECT_ROOT = Path(__file__).resolve().parent.parent

_pg_reason = None

# One encryption key for the whole test session (bot.crypto), also handed to the servers the
# end-to-end tests start, so that the tests can read what those servers encrypted.
os.environ.setdefault("INTAKE_ENCRYPTION_KEYS", "M2Zlc3Qta2V5LWZvci10aGUtaW50YWtlLXRlc3RzLTM=")


def postgres_available() -> bool:
    global _pg_reason
    try:
        engine = create_engine(PG_ADMIN_URL, future=True)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        _pg_reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
        return False


def pytest_report_header(config):
    if postgres_available():
        return f"PostgreSQL: {PG_ADMIN_URL} (tests run against it)"
    return f"PostgreSQL: SKIPPED, {_pg_reason}"


def _pg_database() -> Iterator[str]:
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty, migrated database: SQLite in a temp dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'intake.db'}"
        upgrade(url)
        yield url
        return
    if not postgres_available():
        pytest.skip(_pg_reason)
    for url in _pg_database():
        upgrade(url)
        yield url


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def env(tmp_path, monkeypatch, database_url):
    """Process environment for code that reads Config.from_env()."""
    from bot.db import reset_databases

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("INTAKE_SECRET", "test-secret")
    reset_databases()
    yield
    reset_databases()
