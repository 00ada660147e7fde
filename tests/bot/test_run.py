"""The supervisor refuses to start production without its secrets, or with a debug log."""

from __future__ import annotations

from bot.config import Config
from bot.crypto import generate_key
from bot.run import preflight


def test_production_needs_the_encryption_keys_and_the_pseudonym_secret(tmp_path):
    env = {"INTAKE_ENV": "production", "INTAKE_DATA_DIR": str(tmp_path)}
    assert "INTAKE_ENCRYPTION_KEYS" in preflight(Config.from_env(env), env, debug=False)
    env["INTAKE_ENCRYPTION_KEYS"] = generate_key()
    assert "INTAKE_SECRET" in preflight(Config.from_env(env), env, debug=False)
    env["INTAKE_SECRET"] = "s" * 40
    assert preflight(Config.from_env(env), env, debug=False) is None
    assert "--debug" in preflight(Config.from_env(env), env, debug=True)


def test_development_starts_with_generated_keys(tmp_path):
    env = {"INTAKE_DATA_DIR": str(tmp_path)}
    assert preflight(Config.from_env(env), env, debug=True) is None
    assert (tmp_path / "encryption.key").exists()
