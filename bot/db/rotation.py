"""Re-encrypt every encrypted value with the first configured key (``intake keys rotate``)."""

from __future__ import annotations

from typing import Dict, Iterator, Tuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.crypto import Keyring
from bot.db.models import Base
from bot.db.types import EncryptedJSON, EncryptedText

BATCH = 500


def encrypted_columns() -> Iterator[Tuple[str, str, str]]:
    """(table, primary key column, encrypted column) of every encrypted column of the schema."""
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            continue
        for column in table.columns:
            if isinstance(column.type, (EncryptedText, EncryptedJSON)):
                yield table.name, keys[0].name, column.name


def rotate_keys(session: Session, ring: Keyring) -> Dict[str, int]:
    """Rotate in batches; returns how many values of each ``table.column`` were re-encrypted.

    Values already under the first key are left alone, so an interrupted run can simply be
    run again.
    """
    counts: Dict[str, int] = {}
    for table, key, column in encrypted_columns():
        done, last = 0, None
        while True:
            where = f"{column} IS NOT NULL" + (f" AND {key} > :last" if last is not None else "")
            rows = session.execute(
                text(f"SELECT {key}, {column} FROM {table} WHERE {where} ORDER BY {key} LIMIT {BATCH}"),
                {"last": last} if last is not None else {},
            ).fetchall()
            if not rows:
                break
            for row_key, token in rows:
                if not ring.encrypted_with_primary(token):
                    session.execute(
                        text(f"UPDATE {table} SET {column} = :token WHERE {key} = :key"),
                        {"token": ring.rotate(token), "key": row_key},
                    )
                    done += 1
            last = rows[-1][0]
        counts[f"{table}.{column}"] = done
    return counts
