"""The deployment on paper agrees with the production profile and with the code.

deploy/docker-compose.yml, deploy/helm/*.yaml, deploy/production.env.example, deploy/Dockerfile,
deploy/nginx.compose.conf and docs/deployment.md against deploy/endpoints.production.yml,
credentials.yml and the sources under bot/ and actions/. Offline and fast: no Docker daemon, no
cluster, no Rasa import. `docker compose config` runs only where `docker compose` is installed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest
import yaml

from bot.channels.credentials import render_credentials

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
ENDPOINTS = DEPLOY / "endpoints.production.yml"
LOGGING = DEPLOY / "logging.yml"
ENV_EXAMPLE = DEPLOY / "production.env.example"
NGINX_CONF = DEPLOY / "nginx.compose.conf"
DOCKERFILE = DEPLOY / "Dockerfile"
RASA_VALUES = DEPLOY / "helm" / "rasa-values.yaml"
ACTIONS_VALUES = DEPLOY / "helm" / "rasa-action-server-values.yaml"
DOCS = ROOT / "docs" / "deployment.md"

# ${NAME}, ${NAME:-default}, ${NAME:?message}, ${NAME-default}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")

# The production profile's variables: every intake container gets all of them.
PROFILE_VARIABLES = {
    "DATABASE_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "ACTION_SERVER_URL", "INTAKE_ENV",
    "INTAKE_SECRET", "INTAKE_ENCRYPTION_KEYS", "INTAKE_RASA_URL", "INTAKE_TIMEZONE",
    "INTAKE_LOG_FORMAT", "INTAKE_DASHBOARD_URL", "INTAKE_ALERT_EMAIL_TO", "INTAKE_ALERT_EMAIL_FROM",
    "INTAKE_SMTP_HOST", "INTAKE_SMTP_PORT", "INTAKE_SMTP_USER", "INTAKE_SMTP_PASSWORD",
    "INTAKE_SMTP_STARTTLS", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_MODE",
    "ELKS_API_USERNAME", "ELKS_API_PASSWORD", "ELKS_SENDER", "ELKS_WEBHOOK_PASSWORD",
    "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SENDER", "INTAKE_PUBLIC_URL",
    "RASA_TELEMETRY_ENABLED",
}
# Set by the deployment (compose `environment`, Helm `value`), the same in every form.
FIXED_VALUES = {
    "INTAKE_ENV": "production",
    "INTAKE_LOG_FORMAT": "json",
    "TELEGRAM_MODE": "webhook",
    "RASA_TELEMETRY_ENABLED": "false",
}
TOPOLOGY = {"REDIS_HOST", "REDIS_PORT", "REDIS_DB", "ACTION_SERVER_URL", "INTAKE_RASA_URL", "INTAKE_SERVICE"}
REQUIRED_SECRETS = {"DATABASE_URL", "INTAKE_SECRET", "INTAKE_ENCRYPTION_KEYS"}

# Names that other software reads, not our code: who reads each.
THIRD_PARTY = {
    "POSTGRES_PASSWORD": "the postgres image (compose)",
    "PYTHONPATH": "Python",
    "PYTHONDONTWRITEBYTECODE": "Python",
    "PYTHONUNBUFFERED": "Python",
    "PIP_NO_CACHE_DIR": "pip",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip",
}
# Variables the compose file itself interpolates (not container environment).
COMPOSE_ONLY = {"INTAKE_ENV_FILE", "INTAKE_IMAGE"}

# The health endpoints of the production profile, as the compose health checks must call them.
HEALTH = {
    "rasa": "http://127.0.0.1:5005/webhooks/health/ready",
    "actions": "http://127.0.0.1:5055/health",
    "web": "http://127.0.0.1:8000/healthz",
    "scheduler": "http://127.0.0.1:8090/healthz",
    "nginx": "http://127.0.0.1:8080/nginx/health",
}
RASA_READY = "/webhooks/health/ready"
RASA_LIVE = "/webhooks/health/live"
ACTIONS_HEALTH = "/health"

# The chart "rasa"'s defaults of applicationSettings.endpoints (RasaHQ/helm-charts,
# charts/rasa/values.yaml), which our values are merged over.
CHART_ENDPOINT_DEFAULTS = {
    "models": {"enabled": False, "url": "http://my-server.com/models/default", "token": "token",
               "waitTimeBetweenPulls": 20, "useRasaXasModelServer": {"enabled": False, "tag": "production"}},
    "trackerStore": {"enabled": True, "type": "sql", "dialect": "postgresql", "url": "${DB_HOST}",
                     "port": "${DB_PORT}", "username": "${DB_USER}", "password": "${DB_PASSWORD}",
                     "db": "${DB_DATABASE}", "login_db": "${DB_DATABASE}"},
    "lockStore": {"enabled": False, "type": "redis", "url": "${REDIS_HOST}", "port": "${REDIS_PORT}",
                  "password": "${REDIS_PASSWORD}", "db": "1"},
    "eventBroker": {"enabled": False, "type": "pika", "url": "${RABBITMQ_HOST}", "username": "${RABBITMQ_USERNAME}",
                    "password": "${RABBITMQ_PASSWORD}", "port": "${RABBITMQ_PORT}", "queues": ["rasa_production_events"]},
    "action": {"endpointURL": "/webhook"},
    "additionalEndpoints": {},
}
# Environment variables the chart "rasa" puts into the container itself.
RASA_CHART_ENV = {"RASA_TELEMETRY_ENABLED", "MPLCONFIGDIR", "TF_CPP_MIN_LOG_LEVEL", "RASA_TOKEN", "JWT_SECRET"}
# Where the chart "rasa" mounts its ConfigMap's endpoints.
CHART_ENDPOINTS_FILE = "/app/endpoints.yml"

PLACEHOLDER = re.compile(r"<[^<>\s]+>")
QUANTITY = re.compile(r"^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|K|M|G|T)?$")


# -- reading the files -----------------------------------------------------------------------

def load(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def interpolate_default(value: str) -> str:
    """A compose string with its variables unset: `${NAME:-default}` becomes the default."""
    return VARIABLE.sub(lambda m: m.group(3) if m.group(2) in (":-", "-") else m.group(0), value)


def parse_env_file(path: Path) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f"{path.name}:{number} is not NAME=value"
        name, value = line.split("=", 1)
        assert name not in values, f"{path.name}: {name} twice"
        values[name.strip()] = value.strip()
    return values


def compose() -> dict:
    return load(COMPOSE)


def command_text(service: dict) -> str:
    command = service.get("command") or []
    return command if isinstance(command, str) else " ".join(str(part) for part in command)


def role(name: str, service: dict) -> str:
    text = command_text(service)
    image = str(service.get("image", ""))
    if "bot.rasa_server run" in text or "rasa run" in text:
        return "rasa"
    if "rasa_sdk" in text:
        return "actions"
    if "intake web" in text:
        return "web"
    if "intake scheduler run" in text:
        return "scheduler"
    if "intake db upgrade" in text:
        return "migrate"
    return image.split(":")[0].split("/")[-1] or name


def intake_services(data: Optional[dict] = None) -> Dict[str, dict]:
    """The services that run our image."""
    data = data or compose()
    return {name: s for name, s in data["services"].items() if "intake-assistant" in str(s.get("image", ""))}


def services_by_role(data: Optional[dict] = None) -> Dict[str, List[Tuple[str, dict]]]:
    data = data or compose()
    found: Dict[str, List[Tuple[str, dict]]] = {}
    for name, service in data["services"].items():
        found.setdefault(role(name, service), []).append((name, service))
    return found


def env_files(service: dict) -> List[Path]:
    entries = service.get("env_file") or []
    entries = [entries] if isinstance(entries, str) else entries
    paths = []
    for entry in entries:
        path = entry["path"] if isinstance(entry, dict) else entry
        paths.append(DEPLOY / interpolate_default(path))
    return paths


def service_environment(service: dict) -> Dict[str, str]:
    """What a compose service's container gets: its env files, then `environment`."""
    env: Dict[str, str] = {}
    for path in env_files(service):
        env.update(parse_env_file(path))
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    env.update({k: "" if v is None else str(v) for k, v in environment.items()})
    return env


