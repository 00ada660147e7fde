"""Encryption at rest of health answers and free text: Fernet, with keys from the environment.

``INTAKE_ENCRYPTION_KEYS`` holds one or more Fernet keys separated by commas. The first key
encrypts; every key decrypts (:class:`cryptography.fernet.MultiFernet`). To rotate: put a new key
first, run ``intake keys rotate`` (every encrypted value is re-encrypted with it), then remove the
old key. Without the variable, a development installation makes a key file in its data directory;
production (``INTAKE_ENV=production``) refuses to start without it.

Keys are read when a value is first encrypted or decrypted, never at import.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import Config

__all__ = ["InvalidToken", "Keyring", "KeyringError", "generate_key", "keyring", "parse_keys"]


class KeyringError(RuntimeError):
    pass


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> List[str]:
    keys = [k.strip() for k in value.replace("\n", ",").split(",") if k.strip()]
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError) as exc:
            raise KeyringError("INTAKE_ENCRYPTION_KEYS holds a value that is not a Fernet key") from exc
    return keys


class Keyring:
    """The keys of one installation: the first encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyringError("no encryption key")
        self.keys: Tuple[str, ...] = tuple(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._primary = Fernet(keys[0])

    def encrypt(self, plaintext: str) -> str:
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted with the first key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def encrypted_with_primary(self, token: str) -> bool:
        try:
            self._primary.decrypt(token.encode("ascii"))
            return True
        except InvalidToken:
            return False


_cache: Dict[Tuple[str, str, bool], Keyring] = {}
_lock = threading.Lock()


def _dev_key(path: Path) -> str:
    """A development installation's key, made once, readable only by its owner."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def configured_keys(config: Config, env: Optional[Dict[str, str]] = None) -> List[str]:
    env = os.environ if env is None else env
    value = env.get("INTAKE_ENCRYPTION_KEYS", "")
    if value.strip():
        return parse_keys(value)
    if config.production:
        raise KeyringError("INTAKE_ENCRYPTION_KEYS must be set when INTAKE_ENV=production")
    return [_dev_key(config.data_dir / "encryption.key")]


def keyring(config: Optional[Config] = None) -> Keyring:
    """The keyring configured now: read from the environment, cached while it is unchanged."""
    config = config or Config.from_env()
    cache_key = (os.environ.get("INTAKE_ENCRYPTION_KEYS", ""), str(config.data_dir), config.production)
    with _lock:
        ring = _cache.get(cache_key)
        if ring is None:
            ring = _cache[cache_key] = Keyring(configured_keys(config))
        return ring
