"""Which channels to start: ``credentials.yml`` with only the channels whose settings are set.

Rasa refuses a credentials file that names an environment variable which is not set. So
``intake run`` renders ``credentials.yml`` into the data directory first: a channel whose
required ``${NAME}`` variables are all set is kept (Rasa reads the secrets from the environment,
they are never written to disk); ``${NAME:-default}`` is optional and filled in here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import yaml

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
CHANNEL_NAMES = {
    "rest": "REST",
    "bot.channels.health.HealthInput": "Health",
    "bot.channels.tablet.TabletInput": "Tablet channel",
    "bot.channels.telegram.TelegramInput": "Telegram",
    "bot.channels.elks.ElksInput": "SMS (46elks)",
    "bot.channels.twilio_sms.TwilioInput": "SMS (Twilio)",
}


def _fill_optional(value: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if default is None:
            return match.group(0)  # required: Rasa expands it from the environment
        return env.get(name) or default

    return VARIABLE.sub(replace, value)


def render_credentials(source: Path, env: Mapping[str, str]) -> Tuple[Dict, List[str], Dict[str, List[str]]]:
    """(the credentials to use, channels on, channels off with the variables they miss)."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    kept: Dict = {}
    on: List[str] = []
    off: Dict[str, List[str]] = {}
    for channel, settings in raw.items():
        settings = settings or {}
        missing = sorted({
            m.group(1)
            for value in settings.values() if isinstance(value, str)
            for m in VARIABLE.finditer(value) if m.group(2) is None and not env.get(m.group(1))
        })
        name = CHANNEL_NAMES.get(channel, channel)
        if missing:
            off[name] = missing
            continue
        kept[channel] = {k: _fill_optional(v, env) if isinstance(v, str) else v for k, v in settings.items()} or None
        on.append(name)
    return kept, on, off


def write_credentials(source: Path, target: Path, env: Mapping[str, str]) -> Tuple[List[str], Dict[str, List[str]]]:
    kept, on, off = render_credentials(source, env)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(kept, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return on, off