def extra_env(values: dict) -> List[dict]:
    return values.get("extraEnv") or []


def extra_env_names(values: dict) -> List[str]:
    return [item["name"] for item in extra_env(values)]


def rasa_chart_env(values: dict) -> Set[str]:
    """What the chart "rasa" adds to the container besides extraEnv."""
    names = set(RASA_CHART_ENV)
    action = values.get("rasa-action-server") or {}
    if action.get("install") or ((action.get("external") or {}).get("enabled") and (action.get("external") or {}).get("url")):
        names.add("ACTION_SERVER_URL")
    return names


def helm_command(values: dict) -> str:
    return " ".join(str(part) for part in (values.get("command") or []) + (values.get("args") or []))


def endpoint_variables() -> Set[str]:
    return {m.group(1) for m in VARIABLE.finditer(ENDPOINTS.read_text(encoding="utf-8"))}


def dockerfile_instructions() -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: List[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def dockerfile_env_names() -> Set[str]:
    names: Set[str] = set()
    for instruction, args in dockerfile_instructions():
        if instruction == "ENV":
            names |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args))
    return names


# -- the names the code reads -----------------------------------------------------------------

def _code_sources() -> Iterator[Tuple[Path, str]]:
    for folder in ("bot", "actions"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, path.read_text(encoding="utf-8")
    for path in (ROOT / "credentials.yml", ROOT / "endpoints.yml", ENDPOINTS):
        yield path, path.read_text(encoding="utf-8")


_CODE = None


def read_by_code(name: str) -> bool:
    """Whether a source under bot/ or actions/ names the variable as a string ("NAME"), or
    credentials.yml or an endpoints file as ${NAME}: a misspelt name matches neither."""
    global _CODE
    if _CODE is None:
        _CODE = list(_code_sources())
    quoted = re.compile(r"""["']""" + re.escape(name) + r"""["']""")
    expanded = re.compile(r"\$\{" + re.escape(name) + r"(?:[:}?-])")
    for path, text in _CODE:
        if (quoted if path.suffix == ".py" else expanded).search(text):
            return True
    return False


def deployed_variable_names() -> Dict[str, Set[str]]:
    """Every environment variable name the deployment files give a container: where from."""
    found: Dict[str, Set[str]] = {}

    def add(name: str, where: str) -> None:
        found.setdefault(name, set()).add(where)

    for name, service in intake_services().items():
        for variable in service_environment(service):
            add(variable, f"compose {name}")
    for variable in parse_env_file(ENV_EXAMPLE):
        add(variable, ENV_EXAMPLE.name)
    for path in (RASA_VALUES, ACTIONS_VALUES):
        values = load(path)
        for variable in extra_env_names(values):
            add(variable, path.name)
        for container in values.get("initContainers") or []:
            for item in container.get("env") or []:
                add(item["name"], f"{path.name} initContainers")
    for variable in dockerfile_env_names():
        add(variable, "Dockerfile")
    return found


# -- every file parses ------------------------------------------------------------------------

YAML_FILES = sorted(list(DEPLOY.rglob("*.yml")) + list(DEPLOY.rglob("*.yaml")))


def test_the_deploy_files_are_there():
    names = {p.relative_to(DEPLOY).as_posix() for p in YAML_FILES}
    assert {"docker-compose.yml", "endpoints.production.yml", "logging.yml", "helm/rasa-values.yaml",
            "helm/rasa-action-server-values.yaml"} <= names
    for path in (DOCKERFILE, ENV_EXAMPLE, NGINX_CONF, DOCS):
        assert path.is_file(), path


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_every_yaml_file_in_deploy_parses(path):
    assert isinstance(load(path), dict), f"{path} is not a YAML mapping"


def test_the_logging_config_names_our_formatter():
    config = load(LOGGING)
    formatter = config["formatters"]["json"]["()"]
    module, cls = formatter.rsplit(".", 1)
    source = ROOT / (module.replace(".", "/") + ".py")
    assert source.is_file() and re.search(rf"^class {cls}\b", source.read_text(encoding="utf-8"), re.M)


# -- the endpoints' variables are set wherever Rasa runs ---------------------------------------

def test_the_endpoints_use_the_profiles_variables():
    variables = endpoint_variables()
    assert variables == {"ACTION_SERVER_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB"}
    endpoints = load(ENDPOINTS)
    assert endpoints["tracker_store"]["type"] == "bot.tracker.IntakeTrackerStore"
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["lock_store"]["key_prefix"] == "intake"


def test_compose_sets_every_endpoint_variable_where_rasa_runs():
    rasa = services_by_role()["rasa"]
    assert rasa, "no compose service runs `rasa run`"
    for name, service in rasa:
        env = service_environment(service)
        missing = sorted(v for v in endpoint_variables() if not env.get(v))
        assert not missing, f"compose service {name} runs Rasa without {missing}"


def test_the_rasa_helm_values_set_every_endpoint_variable():
    values = load(RASA_VALUES)
    available = set(extra_env_names(values)) | rasa_chart_env(values)
    missing = sorted(endpoint_variables() - available)
    assert not missing, f"deploy/helm/rasa-values.yaml: Rasa would start without {missing}"


def _coalesce(defaults: dict, values: dict) -> dict:
    """Helm's merge of a values file over a chart's defaults: `null` removes a default."""
    merged = dict(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _coalesce(merged[key], value)
        else:
            merged[key] = value
    return merged


def render_chart_endpoints(values: dict) -> dict:
    """The endpoints file the chart "rasa" writes (templates/config-map.yaml), as YAML reads it."""
    settings = values.get("applicationSettings") or {}
    assert not (settings.get("rasaX") or {}).get("useConfigEndpoint"), "the chart would ignore the endpoints"
    endpoints = _coalesce(CHART_ENDPOINT_DEFAULTS, settings.get("endpoints") or {})
    lines: List[str] = []
    assert not endpoints["models"].get("enabled"), "the model is in the image, not on a model server"
    for key, section in (("trackerStore", "tracker_store"), ("lockStore", "lock_store"), ("eventBroker", "event_broker")):
        if endpoints[key].get("enabled"):
            lines.append(f"{section}:")
            for name, value in sorted(endpoints[key].items()):
                if name != "enabled":
                    lines.append(f"  {name}: {yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
                                 if isinstance(value, (list, dict)) else f"  {name}: {value}")
    action = values.get("rasa-action-server") or {}
    external = action.get("external") or {}
    if action.get("install") or (external.get("enabled") and external.get("url")):
        lines += ["action_endpoint:", "  url: ${ACTION_SERVER_URL}"]
    rendered = yaml.safe_load("\n".join(lines)) or {}
    rendered.update(endpoints.get("additionalEndpoints") or {})
    return rendered


def test_the_rasa_chart_renders_our_production_endpoints():
    values = load(RASA_VALUES)
    assert render_chart_endpoints(values) == load(ENDPOINTS)


def test_the_chart_render_would_notice_a_default_left_in():
    values = load(RASA_VALUES)
    values["applicationSettings"]["endpoints"]["trackerStore"].pop("dialect")
    assert render_chart_endpoints(values) != load(ENDPOINTS)


# -- every variable name is one the code reads -------------------------------------------------

def test_every_deployed_variable_name_is_read_by_the_code():
    unknown = {name: sorted(where) for name, where in deployed_variable_names().items()
               if name not in THIRD_PARTY and not read_by_code(name)}
    assert not unknown, f"variables no code reads (misspelt?): {unknown}"


def test_a_misspelt_variable_name_is_caught():
    assert read_by_code("INTAKE_SECRET") and read_by_code("ELKS_SENDER") and read_by_code("REDIS_DB")
    for wrong in ("INTAKE_SECERT", "INTAKE_SMTP", "REDIS_HOSTNAME", "TWILIO_SENDER_ID", "DATABASE_URI"):
        assert not read_by_code(wrong), wrong


def test_the_compose_files_own_variables_are_known():
    text = "\n".join(line for line in COMPOSE.read_text(encoding="utf-8").splitlines()
                     if not line.lstrip().startswith("#"))
    names = {m.group(1) for m in VARIABLE.finditer(text)}
    example = set(parse_env_file(ENV_EXAMPLE))
    assert names - example - COMPOSE_ONLY == set()


# -- the same variables in every form ----------------------------------------------------------

def test_every_intake_container_in_compose_gets_the_profiles_variables():
    for name, service in intake_services().items():
        env = service_environment(service)
        assert PROFILE_VARIABLES - set(env) == set(), name
        for variable, value in FIXED_VALUES.items():
            assert env[variable] == value, (name, variable)
        assert env["INTAKE_SERVICE"], name


def test_both_helm_releases_get_the_profiles_variables():
    for path in (RASA_VALUES, ACTIONS_VALUES):
        values = load(path)
        names = extra_env_names(values)
        assert len(names) == len(set(names)), f"{path.name}: a variable twice in extraEnv"
        chart = rasa_chart_env(values) if path == RASA_VALUES else set()
        assert set(names) & chart == set(), f"{path.name}: extraEnv repeats what the chart sets"
        assert PROFILE_VARIABLES - set(names) - chart == set(), path.name
        plain = {item["name"]: item.get("value") for item in extra_env(values) if "value" in item}
        for variable, value in FIXED_VALUES.items():
            if variable in plain:
                assert plain[variable] == value, (path.name, variable)
    rasa = load(RASA_VALUES)
    assert rasa["applicationSettings"]["telemetry"]["enabled"] is False  # RASA_TELEMETRY_ENABLED=false


def test_site_settings_come_from_the_secret_and_topology_from_the_values():
    site = set(parse_env_file(ENV_EXAMPLE)) - set(THIRD_PARTY)
    for path in (RASA_VALUES, ACTIONS_VALUES):
        values = load(path)
        from_secret = {}
        for item in extra_env(values):
            ref = (item.get("valueFrom") or {}).get("secretKeyRef")
            if item["name"] in site:
                assert ref and "value" not in item, f"{path.name}: {item['name']} must come from the Secret"
                assert ref["name"] == "intake-secrets" and ref["key"] == item["name"], (path.name, item)
                assert bool(ref.get("optional")) is (item["name"] not in REQUIRED_SECRETS), (path.name, item["name"])
                from_secret[item["name"]] = ref
            else:
                assert item["name"] in TOPOLOGY | set(FIXED_VALUES), f"{path.name}: {item['name']} is neither"
                assert "value" in item, (path.name, item["name"])
        assert set(from_secret) == site, f"{path.name}: the Secret's keys are production.env.example's"


def test_the_compose_topology_matches_nginx_and_the_helm_services():
    data = compose()
    nginx = services_by_role(data)["nginx"][0][0]
    conf = NGINX_CONF.read_text(encoding="utf-8")
    listens = set(re.findall(r"^\s*listen\s+(\d+)\s*;", conf, re.M))
    for name, service in intake_services(data).items():
        env = service_environment(service)
        assert env["ACTION_SERVER_URL"] == f"http://{nginx}:5050/webhook", name
        assert env["INTAKE_RASA_URL"] == f"http://{nginx}:8080", name
    assert listens == {"8080", "5050"}
    rasa, actions = load(RASA_VALUES), load(ACTIONS_VALUES)
    assert rasa["service"]["port"] == 8080 and actions["service"]["port"] == 5050
    plain = {i["name"]: i["value"] for v in (rasa, actions) for i in extra_env(v) if "value" in i}
    assert plain["ACTION_SERVER_URL"].endswith(f":{actions['service']['port']}/webhook")
    assert rasa["rasa-action-server"]["external"]["url"] == plain["ACTION_SERVER_URL"]
    assert plain["INTAKE_RASA_URL"].endswith(f":{rasa['service']['port']}")


# -- the commands ------------------------------------------------------------------------------

RASA_ARGS = "python -m bot.rasa_server run --model models/intake.tar.gz --port 5005 --credentials var/credentials.yml --endpoints {endpoints} --logging-config-file deploy/logging.yml"
RENDER = 'write_credentials(pathlib.Path("credentials.yml"), pathlib.Path("var/credentials.yml"), os.environ)'


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_commands_are_the_profiles():
    found = services_by_role()
    (_, rasa), = found["rasa"]
    text = _squash(command_text(rasa))
    assert RENDER in text and text.index(RENDER) < text.index("exec " + RASA_ARGS.split(" --")[0])
    assert "exec " + RASA_ARGS.format(endpoints="deploy/endpoints.production.yml") in text
    assert command_text(found["actions"][0][1]).startswith("python -m rasa_sdk --actions actions --port 5055")
    assert command_text(found["web"][0][1]) == "intake web --host 0.0.0.0 --port 8000"
    assert command_text(found["scheduler"][0][1]) == "intake scheduler run --health-port 8090"
    assert command_text(found["migrate"][0][1]) == "intake db upgrade"

    helm_rasa = _squash(helm_command(load(RASA_VALUES)))
    assert RENDER in helm_rasa and "exec " + RASA_ARGS.format(endpoints=CHART_ENDPOINTS_FILE) in helm_rasa
    assert helm_command(load(ACTIONS_VALUES)).startswith("python -m rasa_sdk --actions actions --port 5055")
    for path in (ENDPOINTS, LOGGING, ROOT / "credentials.yml"):
        assert path.is_file()


def _program_and_options(tokens: List[str]) -> Tuple[str, Dict[str, str]]:
    """("python -m bot.rasa_server run", {"--model": "models/intake.tar.gz", ...})."""
    first = next((i for i, t in enumerate(tokens) if t.startswith("--")), len(tokens))
    options = {tokens[i]: tokens[i + 1] if i + 1 < len(tokens) and not tokens[i + 1].startswith("--") else ""
               for i in range(first, len(tokens)) if tokens[i].startswith("--")}
    return " ".join(tokens[:first]), options


def prod_commands() -> Dict[str, Tuple[str, Dict[str, str]]]:
    """What `intake prod` (bot/prod.py) runs, with its paths made relative to the project."""
    import sys

    from bot.prod import Profile, services

    commands = {}
    for service in services(Profile(), Path("CREDENTIALS"), Path("NGINX")):
        tokens = []
        for token in service.command:
            if token == sys.executable:
                token = "python"
            elif Path(token).parent == Path(sys.executable).parent:
                token = Path(token).name  # intake, from the venv
            elif token.startswith(str(ROOT) + "/"):
                token = os.path.relpath(token, ROOT)
            tokens.append(token)
        commands.setdefault(service.name.split()[0], _program_and_options(tokens))
    return commands


def test_compose_and_helm_run_what_intake_prod_runs():
    prod = prod_commands()
    (_, rasa), = services_by_role()["rasa"]
    compose_rasa = _program_and_options(_squash(command_text(rasa)).split("exec ", 1)[1].split())
    helm_rasa = _program_and_options(_squash(helm_command(load(RASA_VALUES))).split("exec ", 1)[1].split())
    program, options = prod["rasa"]
    for ours, endpoints in ((compose_rasa, "deploy/endpoints.production.yml"), (helm_rasa, CHART_ENDPOINTS_FILE)):
        assert ours[0] == program
        # containers listen on every interface of their own; the ports are the containers'
        assert set(ours[1]) == set(options) - {"--interface"}
        assert ours[1]["--model"] == options["--model"]
        assert ours[1]["--logging-config-file"] == options["--logging-config-file"]
        assert ours[1]["--endpoints"] == endpoints
    assert options["--endpoints"] == "deploy/endpoints.production.yml"
    actions = load(ACTIONS_VALUES)
    for tokens in (services_by_role()["actions"][0][1]["command"], actions["command"] + actions["args"]):
        ours = _program_and_options([str(t) for t in tokens])
        assert ours[0] == prod["actions"][0] and set(ours[1]) == set(prod["actions"][1])
        assert {k: v for k, v in ours[1].items() if k != "--port"} == \
            {k: v for k, v in prod["actions"][1].items() if k != "--port"}
    assert _program_and_options(services_by_role()["web"][0][1]["command"])[0] == prod["web"][0]
    assert _program_and_options(services_by_role()["scheduler"][0][1]["command"])[0] == prod["scheduler"][0]


def test_two_of_each_behind_the_load_balancer():
    found = services_by_role()
    for kind in ("rasa", "actions"):
        count = sum(int((s.get("deploy") or {}).get("replicas", 1)) for _, s in found[kind])
        assert count >= 2, kind
    assert load(RASA_VALUES)["replicaCount"] == 2
    assert load(ACTIONS_VALUES)["replicaCount"] == 2


def test_the_rendered_credentials_are_ones_rasa_accepts():
    """Rasa refuses `${NAME}` unset and cannot read `${NAME:-default}`: the rendered file has neither."""
    (name, rasa), = services_by_role()["rasa"]
    env = service_environment(rasa)
    raw = load(ROOT / "credentials.yml")
    assert "bot.channels.health.HealthInput" in raw, "the readiness probes need the health channel"
    kept, on, off = render_credentials(ROOT / "credentials.yml", env)
    assert "bot.channels.health.HealthInput" in kept
    for channel, settings in kept.items():
        for value in (settings or {}).values():
            for m in VARIABLE.finditer(str(value)):
                assert m.group(2) is None, f"{channel}: {m.group(0)} left for Rasa"
                assert env.get(m.group(1)), f"{channel}: {m.group(1)} unset"


# -- health checks and start order --------------------------------------------------------------

def test_compose_health_checks_call_the_profiles_endpoints():
    for kind, url in HEALTH.items():
        services = services_by_role()[kind]
        assert services, kind
        for name, service in services:
            test = service.get("healthcheck", {}).get("test")
            assert test, f"{name} has no health check"
            text = test if isinstance(test, str) else " ".join(test)
            assert set(re.findall(r"https?://[^\s'\"]+", text)) == {url}, name
    for kind in ("postgres", "redis"):
        assert services_by_role()[kind][0][1].get("healthcheck"), kind
    (name, migrate), = services_by_role()["migrate"]
    assert "healthcheck" not in migrate and migrate.get("restart") == "no"


def test_compose_starts_everything_in_order():
    data = compose()
    by_name = {name: role(name, s) for name, s in data["services"].items()}

    def conditions(service: dict) -> Dict[str, str]:
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), "depends_on with conditions"
        return {by_name[n]: d["condition"] for n, d in depends.items()}

    for name, service in intake_services(data).items():
        cond = conditions(service)
        if by_name[name] == "migrate":
            assert cond == {"postgres": "service_healthy"}
        else:
            assert cond.get("migrate") == "service_completed_successfully", name
    (_, rasa), = services_by_role(data)["rasa"]
    assert conditions(rasa)["postgres"] == conditions(rasa)["redis"] == "service_healthy"
    (_, nginx), = services_by_role(data)["nginx"]
    assert conditions(nginx) == {"rasa": "service_healthy", "actions": "service_healthy"}


def test_helm_probes_use_the_profiles_endpoints():
    rasa, actions = load(RASA_VALUES), load(ACTIONS_VALUES)
    assert rasa["readinessProbe"]["httpGet"]["path"] == RASA_READY
    assert rasa["livenessProbe"]["httpGet"]["path"] == RASA_LIVE
    assert actions["readinessProbe"]["httpGet"]["path"] == ACTIONS_HEALTH
    assert actions["livenessProbe"]["httpGet"]["path"] == ACTIONS_HEALTH
    for values in (rasa, actions):
        for probe in ("readinessProbe", "livenessProbe"):
            assert values[probe]["httpGet"]["port"] == "http"  # the container port the charts name
    assert rasa["applicationSettings"]["port"] == 5005 and actions["applicationSettings"]["port"] == 5055


# -- the Helm values take what the charts take ---------------------------------------------------

def test_the_helm_values_use_our_image_and_none_of_the_charts_extras():
    rasa, actions = load(RASA_VALUES), load(ACTIONS_VALUES)
    images = set()
    for values in (rasa, actions):
        assert values["registry"] != "docker.io/rasa" and values["image"]["name"] == "intake-assistant"
        assert isinstance(values["image"]["tag"], str)
        # Some chart versions' schemas type these as null: the registry and the release name instead.
        for key in ("nameOverride", "fullnameOverride"):
            assert values.get(key) is None, key
        assert values["image"].get("repository") is None
        assert isinstance(values["extraEnv"], list) and isinstance(values["args"], list)
        assert isinstance(values["command"], list) and isinstance(values["replicaCount"], int)
        images.add(f"{values['registry']}/{values['image']['name']}:{values['image']['tag']}")
        assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert len(images) == 1
    for container in rasa["initContainers"]:
        assert container["image"] in images
        assert container["command"] == ["intake", "db", "upgrade"]
        assert {"secretRef": {"name": "intake-secrets"}} in container["envFrom"]
    settings = rasa["applicationSettings"]
    assert settings["initialModel"] == "" and settings["trainInitialModel"] is False
    assert settings["debugMode"] is False and settings["enableAPI"] is False
    assert rasa["nginx"]["enabled"] is False
    for subchart in ("postgresql", "redis", "rabbitmq"):
        assert rasa[subchart]["install"] is False, subchart
    assert rasa["rasa-action-server"]["install"] is False
    for key in ("db", "port", "url"):  # strings in the chart's schema
        assert isinstance(settings["endpoints"]["lockStore"][key], str)


def test_memory_is_a_quantity_or_waits_for_the_measurement():
    for path in (RASA_VALUES, ACTIONS_VALUES):
        resources = load(path)["resources"]
        for kind in ("requests", "limits"):
            assert QUANTITY.match(str(resources[kind]["cpu"])), (path.name, kind)
            memory = str(resources[kind]["memory"])
            assert QUANTITY.match(memory), (path.name, kind, memory)  # a figure, no placeholder left


def test_the_helm_values_say_how_to_install():
    for path in (RASA_VALUES, ACTIONS_VALUES):
        header = path.read_text(encoding="utf-8").split("\n\n")[0]
        assert "helm repo add rasa https://helm.rasa.com" in header
        assert f"-f deploy/helm/{path.name}" in header and "helm install" in header
        assert "intake-secrets" in header


# -- no secrets ----------------------------------------------------------------------------------

SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|KEYS|_SID|USERNAME|_USER$")
HIGH_ENTROPY = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
SECRET_SHAPES = {
    "Fernet key": re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}="),
    "Telegram bot token": re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "Twilio account SID": re.compile(r"\bAC[0-9a-f]{32}\b"),
    "password in a URL": re.compile(r"://[^/\s:@]+:(?!<)[^@\s/]+@"),
}


