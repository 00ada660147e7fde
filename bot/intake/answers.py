"""Turn what a participant typed or tapped into the answer of a question.

People answer by tapping a button (its option code arrives as the ``choice`` entity), by
typing the option's label ("Nacka", "lite svenska"), a number ("34" for an age, "2" for the
second option), yes/no words, or a place name. Anything that cannot be understood gives
``None`` so that the assistant asks again politely; nothing typed is silently dropped.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import phonenumbers

from bot.intake.questions import CHOICE, PHONE, SKIPPED, TEXT, Question

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_NUMBER = re.compile(r"\d+")
MAX_TEXT = 500


def normalize(text: str) -> str:
    """Lower case, no diacritics, ASCII digits, single spaces, no edge punctuation."""
    text = unicodedata.normalize("NFKC", text or "").translate(_DIGITS).casefold()
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = re.sub(r"[\s\u200c\u200d]+", " ", text)
    return text.strip(" .,!?;:'\"()-–")


def first_number(text: str) -> Optional[int]:
    match = _NUMBER.search(normalize(text))
    return int(match.group()) if match else None


def normalize_phone(text: str, region: str = "SE") -> Optional[str]:
    """A valid phone number in E.164, or None."""
    candidate = unicodedata.normalize("NFKC", text or "").translate(_DIGITS)
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Answer:
    value: Optional[str]  # option code, E.164 number, or the text itself for text questions
    free_text: Optional[str] = None  # what was typed, when it is kept as written

    @property
    def skipped(self) -> bool:
        return self.value == SKIPPED


def _match_label(text: str, labels: Mapping[str, str], options: Sequence[str]) -> Optional[str]:
    wanted = normalize(text)
    if not wanted:
        return None
    normalized = {code: normalize(labels.get(code, code)) for code in options}
    for code, label in normalized.items():
        if wanted == label or wanted == normalize(code):
            return code
    # a typed word that is a whole word of exactly one label ("nacka" for "Nacka kommun")
    hits = [code for code, label in normalized.items() if len(wanted) >= 3 and re.search(rf"\b{re.escape(wanted)}\b", label)]
    if len(hits) == 1:
        return hits[0]
    close = difflib.get_close_matches(wanted, list(normalized.values()), n=1, cutoff=0.85)
    if close:
        return next(code for code, label in normalized.items() if label == close[0])
    return None


def interpret(
    question: Question,
    text: str,
    *,
    choice: Optional[str] = None,
    intent: Optional[str] = None,
    labels: Mapping[str, str] = {},
    yes_words: Sequence[str] = (),
    no_words: Sequence[str] = (),
    place_to_municipality=None,
    phone_region: str = "SE",
) -> Optional[Answer]:
    """The answer that ``text`` (or a tapped ``choice``) gives to ``question``, or None."""
    if intent == "skip" and question.skippable:
        return Answer(SKIPPED)
    if choice is not None:
        if choice == SKIPPED and question.skippable:
            return Answer(SKIPPED)
        if question.kind == CHOICE and choice in question.options:
            return Answer(choice)
        return None
    text = (text or "").strip()
    if not text:
        return None
    if question.kind == TEXT:
        if text.startswith("/"):
            return None
        return Answer(text[:MAX_TEXT], free_text=text[:MAX_TEXT])
    if question.kind == PHONE:
        number = normalize_phone(text, phone_region)
        return Answer(number) if number else None
    # CHOICE
    options = question.options
    if set(options) >= {"yes", "no"}:
        word = normalize(text)
        if intent == "affirm" or word in {normalize(w) for w in yes_words}:
            return Answer("yes")
        if intent == "deny" or word in {normalize(w) for w in no_words}:
            return Answer("no")
    number = first_number(text)
    if question.number_to_option is not None and number is not None:
        code = question.number_to_option(number)
        return Answer(code) if code in options else None
    if number is not None and normalize(text) == str(number):
        if 1 <= number <= len(options):
            return Answer(options[number - 1])
        return None
    code = _match_label(text, labels, options)
    if code is not None:
        return Answer(code)
    if place_to_municipality is not None:
        for word in [normalize(text)] + normalize(text).split():
            municipality = place_to_municipality(word)
            if municipality in options:
                return Answer(municipality, free_text=text[:MAX_TEXT])
    if question.other is not None and len(normalize(text)) >= 2:
        return Answer(question.other, free_text=text[:MAX_TEXT])
    return None
