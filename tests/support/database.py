"""Reading the raw database, as an attacker with a backup would: every table, every column."""

from __future__ import annotations

from typing import Iterable, List

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine


def raw_dump(engine: Engine) -> str:
    """Every value of every table as text, without our column types (no decryption)."""
    parts: List[str] = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(f"{table}: " + " | ".join("" if v is None else str(v) for v in row))
    return "\n".join(parts)


def found_in(dump: str, secrets: Iterable[str]) -> List[str]:
    """The secrets that occur in the dump (case-insensitive)."""
    lowered = dump.casefold()
    return [s for s in secrets if s and s.casefold() in lowered]