def looks_random(token: str) -> bool:
    return (any(c.isdigit() for c in token) and any(c.islower() for c in token)
            and any(c.isupper() for c in token))


def secret_findings(text: str) -> List[str]:
    found = [what for what, shape in SECRET_SHAPES.items() if shape.search(text)]
    found += [f"random-looking {m.group(0)[:6]}…" for m in HIGH_ENTROPY.finditer(text) if looks_random(m.group(0))]
    return found


def placeholder_problems(values: Dict[str, str]) -> List[str]:
    problems = []
    for name, value in values.items():
        if name == "DATABASE_URL":
            match = re.match(r"^postgresql\+psycopg2://[^:@/]+:(<[^<>\s]+>)@[^/\s]+/\w+$", value)
            if not match:
                problems.append(f"{name}: not postgresql+psycopg2://user:<password>@host/db")
        elif SECRET_NAME.search(name) and value and not re.fullmatch(r"<[^<>\s]+>", value):
            problems.append(f"{name}: a value, not a <placeholder>")
    return problems


def test_the_env_example_holds_placeholders_only():
    values = parse_env_file(ENV_EXAMPLE)
    assert not placeholder_problems(values)
    assert not secret_findings(ENV_EXAMPLE.read_text(encoding="utf-8"))
    for name in REQUIRED_SECRETS | {"POSTGRES_PASSWORD"}:
        assert PLACEHOLDER.search(values[name]), name
    # the compose database password and DATABASE_URL's are the same placeholder
    assert values["POSTGRES_PASSWORD"] in values["DATABASE_URL"]


