"""Structured logs: one JSON object per line, for the production profile.

``INTAKE_LOG_FORMAT=json`` switches our processes (web apps, scheduler) to it; Rasa and the action
server take ``deploy/logging.yml`` (``--logging-config-file``), which names the same formatter.
What is logged is unchanged: pseudonymous ids, codes and counts, never a name, a number or an
answer (docs/privacy.md, "Logs").
"""

from __future__ import annotations

import logging
import os
from typing import Mapping, Optional

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}


class JsonFormatter(_JsonFormatter):
    """``{"time", "level", "logger", "pid", "message", ...}``, plus ``service`` when set."""

    def __init__(self, *args, **kwargs) -> None:
        service = os.environ.get("INTAKE_SERVICE")
        kwargs.setdefault("fmt", FIELDS)
        kwargs.setdefault("rename_fields", RENAMED)
        if service:
            kwargs.setdefault("static_fields", {"service": service})
        super().__init__(*args, **kwargs)


def configure(service: str, env: Optional[Mapping[str, str]] = None, level: int = logging.INFO) -> None:
    """Set up the root logger of one of our processes: JSON when asked, else plain lines."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler()
    if env.get("INTAKE_LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonFormatter(static_fields={"service": service}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s - %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
