"""The production profile, locally: nginx in front of several Rasa instances and action servers.

``intake prod`` starts, on the machine's PostgreSQL and Redis:

- two (``--instances``) Rasa servers with ``deploy/endpoints.production.yml``: the tracker store in
  PostgreSQL (``DATABASE_URL``), a Redis lock store so that one conversation is handled by one
  instance at a time, JSON logs (``deploy/logging.yml``);
- as many action servers;
- nginx (Debian's package) balancing both: Rasa at ``--port`` (8080), the actions at 5050, with
  the next server tried when one refuses a connection;
- the web apps (tablet chat, dashboard) and the scheduler, each with a health endpoint.

A process that dies is started again (as a container platform would), so that the fault
benchmarks can kill one and watch the rest carry on. Secrets: ``INTAKE_SECRET`` and
``INTAKE_ENCRYPTION_KEYS`` from the environment, or, for a local run, generated once into
``var/prod/secrets.env`` (0600).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bot.channels.credentials import write_credentials
from bot.config import PROJECT_ROOT, Config
from bot.run import Service, preflight, supervise

NGINX = "/usr/sbin/nginx"
DEFAULT_DATABASE = "postgresql+psycopg2://postgres@127.0.0.1:5432/intake"


@dataclass
class Profile:
    instances: int = 2
    port: int = 8080  # Rasa, through nginx
    actions_port: int = 5050  # the action servers, through nginx
    rasa_base: int = 5105  # the instances' own ports: 5105, 5106 ...
    actions_base: int = 5155
    web_port: int = 8000
    scheduler_health_port: int = 8090
    model: str = "models/intake.tar.gz"
    host: str = "127.0.0.1"
    data_dir: Optional[Path] = None  # default: var/prod-<port>, so that two profiles do not collide

    def __post_init__(self) -> None:
        if self.data_dir is None:
            self.data_dir = Config.from_env().data_dir / f"prod-{self.port}"

    def rasa_ports(self) -> List[int]:
        return [self.rasa_base + i for i in range(self.instances)]

    def actions_ports(self) -> List[int]:
        return [self.actions_base + i for i in range(self.instances)]


def nginx_config(profile: Profile) -> str:
    """nginx.conf for the profile: two upstreams, a health location, no access log."""
    temp = profile.data_dir / "nginx"
    rasa = "\n".join(f"    server {profile.host}:{p} max_fails=1 fail_timeout=5s;" for p in profile.rasa_ports())
    actions = "\n".join(f"    server {profile.host}:{p} max_fails=1 fail_timeout=5s;" for p in profile.actions_ports())
    return f"""# Made by `intake prod` (bot/prod.py); not edited by hand.
worker_processes 1;
daemon off;
pid {temp}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
  # no access log: the addresses are webhook paths, but nothing is kept that is not needed
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  # Rasa sends the action servers the whole conversation: bodies of a few hundred KB, kept in
  # memory (the temporary directories may not be writable by the worker's user)
  client_max_body_size 16m;
  client_body_buffer_size 16m;
  proxy_buffers 64 16k;
  proxy_max_temp_file_size 0;
  # no kept-alive connections to the instances: a new connection to a stopped instance is refused,
  # and nginx then safely tries the next one; a reused connection would fail after the request
  # was sent, and a POST is not sent twice
  upstream rasa {{
{rasa}
  }}
  upstream actions {{
{actions}
  }}
  server {{
    listen {profile.host}:{profile.port};
    location = /nginx/health {{ return 200 "ok\\n"; }}
    location / {{
      proxy_pass http://rasa;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      # a refused or reset connection goes to the next instance; a request already taken is not
      # sent twice (nginx never repeats a POST that reached a server)
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
    }}
  }}
  server {{
    listen {profile.host}:{profile.actions_port};
    location / {{
      proxy_pass http://actions;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
    }}
  }}
}}
"""


def local_secrets(path: Path) -> Dict[str, str]:
    """INTAKE_SECRET and INTAKE_ENCRYPTION_KEYS for a local run, made once and kept (0600)."""
    from bot.crypto import generate_key

    values: Dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    if not values.get("INTAKE_SECRET") or not values.get("INTAKE_ENCRYPTION_KEYS"):
        values = {"INTAKE_SECRET": secrets.token_urlsafe(32), "INTAKE_ENCRYPTION_KEYS": generate_key()}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# local secrets of `intake prod`; never for a real deployment\n"
                        + "".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when the server has none of that name."""
    from sqlalchemy.engine.url import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg2

    admin = psycopg2.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                             password=parsed.password, dbname="postgres", connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.close()


