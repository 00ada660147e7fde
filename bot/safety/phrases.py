"""Curated crisis phrases per language (``bot/safety/phrases/<code>.yml``).

A phrase is a few words. It matches a message when its words come one after the other in the
message, after both are normalised the same way as for NLU (case, Arabic-script letter variants,
marks and digits; see :mod:`bot.language.normalize`) and punctuation is dropped. A word that
ends in ``*`` matches every word that starts with it: ``självmord*`` matches "självmordstankar".

Every file has four categories (``suicide``, ``self_harm``, ``violence``, ``danger``), and two
lists for the tests: ``examples`` (whole messages that must be recognised) and ``negatives``
(messages that sound alike but are no crisis, e.g. "I am tired of waiting").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.language.normalize import normalize_token

PHRASES_DIR = Path(__file__).resolve().parent / "phrases"
CATEGORIES = ("suicide", "self_harm", "violence", "danger")

# anything that is neither a letter, a mark nor a digit separates words; an apostrophe inside a
# word ("don't", "can't") is dropped instead, so "dont" and "don't" are one word
_APOSTROPHES = re.compile("['’`ʼ]")


def words(text: str) -> List[str]:
    text = unicodedata.normalize("NFKC", text)
    text = _APOSTROPHES.sub("", text)
    # format characters (ZWNJ in Persian and Kurdish words) join, as in NLU; the rest separates
    cleaned = "".join(
        ch if unicodedata.category(ch)[0] in "LMN" else "" if unicodedata.category(ch) == "Cf" else " "
        for ch in text
    )
    return [w for w in (normalize_token(part) for part in cleaned.split()) if w]


@dataclass(frozen=True)
class Phrase:
    language: str
    category: str
    text: str
    tokens: Tuple[str, ...]


def _token_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


@dataclass(frozen=True)
class PhraseList:
    language: str
    phrases: Tuple[Phrase, ...]
    examples: Tuple[str, ...]
    negatives: Tuple[str, ...]


def _tokens(phrase: str) -> Tuple[str, ...]:
    out: List[str] = []
    for part in phrase.split():
        found = words(part.rstrip("*"))
        if found and part.endswith("*"):
            found[-1] += "*"
        out.extend(found)
    return tuple(out)


def load(path: Path) -> PhraseList:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    language = str(raw.get("language") or path.stem)
    phrases = []
    for category in CATEGORIES:
        for text in (raw.get("phrases") or {}).get(category) or []:
            tokens = _tokens(str(text))
            if tokens:
                phrases.append(Phrase(language, category, str(text), tokens))
    return PhraseList(
        language=language,
        phrases=tuple(phrases),
        examples=tuple(str(e) for e in raw.get("examples") or []),
        negatives=tuple(str(e) for e in raw.get("negatives") or []),
    )


@lru_cache(maxsize=4)
def load_all(directory: Path = PHRASES_DIR) -> Dict[str, PhraseList]:
    return {p.stem: load(p) for p in sorted(directory.glob("*.yml"))}


class PhraseIndex:
    """Every language's phrases by their first word, so a message is checked against few."""

    def __init__(self, lists: Dict[str, PhraseList]) -> None:
        self.exact: Dict[str, List[Phrase]] = {}
        self.prefixed: Dict[str, List[Phrase]] = {}  # first word ends in "*": by its first 2 letters
        for phrase_list in lists.values():
            for phrase in phrase_list.phrases:
                first = phrase.tokens[0]
                if first.endswith("*"):
                    self.prefixed.setdefault(first[:-1][:2], []).append(phrase)
                else:
                    self.exact.setdefault(first, []).append(phrase)

    def find(self, message: List[str]) -> Optional[Phrase]:
        for start, word in enumerate(message):
            # a prefix of one letter is filed under that letter, longer ones under two
            candidates = self.exact.get(word, []) + self.prefixed.get(word[:2], []) + self.prefixed.get(word[:1], [])
            for phrase in candidates:
                n = len(phrase.tokens)
                if start + n <= len(message) and all(
                    _token_matches(p, w) for p, w in zip(phrase.tokens, message[start:start + n])
                ):
                    return phrase
        return None


@lru_cache(maxsize=4)
def index(directory: Path = PHRASES_DIR) -> PhraseIndex:
    return PhraseIndex(load_all(directory))


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    language: str
    phrase: str


def match(text: str, directory: Path = PHRASES_DIR) -> Optional[CrisisMatch]:
    """The first crisis phrase of any language found in ``text``, or None.

    Every language's phrases are tried: a message is often in another language than the
    conversation, and the scripts rarely overlap.
    """
    message = words(text)
    if not message:
        return None
    phrase = index(directory).find(message)
    return CrisisMatch(phrase.category, phrase.language, phrase.text) if phrase is not None else None


def check(directory: Path = PHRASES_DIR) -> List[str]:
    """Problems with the phrase files: an example not matched, a negative matched."""
    problems = []
    for code, phrase_list in load_all(directory).items():
        for example in phrase_list.examples:
            if match(example, directory) is None:
                problems.append(f"{code}: example not recognised: {example!r}")
        for negative in phrase_list.negatives:
            found = match(negative, directory)
            if found is not None:
                problems.append(f"{code}: negative matched {found.language}/{found.phrase!r}: {negative!r}")
    return problems


if __name__ == "__main__":  # python -m bot.safety.phrases: check the files
    import sys

    found = check()
    print("\n".join(found) or "all examples recognised, no negative matched")
    sys.exit(1 if found else 0)
