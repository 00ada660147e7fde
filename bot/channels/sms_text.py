"""SMS text: GSM 03.38 encodability, segment counting and SMS-friendly shaping.

Pure functions without I/O. An SMS is sent as GSM-7 when every character is in the GSM 03.38
default alphabet (basic table, or extension table at 2 septets each), otherwise as UCS-2
(UTF-16 code units). One message holds 160 septets or 70 units; a concatenated message loses
the room for its user data header and holds 153 septets or 67 units per part. A part never
ends in the middle of an escape sequence (GSM-7) or of a surrogate pair (UCS-2).

    count_segments("Hej! Välkommen.")   # Segments(encoding='GSM-7', units=15, parts=1, per_part=160)
    to_gsm("10–12 ”idag”")              # '10-12 "idag"'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_SINGLE = 160
GSM7_CONCATENATED = 153
UCS2_SINGLE = 70
UCS2_CONCATENATED = 67

ESCAPE = "\x1b"

# The GSM 03.38 (3GPP TS 23.038) default alphabet, indexed by septet value. 0x1B is the
# escape to the extension table, not a character of its own.
GSM_BASIC_TABLE = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"  # 0x00-0x0F
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # 0x10-0x1A: Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ
    "\x1b\u00c6\u00e6\u00df\u00c9"  # 0x1B-0x1F: ESC Æ æ ß É
    " !\"#\u00a4%&'()*+,-./"  # 0x20-0x2F
    "0123456789:;<=>?"  # 0x30-0x3F
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"  # 0x40-0x5F: ¡ A-Z Ä Ö Ñ Ü §
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"  # 0x60-0x7F: ¿ a-z ä ö ñ ü à
)

# The extension table: character -> septet value after the escape. Each costs 2 septets.
GSM_EXTENSION_TABLE: Mapping[str, int] = {
    "\x0c": 0x0A,  # form feed
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "\u20ac": 0x65,  # €
}

GSM_BASIC: frozenset[str] = frozenset(GSM_BASIC_TABLE) - {ESCAPE}
GSM_EXTENSION: frozenset[str] = frozenset(GSM_EXTENSION_TABLE)
GSM_CHARACTERS: frozenset[str] = GSM_BASIC | GSM_EXTENSION

RLM = "\u200f"  # RIGHT-TO-LEFT MARK
LRM = "\u200e"  # LEFT-TO-RIGHT MARK
ALM = "\u061c"  # ARABIC LETTER MARK


def _typographic_table() -> dict[int, str | None]:
    """Build the ``str.translate`` table used by :func:`to_gsm`."""
    table: dict[int, str | None] = {}

    def put(chars: Iterable[str], replacement: str | None) -> None:
        for char in chars:
            table[ord(char)] = replacement

    def span(first: int, last: int) -> list[str]:
        return [chr(code) for code in range(first, last + 1)]

    put("\u2018\u2019\u201a\u201b\u2032", "'")  # ‘ ’ ‚ ‛ ′
    put("\u201c\u201d\u201e\u2033\u00ab\u00bb", '"')  # “ ” „ ″ « »
    put("\u2013\u2014\u2010\u2011\u2212", "-")  # – — ‐ ‑ −
    put("\u2026", "...")  # …
    put("\u2022", "*")  # •
    # No-break, fixed-width and narrow spaces.
    put(["\u00a0", *span(0x2000, 0x200A), "\u202f", "\u205f", "\u3000"], " ")
    # Zero-width characters and bidi controls: invisible, but they force UCS-2.
    put([*span(0x200B, 0x200F), *span(0x202A, 0x202E), *span(0x2066, 0x2069), "\ufeff"], None)
    return table


TYPOGRAPHIC: Mapping[int, str | None] = _typographic_table()

# Arabic-Indic (U+0660-0669), Extended Arabic-Indic / Persian (U+06F0-06F9) and fullwidth
# (U+FF10-FF19) digits -> ASCII, for ``str.translate``.
DIGITS: Mapping[int, int] = {
    base + value: ord("0") + value for base in (0x0660, 0x06F0, 0xFF10) for value in range(10)
}

_MARKS = LRM + RLM + ALM
_OPTION = re.compile(rf"[\s{_MARKS}]*([0-9]+)[.)]?[\s{_MARKS}]*")


@dataclass(frozen=True)
class Segments:
    """How a text goes out as SMS.

    ``encoding`` is ``"GSM-7"`` or ``"UCS-2"``; ``units`` counts septets (GSM-7, extension
    characters 2 each) or UTF-16 code units (UCS-2); ``parts`` is the number of SMS billed;
    ``per_part`` is the capacity of each part (160/153 septets or 70/67 units).
    """

    encoding: str
    units: int
    parts: int
    per_part: int


def is_gsm(text: str) -> bool:
    """Whether ``text`` can be sent in the GSM 03.38 default alphabet (with its extension)."""
    return all(char in GSM_CHARACTERS for char in text)


def _pack(costs: Iterable[int], capacity: int) -> int:
    """Count the parts needed when units of the given costs may not straddle a part boundary."""
    parts, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            parts += 1
            used = 0
        used += cost
    return parts


def count_segments(text: str) -> Segments:
    """Count the SMS parts ``text`` takes; the empty text is one part of 0 units."""
    if is_gsm(text):
        encoding, single, concatenated = GSM7, GSM7_SINGLE, GSM7_CONCATENATED
        costs = [2 if char in GSM_EXTENSION else 1 for char in text]
    else:
        encoding, single, concatenated = UCS2, UCS2_SINGLE, UCS2_CONCATENATED
        costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    units = sum(costs)
    if units <= single:
        return Segments(encoding, units, 1, single)
    return Segments(encoding, units, _pack(costs, concatenated), concatenated)


def total_parts(texts: Iterable[str]) -> int:
    """The number of SMS parts the texts take together, each sent as its own message."""
    return sum(count_segments(text).parts for text in texts)


def to_gsm(text: str) -> str:
    """Replace typographic characters so that ``text`` becomes GSM-7, if that is enough.

    Curly quotes, dashes, ellipsis, bullet and special spaces get ASCII stand-ins; zero-width
    characters and bidi controls are removed. Letters are never changed. When the result is
    still not GSM-7 (Arabic, Cyrillic, ş, ç, ...), the original text is returned unchanged.
    """
    replaced = text.translate(TYPOGRAPHIC)
    return replaced if is_gsm(replaced) else text


def _first_strong(text: str) -> str | None:
    """The bidi class (``"L"``, ``"R"`` or ``"AL"``) of the first strong character, if any."""
    for char in text:
        bidi = unicodedata.bidirectional(char)
        if bidi in ("L", "R", "AL"):
            return bidi
    return None


def strip_redundant_bidi_marks(text: str) -> str:
    """Drop a line-leading RIGHT-TO-LEFT MARK where the line already starts right-to-left.

    The mark is kept when the line's first strong character after it is left-to-right (a Latin
    place name opening a line of an Arabic message) or when the line has no strong character.
    Each mark costs a UCS-2 unit.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith(RLM) and _first_strong(line[1:]) in ("R", "AL"):
            lines[index] = line[1:]
    return "\n".join(lines)


def numbered_list(text: str, titles: Sequence[str]) -> str:
    """``text`` followed by one line per option, ``"1 Ja"``, ``"2 Nej"``, ...; no list without titles."""
    if not titles:
        return text
    options = "\n".join(f"{number} {title}" for number, title in enumerate(titles, start=1))
    return f"{text}\n{options}"


def parse_option_number(reply: str, count: int) -> int | None:
    """The 0-based option index of a reply that is just a number from 1 to ``count``, else None.

    Arabic-Indic, Persian and fullwidth digits count as digits; surrounding whitespace,
    directional marks and one trailing ``"."`` or ``")"`` are allowed.
    """
    match = _OPTION.fullmatch(reply.translate(DIGITS))
    if match is None or count < 1:
        return None
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > len(str(count)):  # also keeps int() away from huge digit strings
        return None
    number = int(digits)
    return number - 1 if 1 <= number <= count else None
