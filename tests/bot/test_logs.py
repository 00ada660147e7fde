"""Structured logs: one JSON object per line, with the service's name, and nothing else added."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, configure


def test_a_record_is_one_json_object_with_the_usual_fields(monkeypatch):
    monkeypatch.setenv("INTAKE_SERVICE", "rasa-2")
    record = logging.LogRecord("bot.scheduler", logging.INFO, __file__, 1, "sent %d", (3,), None)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["message"] == "sent 3"
    assert (data["level"], data["logger"], data["service"]) == ("INFO", "bot.scheduler", "rasa-2")
    assert "time" in data and "pid" in data and "\n" not in line


def test_configure_switches_our_processes_to_json_when_asked():
    configure("web", {"INTAKE_LOG_FORMAT": "json"})
    handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler.setStream(stream)
    logging.getLogger("bot.web").info("signed in: %s", "maria")
    assert json.loads(stream.getvalue())["service"] == "web"
    configure("web", {})
    assert not isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)
