"""Tests for bot.channels.sms_text: GSM 03.38, segment counting and SMS text shaping."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.sms_text import (
    DIGITS,
    GSM_BASIC,
    GSM_BASIC_TABLE,
    GSM_EXTENSION,
    GSM_EXTENSION_TABLE,
    Segments,
    count_segments,
    is_gsm,
    numbered_list,
    parse_option_number,
    strip_redundant_bidi_marks,
    to_gsm,
    total_parts,
)

RLM = "\u200f"

# Written out independently of the module, from 3GPP TS 23.038.
EXPECTED_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡" + string.ascii_uppercase + "ÄÖÑÜ§"
    "¿" + string.ascii_lowercase + "äöñüà"
)
EXPECTED_EXTENSION = set("^{}\\[~]|€\x0c")


# --- the alphabet ------------------------------------------------------------------------


def test_basic_table_is_exactly_gsm_03_38():
    assert len(GSM_BASIC_TABLE) == 128
    assert len(set(GSM_BASIC_TABLE)) == 128
    assert GSM_BASIC == EXPECTED_BASIC
    assert len(GSM_BASIC) == 127  # plus the escape at 0x1B


@pytest.mark.parametrize(
    "position, char",
    [(0x00, "@"), (0x09, "Ç"), (0x0A, "\n"), (0x0D, "\r"), (0x10, "\u0394"), (0x15, "\u03a9"),
     (0x1B, "\x1b"), (0x1F, "É"), (0x24, "¤"), (0x40, "¡"), (0x5F, "§"), (0x60, "¿"), (0x7F, "à")],
)
def test_basic_table_positions(position, char):
    assert GSM_BASIC_TABLE[position] == char


def test_extension_table():
    assert GSM_EXTENSION == EXPECTED_EXTENSION
    assert GSM_EXTENSION_TABLE["€"] == 0x65
    assert GSM_EXTENSION_TABLE["\x0c"] == 0x0A
    assert GSM_EXTENSION_TABLE["|"] == 0x40
    assert not GSM_BASIC & GSM_EXTENSION


@pytest.mark.parametrize("text", ["åäöÅÄÖé", "Hej! Välkommen till Värmdö.", "Waan ku faraxsanahay", "€[]{}", ""])
def test_gsm_texts(text):
    assert is_gsm(text)
    assert count_segments(text).encoding == "GSM-7"


@pytest.mark.parametrize(
    "text",
    [
        "مرحبا، كيف حالك؟",  # Arabic
        "سلام، خوبی؟",  # Persian
        "ሰላም",  # Tigrinya
        "привіт",  # Ukrainian
        "Ez baş im",  # Kurmanji
        "ç",  # only the capital Ç is GSM
        "Ω\u2126",  # Greek Omega is GSM, OHM SIGN is not
        "tab\there",
        "\x1b",  # the escape is not a character of its own
    ],
)
def test_ucs2_texts(text):
    assert not is_gsm(text)
    assert count_segments(text).encoding == "UCS-2"


# --- segment boundaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, parts, per_part",
    [(0, 1, 160), (1, 1, 160), (160, 1, 160), (161, 2, 153), (306, 2, 153), (307, 3, 153), (459, 3, 153), (460, 4, 153)],
)
def test_gsm_boundaries(length, parts, per_part):
    assert count_segments("a" * length) == Segments("GSM-7", length, parts, per_part)


@pytest.mark.parametrize(
    "length, parts, per_part",
    [(1, 1, 70), (70, 1, 70), (71, 2, 67), (134, 2, 67), (135, 3, 67), (201, 3, 67), (202, 4, 67)],
)
def test_ucs2_boundaries(length, parts, per_part):
    assert count_segments("ж" * length) == Segments("UCS-2", length, parts, per_part)


def test_empty_text_is_one_part_of_nothing():
    assert count_segments("") == Segments("GSM-7", 0, 1, 160)


def test_extension_characters_count_two_septets():
    assert count_segments("€") == Segments("GSM-7", 2, 1, 160)
    assert count_segments("a" * 158 + "€") == Segments("GSM-7", 160, 1, 160)
    assert count_segments("a" * 159 + "€") == Segments("GSM-7", 161, 2, 153)
    assert count_segments("€" * 80) == Segments("GSM-7", 160, 1, 160)


def test_escape_sequence_does_not_straddle_parts():
    # 306 septets would fit 2 x 153, but the € at septets 153-154 moves to part 2.
    assert count_segments("a" * 152 + "€" + "a" * 152) == Segments("GSM-7", 306, 3, 153)
    # Ending exactly on the boundary does not push it.
    assert count_segments("a" * 151 + "€" + "a" * 153) == Segments("GSM-7", 306, 2, 153)
    # 76 euro signs (152 septets) per part: 153 of them need 3 parts, not ceil(306 / 153) = 2.
    assert count_segments("€" * 153).parts == 3


def test_emoji_counts_two_units():
    assert count_segments("😀") == Segments("UCS-2", 2, 1, 70)
    assert count_segments("😀" * 35) == Segments("UCS-2", 70, 1, 70)
    assert count_segments("😀" * 36) == Segments("UCS-2", 72, 2, 67)
    assert count_segments("a" * 69 + "😀") == Segments("UCS-2", 71, 2, 67)


def test_surrogate_pair_is_not_split():
    assert count_segments("ж" * 66 + "😀" + "ж" * 66) == Segments("UCS-2", 134, 3, 67)
    assert count_segments("ж" * 65 + "😀" + "ж" * 67) == Segments("UCS-2", 134, 2, 67)
    assert count_segments("😀" * 67).parts == 3  # 33 per part


def test_total_parts():
    assert total_parts(["a" * 161, "ж", ""]) == 4
    assert total_parts(text for text in ("ж" * 71, "😀" * 67)) == 5
    assert total_parts([]) == 0


# --- to_gsm ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Välkommen – vi ses 10–12!", "Välkommen - vi ses 10-12!"),
        ("Hon sa ”hej” och ’tack’…", "Hon sa \"hej\" och 'tack'..."),
        ("«Ja» — „nej“ ‚kanske‛", "\"Ja\" - \"nej\" 'kanske'"),
        ("5\u2032 10\u2033 \u22123 co\u2010op non\u2011stop", "5' 10\" -3 co-op non-stop"),
        ("Pris: 1\u00a0000\u202fkr\u2009totalt", "Pris: 1 000 kr totalt"),
        ("\ufeffHej\u200b då\u200e\u200f\u202a\u202e\u2066\u2069", "Hej då"),
        ("• Ja\n• Nej", "* Ja\n* Nej"),
        ("Hello there, it’s Tuesday", "Hello there, it's Tuesday"),
        ("Waan ku faraxsanahay – mahadsanid", "Waan ku faraxsanahay - mahadsanid"),
    ],
)
def test_to_gsm_replaces_typography(text, expected):
    assert not is_gsm(text)
    assert to_gsm(text) == expected
    assert is_gsm(to_gsm(text))


@pytest.mark.parametrize(
    "text",
    [
        "«مرحبا» – كيف حالك؟",
        "\u200fمرحبا\u200b",
        "Ez baş im – spas",
        "привіт — ”друг”",
        "Français – oui",  # ç stays ç, so the text stays UCS-2 and unchanged
        "Hej – 😀",
    ],
)
def test_to_gsm_leaves_other_texts_unchanged(text):
    assert to_gsm(text) == text


def test_to_gsm_leaves_gsm_text_alone():
    text = "Ç? [ok] €5 \"hej\" 'då' - ... @£$¥ \\ ^~|{}\x0c\r\n"
    assert is_gsm(text)
    assert to_gsm(text) == text


# --- bidi marks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (RLM + "مرحبا", "مرحبا"),
        (RLM + "שלום", "שלום"),  # Hebrew is R, Arabic is AL
        (RLM + "12:30 موعدك", "12:30 موعدك"),  # weak and neutral characters are skipped
        (RLM + "Värmdö: موعدك", RLM + "Värmdö: موعدك"),  # the line starts left-to-right
        (RLM + "12:30", RLM + "12:30"),  # no strong character
        (RLM, RLM),
        ("مرحبا " + RLM + "ok", "مرحبا " + RLM + "ok"),  # only a leading mark
        (" " + RLM + "مرحبا", " " + RLM + "مرحبا"),
        (RLM + "مرحبا\n" + RLM + "Värmdö\n" + RLM + "٣ أيام", "مرحبا\n" + RLM + "Värmdö\n" + "٣ أيام"),
        (RLM + "مرحبا\r\n" + RLM + "سلام\r\n", "مرحبا\r\n" + "سلام\r\n"),
        ("", ""),
    ],
)
def test_strip_redundant_bidi_marks(text, expected):
    assert strip_redundant_bidi_marks(text) == expected


def test_stripping_marks_saves_units():
    text = "\n".join(RLM + "مرحبا" for _ in range(3))
    assert count_segments(strip_redundant_bidi_marks(text)).units == count_segments(text).units - 3


# --- numbered lists and replies -----------------------------------------------------------


def test_numbered_list():
    assert numbered_list("Vill du fortsätta?", ["Ja", "Nej"]) == "Vill du fortsätta?\n1 Ja\n2 Nej"
    assert numbered_list("هل تريد المتابعة؟", ("نعم", "لا")) == "هل تريد المتابعة؟\n1 نعم\n2 لا"


def test_numbered_list_numbers_past_nine():
    lines = numbered_list("Välj", [f"t{i}" for i in range(11)]).split("\n")
    assert lines[0] == "Välj"
    assert lines[10] == "10 t9"
    assert lines[11] == "11 t10"


def test_numbered_list_without_titles_is_the_text():
    assert numbered_list("Tack!", []) == "Tack!"


def test_digits_table():
    assert "٠١٢٣٤٥٦٧٨٩".translate(DIGITS) == "0123456789"
    assert "۰۱۲۳۴۵۶۷۸۹".translate(DIGITS) == "0123456789"
    assert "０１２３４５６７８９".translate(DIGITS) == "0123456789"
    assert "abc 12".translate(DIGITS) == "abc 12"


@pytest.mark.parametrize(
    "reply, count, expected",
    [
        ("1", 2, 0),
        ("2", 2, 1),
        ("２", 2, 1),
        ("١", 3, 0),
        ("۲", 3, 1),
        (" 3. ", 3, 2),
        ("3)", 3, 2),
        ("\u200f٣", 3, 2),
        ("٣\u200f", 3, 2),
        ("\u200e2\n", 3, 1),
        ("12", 12, 11),
        ("١٢", 12, 11),
        ("01", 3, 0),
    ],
)
def test_parse_option_number(reply, count, expected):
    assert parse_option_number(reply, count) == expected


@pytest.mark.parametrize(
    "reply, count",
    [
        ("0", 3),
        ("4", 3),
        ("13", 12),
        ("12abc", 20),
        ("1 2", 3),
        ("", 3),
        ("   ", 3),
        ("ja", 3),
        ("one", 3),
        ("-1", 3),
        ("+1", 3),
        ("1..", 3),
        ("(1)", 3),
        ("1", 0),
        ("1" * 5000, 3),
        ("١abc", 3),
    ],
)
def test_parse_option_number_rejects(reply, count):
    assert parse_option_number(reply, count) is None


# --- properties --------------------------------------------------------------------------

GSM_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(sorted(EXPECTED_BASIC)), st.sampled_from(sorted(EXPECTED_EXTENSION))),
    max_size=700,
)
TYPOGRAPHY = "‘’‚‛′“”„″«»–—‐‑−…•\u00a0\u202f\u2009\u200b\u200e\u200f\u202a\u2066\ufeff"
MIXED_TEXT = st.text(alphabet=st.sampled_from(sorted(EXPECTED_BASIC) + list(TYPOGRAPHY) + ["ş", "ж", "😀"]))


def reference_gsm_parts(text: str) -> int:
    """Lay out the septet stream with explicit escapes and cut it, backing off from a dangling escape."""
    stream: list[str] = []
    for char in text:
        stream.extend(["ESC", char] if char in EXPECTED_EXTENSION else [char])
    if len(stream) <= 160:
        return 1
    parts, start = 0, 0
    while start < len(stream):
        end = min(start + 153, len(stream))
        if end < len(stream) and stream[end - 1] == "ESC":
            end -= 1
        parts, start = parts + 1, end
    return parts


def reference_ucs2_parts(text: str) -> int:
    """Cut the UTF-16 encoding into 67-unit parts, backing off from a dangling high surrogate."""
    data = text.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data), 2)]
    if len(units) <= 70:
        return 1
    parts, start = 0, 0
    while start < len(units):
        end = min(start + 67, len(units))
        if end < len(units) and 0xD800 <= units[end - 1] <= 0xDBFF:
            end -= 1
        parts, start = parts + 1, end
    return parts


@given(st.text())
def test_count_segments_any_text(text):
    segments = count_segments(text)
    assert segments.parts >= 1
    assert segments.encoding in ("GSM-7", "UCS-2")
    assert segments.units <= segments.parts * segments.per_part


@given(GSM_TEXT)
def test_gsm_parts_match_reference(text):
    segments = count_segments(text)
    assert segments.encoding == "GSM-7"
    assert segments.units == len(text) + sum(char in EXPECTED_EXTENSION for char in text)
    assert segments.parts == reference_gsm_parts(text)


@given(st.text(alphabet=st.sampled_from(["ж", "😀", "a", "€"]), min_size=1, max_size=400))
def test_ucs2_parts_match_reference(text):
    text = "ж" + text
    segments = count_segments(text)
    assert segments.encoding == "UCS-2"
    assert segments.units == len(text.encode("utf-16-le")) // 2
    assert segments.parts == reference_ucs2_parts(text)


@given(st.one_of(st.text(), MIXED_TEXT))
def test_to_gsm_is_gsm_or_the_input(text):
    result = to_gsm(text)
    assert is_gsm(result) or result == text
    assert to_gsm(result) == result


@given(st.text(alphabet=st.sampled_from(sorted(EXPECTED_BASIC) + list(TYPOGRAPHY))))
def test_to_gsm_makes_typographic_latin_text_gsm(text):
    assert is_gsm(to_gsm(text))


@given(st.data())
def test_parse_option_number_roundtrip(data):
    count = data.draw(st.integers(min_value=1, max_value=500))
    number = data.draw(st.integers(min_value=1, max_value=count))
    assert parse_option_number(str(number), count) == number - 1
    arabic = str(number).translate({ord("0") + d: 0x0660 + d for d in range(10)})
    assert parse_option_number(arabic, count) == number - 1
    assert parse_option_number(str(count + number), count) is None
