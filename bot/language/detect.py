"""Language detection for chat messages: the model, letter evidence, and conversation context."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional

from bot.language.model import LANGUAGES, LanguageModel, dominant_script

UNDETERMINED = "und"

# Letters that, within their script, only one of the candidate languages uses.
DISTINCTIVE: Mapping[str, str] = {
    **{ch: "ckb" for ch in "ڵڕۆێەڤ"},
    **{ch: "ps" for ch in "ټډړږښګڼۍېځڅ"},
    **{ch: "fa" for ch in "پچژگ"},  # also Sorani and Pashto, whose own letters weigh more
    **{ch: "ar" for ch in "ةىإأ"},
    **{ch: "uk" for ch in "іїєґ"},
    **{ch: "ru" for ch in "ыэъё"},
    **{ch: "sv" for ch in "åä"},
    **{ch: "tr" for ch in "ğı"},
    **{ch: "kmr" for ch in "êîû"},
}
LETTER_BOOST = 20.0
# How strongly the conversation's language and a channel's hint hold, as prior odds.
CURRENT_BOOST = 4.0
HINT_BOOST = 2.0


@dataclass(frozen=True)
class Detection:
    language: str  # a code of LANGUAGES, or "und"
    confidence: float
    probabilities: Dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "language": self.language,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }


class LanguageDetector:
    """Deterministic: the same text (and context) always gives the same answer."""

    def __init__(self, model: Optional[LanguageModel] = None) -> None:
        self.model = model or LanguageModel.load()

    def detect(self, text: str, current: Optional[str] = None, hint: Optional[str] = None) -> Detection:
        """The language of ``text``; ``current`` is the conversation's language, ``hint`` a
        channel's guess (e.g. Telegram's language_code). Texts without letters are "und"."""
        text = text or ""
        if dominant_script(text) is None:
            return Detection(UNDETERMINED, 0.0)
        candidates = self.model.candidates(text)
        prior = {code: 1.0 for code in candidates}
        for code in {DISTINCTIVE.get(ch) for ch in text.casefold()} & set(prior):
            prior[code] *= LETTER_BOOST  # once per language, however long the text
        probabilities = self.model.probabilities(text, candidates, prior)
        if not probabilities:
            return Detection(UNDETERMINED, 0.0)
        return with_context(probabilities, current, hint)


def with_context(probabilities: Mapping[str, float], current: Optional[str] = None,
                 hint: Optional[str] = None) -> Detection:
    """Re-weigh a detection by the conversation's language (it sticks) and a channel's hint."""
    if not probabilities:
        return Detection(UNDETERMINED, 0.0)
    weighted = dict(probabilities)
    if current in weighted:
        weighted[current] *= CURRENT_BOOST
    if hint in weighted:
        weighted[hint] *= HINT_BOOST
    total = sum(weighted.values()) or 1.0
    ordered = {c: v / total for c, v in sorted(weighted.items(), key=lambda kv: -kv[1])}
    language, confidence = next(iter(ordered.items()))
    return Detection(language, confidence, ordered)


_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def default_detector() -> LanguageDetector:
    with _lock:
        return LanguageDetector()


def detect_language(text: str) -> str:
    """One of ``LANGUAGES`` ("fa" also for Dari) or "und" for ``text``. Never raises."""
    try:
        return default_detector().detect(text).language
    except Exception:  # noqa: BLE001 - a detector must not take a conversation down
        return UNDETERMINED


__all__ = ["Detection", "LanguageDetector", "LANGUAGES", "UNDETERMINED", "default_detector", "detect_language", "with_context"]