def test_the_secret_check_catches_real_looking_secrets():
    fernet = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert placeholder_problems({"INTAKE_ENCRYPTION_KEYS": fernet})
    assert placeholder_problems({"DATABASE_URL": "postgresql+psycopg2://intake:hunter2@db:5432/intake"})
    assert placeholder_problems({"TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef"})
    assert secret_findings(f"INTAKE_ENCRYPTION_KEYS={fernet}")
    assert secret_findings("TELEGRAM_BOT_TOKEN=123456789:" + "AbCdEfGhIjKlMnOpQrStUvWxYz012345678")
    assert secret_findings("INTAKE_SECRET=" + base64.urlsafe_b64encode(os.urandom(36)).decode())


@pytest.mark.parametrize("path", [COMPOSE, RASA_VALUES, ACTIONS_VALUES, DOCKERFILE, NGINX_CONF],
                         ids=lambda p: p.name)
def test_no_secret_in_the_deployment_files(path):
    assert not secret_findings(path.read_text(encoding="utf-8")), path.name


# -- the image ----------------------------------------------------------------------------------

def test_the_image_is_built_as_the_profile_needs():
    instructions = dockerfile_instructions()
    text = "\n".join(f"{i} {a}" for i, a in instructions)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.10-slim", text, re.M) or "FROM python:3.10-slim" in text
    assert re.search(r"\bpip install \.", text)
    assert "rasa train --fixed-model-name intake --out models" in text
    stages = [i for i, a in enumerate(instructions) if a[0] == "FROM"]
    final = instructions[stages[-1]:]
    users = [a for i, a in final if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as root"
    workdirs = [a for i, a in instructions if i == "WORKDIR"]
    # the chart "rasa" mounts its ConfigMap over /app/endpoints.yml and /app/credentials.yml
    assert workdirs and workdirs[-1] != "/app"
    assert f"PYTHONPATH={workdirs[-1]}" in text
    copied = " ".join(a for i, a in final if i == "COPY")
    for needed in ("data/", "locales/", "config.yml", "domain.yml", "program.yml", "credentials.yml",
                   "deploy/endpoints.production.yml", "deploy/logging.yml", "models/intake.tar.gz"):
        assert needed in copied, needed
    all_copies = [a.split() for i, a in instructions if i == "COPY"]
    for args in all_copies:
        sources = [s for s in args[:-1] if not s.startswith("--")]
        assert "." not in sources and "deploy/" not in sources and "deploy" not in sources, args
        assert not any(s.endswith(".env") or ".env." in s for s in sources), args
        if not any(s.startswith("--from") for s in args):
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the project"
    for instruction, args in instructions:
        if instruction in ("ENV", "ARG"):
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split("=")[0]]:
                assert not re.search(r"SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL", name), f"{instruction} {name}"


