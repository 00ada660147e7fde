"""Language names as people write them ("arabiska", "بالعربية", "по-українськи") to codes.

The table is data, not code: every language name annotated in the NLU training examples
(``[arabiska]{"entity": "language", "value": "ar"}``) and every catalogue's own name.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Dict, Iterable, Optional

import yaml

from bot.language.normalize import normalize_token

_ANNOTATED = re.compile(r'\[([^\]]+)\]\{[^}]*"entity"\s*:\s*"language"[^}]*"value"\s*:\s*"([a-z]+)"[^}]*\}')
# prefixes that do not change which language is meant: "بال" (in the), "ال" (the), "به"/"بە" (in),
# "по-" (in ... manner), "af-" (Somali: the language of)
_PREFIXES = ("بال", "ال", "به", "بە", "по-", "по ", "af-", "af ")


def _key(name: str) -> str:
    words = [normalize_token(w) for w in name.replace("-", " - ").split()]
    text = " ".join(w for w in words if w and w != "-")
    for prefix in _PREFIXES:
        prefix = normalize_token(prefix).strip()
        if text.startswith(prefix) and len(text) > len(prefix) + 2:
            text = text[len(prefix):].strip()
    return text


def build_table(nlu_files: Iterable[Path], catalog_names: Dict[str, str]) -> Dict[str, str]:
    table: Dict[str, str] = {}
    for path in nlu_files:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.safe_load(handle) or {}
        for block in raw.get("nlu") or []:
            for name, code in _ANNOTATED.findall(str(block.get("examples") or "")):
                table.setdefault(_key(name), code)
    for code, name in catalog_names.items():
        table.setdefault(_key(name), code)
    return table


@functools.lru_cache(maxsize=4)
def _table(nlu_dir: str, names: tuple) -> Dict[str, str]:
    return build_table(sorted(Path(nlu_dir).glob("*.yml")), dict(names))


def language_code(name: Optional[str], nlu_dir: Path, catalog_names: Dict[str, str]) -> Optional[str]:
    """The code for a language name or code, or None when the name is not known."""
    if not name:
        return None
    if name in catalog_names:
        return name
    table = _table(str(nlu_dir), tuple(sorted(catalog_names.items())))
    key = _key(name)
    if key in table:
        return table[key]
    hits = {code for known, code in table.items() if len(known) >= 4 and (known in key or key in known)}
    if not hits and len(key) >= 6:  # another ending of the same word: "арабська" ~ "арабською"
        hits = {code for known, code in table.items() if known[:6] == key[:6]}
    return hits.pop() if len(hits) == 1 else None
