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
    text = re.sub(r"[\u200c\u200d]", " ", text)
    text = re.sub(r"[^\w\s+]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


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


# How an answer was understood. "Firm" ways leave no doubt that the message answers the
# question; the others (free text, the "other" option) accept nearly anything.
FIRM = frozenset({"tap", "skip", "label", "number", "words", "place", "phone"})


@dataclass(frozen=True)
class Answer:
    value: Optional[str]  # option code, E.164 number, or the text itself for text questions
    free_text: Optional[str] = None  # what was typed, when it is kept as written
    how: str = "label"

    @property
    def firm(self) -> bool:
        return self.how in FIRM

    @property
    def skipped(self) -> bool:
        return self.value == SKIPPED


def _exact_label(wanted: str, labels: Mapping[str, str], options: Sequence[str]) -> Optional[str]:
    for code in options:
        if wanted == normalize(labels.get(code, code)):
            return code
        # a typed option code ("varmdo"); numeric codes are not, a typed number is a position
        if not code.isdigit() and wanted == normalize(code):
            return code
    return None


def _match_label(wanted: str, labels: Mapping[str, str], options: Sequence[str],
                 also: Mapping[str, Sequence[str]]) -> Optional[str]:
    """The one option whose label or listed words the typed text names; None when unsure."""
    normalized = {code: normalize(labels.get(code, code)) for code in options}
    # the typed text is a whole word of exactly one label ("nacka" for "Nacka kommun")
    hits = [code for code, label in normalized.items() if len(wanted) >= 3 and re.search(rf"\b{re.escape(wanted)}\b", label)]
    if len(hits) == 1:
        return hits[0]
    close = difflib.get_close_matches(wanted, list(normalized.values()), n=1, cutoff=0.85)
    if close:
        return next(code for code, label in normalized.items() if label == close[0])
    # words the catalogue lists for an option ("bror" for "Hos släkt eller vänner")
    words = set(wanted.split())
    named = [code for code in options if any(set(normalize(w).split()) <= words for w in also.get(code, ()) if normalize(w))]
    if len(named) == 1:
        return named[0]
    return None


def interpret(
    question: Question,
    text: str,
    *,
    choice: Optional[str] = None,
    intent: Optional[str] = None,
    labels: Mapping[str, str] = {},
    also: Mapping[str, Sequence[str]] = {},
    yes_words: Sequence[str] = (),
    no_words: Sequence[str] = (),
    place_to_municipality=None,
    phone_region: str = "SE",
) -> Optional[Answer]:
    """The answer that ``text`` (or a tapped ``choice``) gives to ``question``, or None."""
    if intent == "skip" and question.skippable:
        return Answer(SKIPPED, how="skip")
    if choice is not None:
        if choice == SKIPPED and question.skippable:
            return Answer(SKIPPED, how="skip")
        if question.kind == CHOICE and choice in question.options:
            return Answer(choice, how="tap")
        return None
    text = (text or "").strip()
    if not text:
        return None
    if question.kind == TEXT:
        if text.startswith("/"):
            return None
        return Answer(text[:MAX_TEXT], free_text=text[:MAX_TEXT], how="text")
    if question.kind == PHONE:
        number = normalize_phone(text, phone_region)
        return Answer(number, how="phone") if number else None
    # CHOICE
    options = question.options
    wanted = normalize(text)
    if set(options) == {"yes", "no"}:
        # The participant's own words decide; a refusal is never read as consent.
        words = wanted.split()
        if words and words[0] in {normalize(w) for w in no_words}:
            return Answer("no", how="words")
        if words and words[0] in {normalize(w) for w in yes_words} and not (set(words) & {normalize(w) for w in no_words}):
            return Answer("yes", how="words")
        code = _exact_label(wanted, labels, options)
        if code is not None:
            return Answer(code, how="label")
        if intent == "deny":
            return Answer("no", how="words")
        if intent == "affirm":
            return Answer("yes", how="words")
        return None
    code = _exact_label(wanted, labels, options)
    if code is not None:
        return Answer(code, how="label")
    number = first_number(text)
    if question.number_to_option is not None and number is not None:
        code = question.number_to_option(number)
        return Answer(code, how="number") if code in options else None
    if number is not None and wanted == str(number):
        if 1 <= number <= len(options):
            return Answer(options[number - 1], how="number")
        return None
    code = _match_label(wanted, labels, options, also)
    if code is not None:
        return Answer(code, how="label")
    if place_to_municipality is not None:
        for word in [wanted] + wanted.split():
            municipality = place_to_municipality(word)
            if municipality in options:
                return Answer(municipality, free_text=text[:MAX_TEXT], how="place")
    if question.other is not None and len(wanted) >= 2:
        return Answer(question.other, free_text=text[:MAX_TEXT], how="other")
    return None
