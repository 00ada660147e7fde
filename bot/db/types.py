"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy.types import DateTime, Text, TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes, stored as UTC; SQLite gets them back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class EncryptedText(TypeDecorator):
    """Text stored as a Fernet token (:mod:`bot.crypto`); reads give the plaintext back.

    A database dump, a backup or a look at the table shows no answer. Tokens differ each time,
    so these columns cannot be searched or compared in SQL: nothing needs to.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        from bot.crypto import keyring

        return keyring().encrypt(str(value))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from bot.crypto import keyring

        return keyring().decrypt(value)


class EncryptedJSON(TypeDecorator):
    """A JSON value (a number, a list, a mapping) stored encrypted like :class:`EncryptedText`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        from bot.crypto import keyring

        return keyring().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from bot.crypto import keyring

        return json.loads(keyring().decrypt(value))
