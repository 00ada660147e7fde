"""Text normalisation for NLU: letter variants and digits that people type interchangeably."""

from __future__ import annotations

import re

# Arabic-script variants to one form; Arabic-Indic and Persian digits to ASCII digits
_TRANSLATE = str.maketrans({
    "ي": "ی", "ى": "ی", "ك": "ک", "ۀ": "ه", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
    "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9",
    "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
})
# harakat, tatweel, zero-width non-joiner/joiner and the Ethiopic word space as a plain space
_DROP = re.compile("[\u064b-\u065f\u0670\u0640\u200c\u200d]")


def normalize_token(text: str) -> str:
    """The form of a word NLU learns from: variants folded, marks dropped, lower case."""
    return _DROP.sub("", text.translate(_TRANSLATE)).casefold()


def normalize_text(text: str) -> str:
    return " ".join(normalize_token(part) for part in text.replace("፡", " ").split())
