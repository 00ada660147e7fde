"""A short-text language identifier built on langdetect's n-gram profiles.

Three kinds of evidence, all from the SIB-200 train split (never the evaluation split):
langdetect's own profiles of 1–3-grams (its ``LangProfile`` builder and ``NGram``
normalisation), raw 1–4-grams with word boundaries (langdetect folds Persian ی into Arabic ي,
which these keep apart), and whole words. They are combined as a deterministic naive-Bayes
score — langdetect's own detector samples n-grams at random, which on a two-word message
changes its answer from run to run. The script of the letters (Ge'ez, Cyrillic, Arabic, Latin)
first restricts the candidates.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from langdetect.utils.lang_profile import LangProfile
from langdetect.utils.ngram import NGram

# The languages the assistant can meet; Dari and Persian are one (fa).
LANGUAGES = ("sv", "en", "ar", "so", "ti", "fa", "uk", "ckb", "kmr", "ps", "am", "tr", "ru")
SCRIPTS: Mapping[str, Sequence[str]] = {
    "ETHIOPIC": ("am", "ti"),
    "CYRILLIC": ("uk", "ru"),
    "ARABIC": ("ar", "fa", "ckb", "ps"),
    "LATIN": ("sv", "en", "so", "kmr", "tr"),
}
PROFILE_FILE = Path(__file__).resolve().parent / "profiles" / "lid.json.gz"

# weights and smoothing, chosen on a held-back part of the train split
CHAR_ALPHA, CHAR_SPACE = 0.5, 5000
RAW_WEIGHT, RAW_ALPHA, RAW_SPACE = 0.5, 0.1, 50000
WORD_WEIGHT, WORD_ALPHA, WORD_SPACE = 2.0, 0.1, 20000

_WORD = re.compile(r"[^\W\d_]+")
_NOT_LETTER = re.compile(r"[\W\d_]+")


def langdetect_grams(text: str) -> List[str]:
    """1–3-grams exactly as langdetect extracts them (with its normalisation)."""
    grams = NGram()
    found = []
    for ch in NGram.normalize_vi(text):
        grams.add_char(ch)
        for n in range(1, NGram.N_GRAM + 1):
            gram = grams.get(n)
            if gram:
                found.append(gram)
    return found


def raw_grams(text: str, longest: int = 4) -> List[str]:
    padded = " " + _NOT_LETTER.sub(" ", text.casefold()).strip() + " "
    return [padded[i:i + n] for n in range(1, longest + 1) for i in range(len(padded) - n + 1) if padded[i:i + n].strip()]


def words(text: str) -> List[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def script_of(ch: str) -> Optional[str]:
    """The script of a letter; digits and punctuation ("٢", "؟", "።") belong to none."""
    if not unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lo"):  # not tatweel (Lm) either
        return None
    name = unicodedata.name(ch, "")
    for script in SCRIPTS:
        if name.startswith(script):
            return script
    return None


def dominant_script(text: str) -> Optional[str]:
    counts = Counter(s for s in map(script_of, text) if s)
    return counts.most_common(1)[0][0] if counts else None


@dataclass
class _Counts:
    counts: Dict[str, int]
    total: int

    def logp(self, item: str, alpha: float, space: int) -> float:
        return math.log((self.counts.get(item, 0) + alpha) / (self.total + alpha * space))


class LanguageModel:
    """Scores of the candidate languages for a text. Build with :meth:`train` or :meth:`load`."""

    def __init__(self, char: Mapping[str, LangProfile], raw: Mapping[str, _Counts], word: Mapping[str, _Counts]) -> None:
        self.char = dict(char)
        self.raw = dict(raw)
        self.word = dict(word)
        self.languages = tuple(sorted(self.char))
        self._char_vocab = set().union(*(set(p.freq) for p in self.char.values()))

    # -- building -------------------------------------------------------------------------

    @classmethod
    def train(cls, texts: Mapping[str, Iterable[str]], min_count: int = 2) -> "LanguageModel":
        char, raw, word = {}, {}, {}
        for code, sentences in texts.items():
            sentences = list(sentences)
            profile = LangProfile(code)
            for sentence in sentences:
                profile.update(sentence)
            profile.omit_less_freq()
            char[code] = profile
            raw_counts = Counter(g for s in sentences for g in raw_grams(s))
            word_counts = Counter(w for s in sentences for w in words(s))
            raw[code] = _Counts({g: c for g, c in raw_counts.items() if c >= min_count}, sum(raw_counts.values()))
            word[code] = _Counts(dict(word_counts), sum(word_counts.values()))
        return cls(char, raw, word)

    def save(self, path: Path) -> None:
        data = {
            code: {
                "langdetect": {"name": code, "freq": dict(self.char[code].freq), "n_words": self.char[code].n_words},
                "raw": {"counts": self.raw[code].counts, "total": self.raw[code].total},
                "words": {"counts": self.word[code].counts, "total": self.word[code].total},
            }
            for code in self.languages
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as handle:
            json.dump(data, handle, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def load(cls, path: Path = PROFILE_FILE) -> "LanguageModel":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        char = {c: LangProfile(c, d["langdetect"]["freq"], d["langdetect"]["n_words"]) for c, d in data.items()}
        raw = {c: _Counts(d["raw"]["counts"], d["raw"]["total"]) for c, d in data.items()}
        word = {c: _Counts(d["words"]["counts"], d["words"]["total"]) for c, d in data.items()}
        return cls(char, raw, word)

    # -- scoring --------------------------------------------------------------------------

    def candidates(self, text: str) -> Sequence[str]:
        script = dominant_script(text)
        if script is None:
            return ()
        return tuple(code for code in SCRIPTS[script] if code in self.char)

    def log_scores(self, text: str, candidates: Optional[Sequence[str]] = None) -> Dict[str, float]:
        candidates = self.candidates(text) if candidates is None else candidates
        grams = [g for g in langdetect_grams(text) if g in self._char_vocab]
        raws = raw_grams(text)
        tokens = words(text)
        scores = {}
        for code in candidates:
            profile = self.char[code]
            score = 0.0
            for gram in grams:
                n = len(gram)
                score += math.log((profile.freq.get(gram, 0) + CHAR_ALPHA) / (profile.n_words[n - 1] + CHAR_ALPHA * CHAR_SPACE))
            raw = self.raw[code]
            score += RAW_WEIGHT * sum(raw.logp(g, RAW_ALPHA, RAW_SPACE) for g in raws)
            word = self.word[code]
            score += WORD_WEIGHT * sum(word.logp(w, WORD_ALPHA, WORD_SPACE) for w in tokens)
            scores[code] = score
        return scores

    def probabilities(self, text: str, candidates: Optional[Sequence[str]] = None,
                      prior: Optional[Mapping[str, float]] = None) -> Dict[str, float]:
        """Posterior probabilities over the candidates (empty when the text has no letters)."""
        scores = self.log_scores(text, candidates)
        if not scores:
            return {}
        if prior:
            scores = {c: s + math.log(prior.get(c, 1.0)) for c, s in scores.items()}
        top = max(scores.values())
        exp = {c: math.exp(s - top) for c, s in scores.items()}
        total = sum(exp.values())
        return {c: v / total for c, v in sorted(exp.items(), key=lambda kv: -kv[1])}
