"""Configuration read from the environment, at call time (never at import time)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _data_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("INTAKE_DATA_DIR") or PROJECT_ROOT / "var")


def _load_or_create_dev_secret(path: Path) -> bytes:
    """A per-installation secret for local runs; production sets INTAKE_SECRET."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value.encode()


@dataclass(frozen=True)
class Config:
    """Settings of one process. Build it with :meth:`from_env`."""

    database_url: str
    data_dir: Path
    program_file: Path
    locales_dir: Path
    timezone: str = "Europe/Stockholm"
    phone_region: str = "SE"
    production: bool = False
    _secret: Optional[bytes] = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Config":
        env = os.environ if env is None else env
        data_dir = _data_dir(env)
        url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'intake.db'}"
        secret = env.get("INTAKE_SECRET")
        return cls(
            database_url=url,
            data_dir=data_dir,
            program_file=Path(env.get("INTAKE_PROGRAM_FILE") or PROJECT_ROOT / "program.yml"),
            locales_dir=Path(env.get("INTAKE_LOCALES_DIR") or PROJECT_ROOT / "locales"),
            timezone=env.get("INTAKE_TIMEZONE", "Europe/Stockholm"),
            phone_region=env.get("INTAKE_PHONE_REGION", "SE"),
            production=env.get("INTAKE_ENV", "development") == "production",
            _secret=secret.encode() if secret else None,
        )

    @property
    def secret(self) -> bytes:
        """The key for participant pseudonyms. Required in production."""
        if self._secret:
            return self._secret
        if self.production:
            raise RuntimeError("INTAKE_SECRET must be set when INTAKE_ENV=production")
        return _load_or_create_dev_secret(self.data_dir / "secret.key")