# -- nginx ----------------------------------------------------------------------------------------

def test_the_compose_nginx_balances_the_replicas():
    data = compose()
    (name, nginx), = services_by_role(data)["nginx"]
    assert any(str(v).startswith("./nginx.compose.conf:/etc/nginx/nginx.conf") for v in nginx["volumes"])
    conf = NGINX_CONF.read_text(encoding="utf-8")
    assert conf.count("{") == conf.count("}")
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", conf))
    rasa_name = services_by_role(data)["rasa"][0][0]
    actions_name = services_by_role(data)["actions"][0][0]
    assert re.search(rf"server\s+{rasa_name}:5005\s+resolve\b", upstreams["rasa"])
    assert re.search(rf"server\s+{actions_name}:5055\s+resolve\b", upstreams["actions"])
    assert re.search(r"proxy_pass\s+http://rasa;", conf) and re.search(r"proxy_pass\s+http://actions;", conf)
    assert "resolver 127.0.0.11" in conf  # Docker's DNS
    # `resolve` in an upstream needs nginx 1.27.3 or newer
    tag = nginx["image"].split(":")[1]
    version = tuple(int(p) for p in re.match(r"^(\d+(?:\.\d+)*)", tag).group(1).split("."))
    assert version >= ((1, 28) if len(version) == 2 else (1, 27, 3)), tag