def environment(profile: Profile, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    env.setdefault("REDIS_HOST", "127.0.0.1")
    env.setdefault("REDIS_PORT", "6379")
    env.setdefault("REDIS_DB", "0")
    env.setdefault("INTAKE_ENV", "production")
    env.setdefault("INTAKE_LOG_FORMAT", "json")
    env.setdefault("INTAKE_DATA_DIR", str(profile.data_dir))
    env["ACTION_SERVER_URL"] = f"http://{profile.host}:{profile.actions_port}/webhook"
    env["INTAKE_RASA_URL"] = f"http://{profile.host}:{profile.port}"
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    if not env.get("INTAKE_SECRET") or not env.get("INTAKE_ENCRYPTION_KEYS"):
        for key, value in local_secrets(profile.data_dir.parent / "prod-secrets.env").items():
            env.setdefault(key, value)
    return env


class NamedService(Service):
    """A service with its own INTAKE_SERVICE name in the environment (for the JSON logs)."""

    def start(self, env: Dict[str, str]) -> None:
        super().start({**env, "INTAKE_SERVICE": self.name.replace(" ", "-")})


def services(profile: Profile, credentials: Path, nginx_conf: Path) -> List[Service]:
    bin_dir = Path(sys.executable).parent
    host = profile.host
    procs: List[Service] = []
    for i, port in enumerate(profile.actions_ports(), start=1):
        procs.append(NamedService(
            f"actions {i}",
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port),
             "--logging-config_file", str(PROJECT_ROOT / "deploy" / "logging.yml")],
            f"http://{host}:{port}/health",
        ))
    for i, port in enumerate(profile.rasa_ports(), start=1):
        procs.append(NamedService(
            f"rasa {i}",
            [sys.executable, "-m", "bot.rasa_server", "run", "--model", profile.model, "--interface", host, "--port", str(port),
             "--credentials", str(credentials), "--endpoints", str(PROJECT_ROOT / "deploy" / "endpoints.production.yml"),
             "--logging-config-file", str(PROJECT_ROOT / "deploy" / "logging.yml")],
            f"http://{host}:{port}/webhooks/health/ready",
        ))
    procs.append(NamedService("nginx", [NGINX, "-c", str(nginx_conf), "-p", str(nginx_conf.parent)],
                              f"http://{host}:{profile.port}/nginx/health"))
    procs.append(NamedService("web", [str(bin_dir / "intake"), "web", "--host", host, "--port", str(profile.web_port)],
                              f"http://{host}:{profile.web_port}/healthz"))
    procs.append(NamedService(
        "scheduler",
        [str(bin_dir / "intake"), "scheduler", "run", "--interval", "10", "--health-port",
         str(profile.scheduler_health_port), "--health-host", host],
        f"http://{host}:{profile.scheduler_health_port}/healthz",
    ))
    return procs


def prepare(profile: Profile, env: Dict[str, str]) -> tuple:
    """Database, schema, credentials and nginx.conf; returns (credentials path, nginx.conf path)."""
    if not Path(NGINX).exists():
        raise RuntimeError(f"nginx is not installed ({NGINX}); `make prod` installs Debian's nginx-light")
    ensure_database(env["DATABASE_URL"])
    subprocess.run([str(Path(sys.executable).parent / "intake"), "db", "upgrade"], env=env, check=True,
                   cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    profile.data_dir.mkdir(parents=True, exist_ok=True)
    credentials = profile.data_dir / "credentials.yml"
    write_credentials(PROJECT_ROOT / "credentials.yml", credentials, env)
    temp = profile.data_dir / "nginx"
    if temp.exists():
        shutil.rmtree(temp)
    temp.mkdir(parents=True)
    conf = temp / "nginx.conf"
    conf.write_text(nginx_config(profile))
    return credentials, conf


def run_production(profile: Profile, ready_timeout: float = 300.0) -> int:
    env = environment(profile)
    problem = preflight(Config.from_env(env), env, debug=False)
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    try:
        credentials, conf = prepare(profile, env)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr, flush=True)
        return 2
    banner = (
        "\nThe production profile is running.\n"
        f"  Rasa (REST, Telegram, SMS webhooks), {profile.instances} instances behind nginx: "
        f"http://{profile.host}:{profile.port}/webhooks/<channel>/webhook\n"
        f"  action servers, {profile.instances} behind nginx:  http://{profile.host}:{profile.actions_port}/webhook\n"
        f"  tablet chat and dashboard:  http://{profile.host}:{profile.web_port}/\n"
        f"  health: /webhooks/health/ready on each Rasa, /health on each action server, "
        f"/healthz on the web apps and on :{profile.scheduler_health_port} for the scheduler\n"
        "Press Ctrl-C to stop."
    )
    return supervise(services(profile, credentials, conf), env, ready_timeout, banner, restart=True)
