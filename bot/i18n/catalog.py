"""Load and render the per-language text catalogues.

A catalogue (``locales/<code>.yml``) has ``meta`` (the language's own name, direction, review
status), ``messages`` (key -> text with ``{placeholders}``) and ``questions`` (key -> text and
option labels). Swedish is the reference: every catalogue must have exactly its keys.
"""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

DEFAULT_LANGUAGE = "sv"
REFERENCE_LANGUAGE = "sv"


class CatalogError(ValueError):
    pass


def placeholders(text: str) -> Tuple[str, ...]:
    return tuple(sorted({name for _, name, _, _ in string.Formatter().parse(text) if name}))


@dataclass(frozen=True)
class Catalog:
    code: str
    name: str  # the language's name in its own script
    direction: str  # "ltr" or "rtl"
    status: str  # "reviewed" or "draft"
    reviewer: str
    messages: Mapping[str, str]
    questions: Mapping[str, Mapping]
    # shorter texts for SMS, where every 160 (or 70) characters cost a segment: ``sms.messages``
    # and ``sms.questions`` override the same keys
    sms: Mapping[str, Mapping] = field(default_factory=dict)
    variant: str = ""  # "sms" for the SMS variant
    # short names of the stored answers, for showing participants their own data (``labels``)
    labels: Mapping[str, str] = field(default_factory=dict)

    def for_sms(self) -> "Catalog":
        """This catalogue with its SMS texts in place of the longer ones."""
        if self.variant == "sms":
            return self
        questions = {key: dict(question) for key, question in self.questions.items()}
        for key, override in (self.sms.get("questions") or {}).items():
            override = override if isinstance(override, Mapping) else {"text": override}
            merged = questions.setdefault(str(key), {})
            for part, value in override.items():
                if part == "options":
                    merged["options"] = {**(merged.get("options") or {}), **value}
                else:
                    merged[str(part)] = value
        messages = {**self.messages, **{str(k): str(v) for k, v in (self.sms.get("messages") or {}).items()}}
        return replace(self, messages=messages, questions=questions, variant="sms")

    def text(self, key: str, **values) -> str:
        try:
            template = self.messages[key]
        except KeyError as exc:
            raise CatalogError(f"{self.code}: no message {key!r}") from exc
        return template.format(**values).strip()

    def label(self, key: str) -> str:
        return str(self.labels.get(key) or key).strip()

    def question_text(self, key: str) -> str:
        return str(self.questions[key]["text"]).strip()

    def option_label(self, question: str, option: str) -> str:
        return str(self.questions[question]["options"][option]).strip()

    def option_labels(self, question: str) -> Dict[str, str]:
        options = self.questions[question].get("options") or {}
        return {code: str(label).strip() for code, label in options.items()}

    def option_words(self, question: str) -> Dict[str, List[str]]:
        """Words that name an option besides its label (``also:``), e.g. "bror" for family."""
        also = self.questions.get(question, {}).get("also") or {}
        return {str(code): [w.strip() for w in str(words).split(",") if w.strip()] for code, words in also.items()}

    def words(self, key: str) -> List[str]:
        """A list-valued message, e.g. the words that mean yes (``words_yes``)."""
        return [w.strip() for w in self.messages.get(key, "").split(",") if w.strip()]

    def keys(self) -> Dict[str, Tuple[str, ...]]:
        """Every key with its placeholders, for comparing catalogues."""
        found: Dict[str, Tuple[str, ...]] = {}
        for key, text in self.messages.items():
            found[f"messages.{key}"] = placeholders(text)
        for key, question in self.questions.items():
            found[f"questions.{key}.text"] = placeholders(str(question.get("text", "")))
            for option, label in (question.get("options") or {}).items():
                found[f"questions.{key}.options.{option}"] = placeholders(str(label))
        for key in self.labels:
            found[f"labels.{key}"] = ()
        return found


def _read(path: Path) -> Catalog:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    meta = raw.get("meta") or {}
    code = meta.get("code") or path.stem
    if code != path.stem:
        raise CatalogError(f"{path}: meta.code {code!r} does not match the file name")
    direction = meta.get("direction", "ltr")
    if direction not in ("ltr", "rtl"):
        raise CatalogError(f"{path}: direction must be ltr or rtl")
    return Catalog(
        code=code,
        name=str(meta.get("name") or code),
        direction=direction,
        status=str(meta.get("status") or "draft"),
        reviewer=str(meta.get("reviewer") or ""),
        messages={str(k): str(v) for k, v in (raw.get("messages") or {}).items()},
        questions={str(k): {str(kk): vv for kk, vv in (v or {}).items()} for k, v in (raw.get("questions") or {}).items()},
        sms={str(k): dict(v or {}) for k, v in (raw.get("sms") or {}).items()},
        labels={str(k): str(v) for k, v in (raw.get("labels") or {}).items()},
    )


class Catalogs:
    """All catalogues of one directory; unknown languages fall back to Swedish."""

    def __init__(self, catalogs: Mapping[str, Catalog], order: Iterable[str]) -> None:
        if DEFAULT_LANGUAGE not in catalogs:
            raise CatalogError("the Swedish catalogue (sv.yml) is required")
        self._catalogs = dict(catalogs)
        self.order = [code for code in order if code in self._catalogs]

    def __contains__(self, code: object) -> bool:
        return code in self._catalogs

    def get(self, code: Optional[str]) -> Catalog:
        return self._catalogs.get(code or DEFAULT_LANGUAGE) or self._catalogs[DEFAULT_LANGUAGE]

    @property
    def languages(self) -> List[str]:
        return list(self.order)

    def all(self) -> List[Catalog]:
        return [self._catalogs[code] for code in self.order]


_cache: Dict[Tuple[str, Tuple[Tuple[str, float], ...]], Catalogs] = {}
_lock = threading.Lock()


def load_catalogs(directory: Path) -> Catalogs:
    """The catalogues of ``directory``, re-read when a file changes."""
    directory = Path(directory)
    files = sorted(directory.glob("*.yml"))
    stamp = tuple((str(f), f.stat().st_mtime) for f in files)
    key = (str(directory), stamp)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        catalogs = {c.code: c for c in (_read(f) for f in files)}
        order_file = directory / "ORDER"
        if order_file.exists():
            order = [line.strip() for line in order_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            order = sorted(catalogs)
        order += [code for code in sorted(catalogs) if code not in order]
        result = Catalogs(catalogs, order)
        _cache.clear()
        _cache[key] = result
        return result


RLM = "\u200f"


def with_direction(catalog: Catalog, text: str) -> str:
    """Every line of a right-to-left text starts with a RIGHT-TO-LEFT MARK, so that plain-text
    front ends (SMS, chat apps) lay it out right to left."""
    if catalog.direction != "rtl":
        return text
    return "\n".join(RLM + line if line and not line.startswith(RLM) else line for line in text.split("\n"))


def format_day(catalog: Catalog, when, timezone: str) -> Dict[str, str]:
    """``{"day": "tisdag 3 december", "time": "10:00"}`` in the catalogue's language, local time."""
    from zoneinfo import ZoneInfo

    local = when.astimezone(ZoneInfo(timezone))
    weekdays = catalog.words("weekdays")
    months = catalog.words("months")
    day = catalog.text("day_format", weekday=weekdays[local.weekday()], day=local.day, month=months[local.month - 1])
    return {"day": day, "time": local.strftime("%H:%M")}