def test_the_nginx_config_is_valid_for_nginx(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not nginx:
        pytest.skip("no nginx here to check the syntax with")
    # this nginx may predate `resolve` (1.27.3) and cannot resolve compose's names: swap them
    conf = NGINX_CONF.read_text(encoding="utf-8")
    conf = re.sub(r"\s+resolve\b", "", conf)
    conf = re.sub(r"server\s+\w+:(\d+)", r"server 127.0.0.1:\1", conf)
    conf = re.sub(r"^pid\s+[^;]+;", f"pid {tmp_path}/nginx.pid;", conf, flags=re.M)
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    result = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr


# -- the documentation -----------------------------------------------------------------------------

def test_the_deployment_doc_covers_the_profile():
    doc = DOCS.read_text(encoding="utf-8")
    assert "## Sizing" in doc
    sizing = doc.split("## Sizing", 1)[1]
    assert "MB" in sizing and "Mi" in sizing  # the measured figures and the values that take them
    for name in PROFILE_VARIABLES | set(parse_env_file(ENV_EXAMPLE)):
        assert f"`{name}`" in doc, name
    for url in (RASA_READY, RASA_LIVE, "/healthz", "/health"):
        assert url in doc
    assert "helm repo add rasa https://helm.rasa.com" in doc and "docker compose" in doc


# -- docker compose itself, where it is installed ----------------------------------------------------

def _docker_compose() -> Optional[str]:
    docker = shutil.which("docker")
    if not docker:
        return None
    try:
        ok = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return docker if ok else None


def test_docker_compose_accepts_the_file():
    docker = _docker_compose()
    if not docker:
        pytest.skip("`docker compose version` does not exit 0 here (no Compose plugin): "
                    "the compose file is checked by the parsing tests above only")
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_ONLY | {"POSTGRES_PASSWORD"}}
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "--env-file", str(ENV_EXAMPLE), "config", "-q"],
                            capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
