"""Encryption at rest: Fernet keys from the environment, rotation over the whole database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.config import Config
from bot.crypto import (
    InvalidToken,
    Keyring,
    KeyringError,
    configured_keys,
    generate_key,
    keyring,
    parse_keys,
)
from bot.db.models import Participant, ScreeningAnswer
from bot.db.rotation import encrypted_columns, rotate_keys
from bot.intake.participants import get_or_create_participant


def test_the_first_key_encrypts_and_every_key_decrypts():
    old, new = generate_key(), generate_key()
    token = Keyring([old]).encrypt("Amina")
    both = Keyring([new, old])
    assert both.decrypt(token) == "Amina"
    rotated = both.rotate(token)
    assert Keyring([new]).decrypt(rotated) == "Amina"
    with pytest.raises(InvalidToken):
        Keyring([old]).decrypt(rotated)
    assert "Amina" not in token and both.encrypted_with_primary(rotated) and not both.encrypted_with_primary(token)


def test_keys_come_from_the_environment_and_bad_ones_are_refused(tmp_path):
    key = generate_key()
    config = Config.from_env({"INTAKE_DATA_DIR": str(tmp_path)})
    assert configured_keys(config, {"INTAKE_ENCRYPTION_KEYS": f" {key} , {generate_key()}"})[0] == key
    with pytest.raises(KeyringError):
        parse_keys("not-a-key")


def test_production_requires_keys_and_development_makes_a_private_key_file(tmp_path):
    production = Config.from_env({"INTAKE_ENV": "production", "INTAKE_DATA_DIR": str(tmp_path)})
    with pytest.raises(KeyringError):
        configured_keys(production, {})
    development = Config.from_env({"INTAKE_DATA_DIR": str(tmp_path)})
    first = configured_keys(development, {})
    assert first == configured_keys(development, {})  # made once, then read
    assert (tmp_path / "encryption.key").stat().st_mode & 0o077 == 0


def test_every_sensitive_column_is_encrypted():
    columns = {f"{t}.{c}" for t, _k, c in encrypted_columns()}
    for expected in ("screening_answers.value", "screening_answers.free_text", "participants.display_name",
                     "participants.phone_e164", "referrals.phq4_score", "referrals.phq4_band",
                     "referral_transcripts.messages", "handoff_messages.text", "tracker_events.data",
                     "outbound_messages.recipient", "outbound_messages.body", "inbound_messages.response"):
        assert expected in columns, expected


def test_rotation_re_encrypts_every_value_with_the_new_key(db, monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", old)
    with db.transaction() as session:
        participant = get_or_create_participant(session, "p" * 64, "rest", "sv")
        participant.display_name = "Amina Hassan"
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", f"{new},{old}")
    with db.transaction() as session:
        counts = rotate_keys(session, keyring())
        assert counts["participants.display_name"] == 1
        assert rotate_keys(session, keyring())["participants.display_name"] == 0  # nothing left to do
    monkeypatch.setenv("INTAKE_ENCRYPTION_KEYS", new)  # the old key is gone: everything still reads
    with db.transaction() as session:
        assert session.query(Participant).one().display_name == "Amina Hassan"
        raw = session.execute(text("SELECT display_name FROM participants")).scalar_one()
        assert "Amina" not in raw
        assert session.query(ScreeningAnswer).count() == 0
