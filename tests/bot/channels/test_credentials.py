"""bot.channels.credentials: only the channels whose variables are set, secrets left to Rasa."""

from __future__ import annotations

import yaml
from rasa.shared.utils.io import read_config_file

from bot.channels.credentials import render_credentials, write_credentials
from tests.conftest import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "credentials.yml"
TELEGRAM = "bot.channels.telegram.TelegramInput"
ELKS = "bot.channels.elks.ElksInput"
TWILIO = "bot.channels.twilio_sms.TwilioInput"

TELEGRAM_ENV = {"TELEGRAM_BOT_TOKEN": "123456:AAE-secret-token", "TELEGRAM_WEBHOOK_SECRET": "hook-secret-0123"}
ELKS_ENV = {
    "ELKS_API_USERNAME": "u0123456789abcdef",
    "ELKS_API_PASSWORD": "elks-password",
    "ELKS_SENDER": "+46766861004",
    "ELKS_WEBHOOK_PASSWORD": "elks-hook-password",
}
TWILIO_ENV = {"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": "twilio-token", "TWILIO_SENDER": "MG0123"}
SECRETS = [value for env in (TELEGRAM_ENV, ELKS_ENV, TWILIO_ENV) for value in env.values()]


TABLET = "bot.channels.tablet.TabletInput"
HEALTH = "bot.channels.health.HealthInput"
# need no settings: the tablet's key derives from INTAKE_SECRET; health is for load balancers
ALWAYS = ["REST", "Health", "Tablet channel"]


def test_an_empty_environment_starts_only_rest_and_the_tablet_channel():
    kept, on, off = render_credentials(SOURCE, {})
    assert kept == {"rest": None, HEALTH: None, TABLET: None}
    assert on == ALWAYS
    assert off == {
        "Telegram": ["TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"],
        "SMS (46elks)": ["ELKS_API_PASSWORD", "ELKS_API_USERNAME", "ELKS_SENDER", "ELKS_WEBHOOK_PASSWORD"],
        "SMS (Twilio)": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SENDER"],
    }


def test_optional_variables_alone_start_nothing():
    kept, on, _off = render_credentials(SOURCE, {"TELEGRAM_API_BASE": "http://x", "INTAKE_PUBLIC_URL": "https://y"})
    assert on == ALWAYS
    assert list(kept) == ["rest", HEALTH, TABLET]


def test_telegram_on_with_its_variables_and_secrets_left_for_rasa():
    kept, on, off = render_credentials(SOURCE, dict(TELEGRAM_ENV))
    assert on == ALWAYS + ["Telegram"]
    assert set(off) == {"SMS (46elks)", "SMS (Twilio)"}
    assert kept[TELEGRAM] == {
        "token": "${TELEGRAM_BOT_TOKEN}",
        "webhook_secret": "${TELEGRAM_WEBHOOK_SECRET}",
        "api_base": "https://api.telegram.org",
    }
    assert ELKS not in kept and TWILIO not in kept


def test_an_optional_variable_takes_the_environment_value():
    kept, _on, _off = render_credentials(SOURCE, {**TELEGRAM_ENV, "TELEGRAM_API_BASE": "http://127.0.0.1:8081"})
    assert kept[TELEGRAM]["api_base"] == "http://127.0.0.1:8081"
    assert kept[TELEGRAM]["token"] == "${TELEGRAM_BOT_TOKEN}"


def test_a_variable_set_to_the_empty_string_counts_as_missing():
    _kept, on, off = render_credentials(SOURCE, {**TELEGRAM_ENV, "TELEGRAM_BOT_TOKEN": ""})
    assert on == ALWAYS
    assert off["Telegram"] == ["TELEGRAM_BOT_TOKEN"]


def test_one_missing_variable_keeps_a_channel_off():
    env = {**ELKS_ENV}
    del env["ELKS_SENDER"]
    kept, on, off = render_credentials(SOURCE, env)
    assert "SMS (46elks)" not in on
    assert off["SMS (46elks)"] == ["ELKS_SENDER"]
    assert ELKS not in kept


def test_all_channels_on(tmp_path):
    env = {**TELEGRAM_ENV, **ELKS_ENV, **TWILIO_ENV, "INTAKE_PUBLIC_URL": "https://intake.example.org"}
    kept, on, off = render_credentials(SOURCE, env)
    assert on == ALWAYS + ["Telegram", "SMS (46elks)", "SMS (Twilio)"]
    assert off == {}
    assert kept[ELKS]["api_base"] == "https://api.46elks.com"
    assert kept[ELKS]["public_url"] == "https://intake.example.org"
    assert kept[TWILIO]["api_base"] == ""
    assert kept[TWILIO]["account_sid"] == "${TWILIO_ACCOUNT_SID}"


def test_written_credentials_hold_no_secrets_and_rasa_reads_them(tmp_path, monkeypatch):
    env = {**TELEGRAM_ENV, **ELKS_ENV, **TWILIO_ENV}
    target = tmp_path / "var" / "credentials.yml"
    on, off = write_credentials(SOURCE, target, env)
    assert on == ALWAYS + ["Telegram", "SMS (46elks)", "SMS (Twilio)"]
    assert off == {}
    written = target.read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in written
    assert "${TELEGRAM_BOT_TOKEN}" in written
    assert yaml.safe_load(written)[TELEGRAM]["token"] == "${TELEGRAM_BOT_TOKEN}"

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = read_config_file(target)
    assert "rest" in config and config["rest"] is None
    assert config[TELEGRAM] == {
        "token": TELEGRAM_ENV["TELEGRAM_BOT_TOKEN"],
        "webhook_secret": TELEGRAM_ENV["TELEGRAM_WEBHOOK_SECRET"],
        "api_base": "https://api.telegram.org",
    }
    assert config[ELKS] == {
        "api_username": ELKS_ENV["ELKS_API_USERNAME"],
        "api_password": ELKS_ENV["ELKS_API_PASSWORD"],
        "sender": ELKS_ENV["ELKS_SENDER"],
        "webhook_password": ELKS_ENV["ELKS_WEBHOOK_PASSWORD"],
        "api_base": "https://api.46elks.com",
        "public_url": "",
    }
    assert config[TWILIO]["auth_token"] == TWILIO_ENV["TWILIO_AUTH_TOKEN"]
    assert config[TWILIO]["sender"] == TWILIO_ENV["TWILIO_SENDER"]


def test_written_credentials_without_gateways_are_readable_by_rasa(tmp_path, monkeypatch):
    for name in (*TELEGRAM_ENV, *ELKS_ENV, *TWILIO_ENV):
        monkeypatch.delenv(name, raising=False)
    target = tmp_path / "credentials.yml"
    on, _off = write_credentials(SOURCE, target, {})
    assert on == ALWAYS
    assert read_config_file(target) == {"rest": None, HEALTH: None, TABLET: None}


def test_an_optional_value_from_the_environment_survives_rasas_reader(tmp_path, monkeypatch):
    env = {**TELEGRAM_ENV, "TELEGRAM_API_BASE": "http://127.0.0.1:8081"}
    target = tmp_path / "credentials.yml"
    write_credentials(SOURCE, target, env)
    for name, value in TELEGRAM_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_API_BASE", raising=False)  # filled in at render time already
    assert read_config_file(target)[TELEGRAM]["api_base"] == "http://127.0.0.1:8081"
