"""The production profile's pieces that need no running servers: nginx.conf, environment, secrets."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from bot.prod import Profile, environment, local_secrets, nginx_config


def test_nginx_balances_every_instance_and_nginx_accepts_the_file(tmp_path):
    profile = Profile(instances=3, port=18080, actions_port=15050, rasa_base=15105, actions_base=15155,
                      data_dir=tmp_path)
    conf = nginx_config(profile)
    for port in (15105, 15106, 15107, 15155, 15156, 15157):
        assert f"server 127.0.0.1:{port} max_fails=1" in conf
    assert "listen 127.0.0.1:18080;" in conf and "listen 127.0.0.1:15050;" in conf
    assert "access_log off;" in conf
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.fail("nginx is not installed: `make test` installs Debian's nginx-light")
    (tmp_path / "nginx").mkdir()
    path = tmp_path / "nginx" / "nginx.conf"
    path.write_text(conf)
    result = subprocess.run([nginx, "-t", "-c", str(path), "-p", str(path.parent)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_environment_points_rasa_and_the_web_apps_at_the_balancer(tmp_path):
    profile = Profile(port=18080, actions_port=15050, data_dir=tmp_path / "prod-18080")
    env = environment(profile, {"INTAKE_SECRET": "s", "INTAKE_ENCRYPTION_KEYS": "k"})
    assert env["ACTION_SERVER_URL"] == "http://127.0.0.1:15050/webhook"
    assert env["INTAKE_RASA_URL"] == "http://127.0.0.1:18080"
    assert env["DATABASE_URL"].startswith("postgresql")
    assert (env["REDIS_HOST"], env["REDIS_PORT"], env["INTAKE_ENV"], env["INTAKE_LOG_FORMAT"]) == (
        "127.0.0.1", "6379", "production", "json")
    assert (env["INTAKE_SECRET"], env["INTAKE_ENCRYPTION_KEYS"]) == ("s", "k")  # given ones are kept


def test_local_secrets_are_made_once_and_private(tmp_path):
    path = tmp_path / "prod-secrets.env"
    first = local_secrets(path)
    assert set(first) == {"INTAKE_SECRET", "INTAKE_ENCRYPTION_KEYS"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_secrets(path) == first
