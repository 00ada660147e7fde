"""Engines and sessions. Nothing here connects until a caller asks for a session."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, Optional, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config

T = TypeVar("T")


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and writer serialisation."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            future=True,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, future=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver glue
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - driver glue
        # Take the write lock up front: concurrent writers wait instead of failing half-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on error, always closes."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


_databases: Dict[str, Database] = {}
_lock = threading.Lock()


def get_database(config: Optional[Config] = None) -> Database:
    """The process-wide :class:`Database` for the configured URL, created on first use."""
    url = (config or Config.from_env()).database_url
    with _lock:
        database = _databases.get(url)
        if database is None:
            database = _databases[url] = Database(url)
        return database


def reset_databases() -> None:
    """Dispose of every cached engine (tests, forks)."""
    with _lock:
        for database in _databases.values():
            database.dispose()
        _databases.clear()


async def in_worker_transaction(work: Callable[..., T], *args: Any) -> T:
    """Run ``work(session, *args)`` as one unit of work in a worker thread.

    The database drivers are synchronous: running them in a thread keeps an async server's event
    loop (the action server, Rasa's channels) free for other participants. The configuration is
    read from the environment at call time.
    """

    def unit() -> T:
        with get_database(Config.from_env()).transaction() as session:
            return work(session, *args)

    return await asyncio.to_thread(unit)
