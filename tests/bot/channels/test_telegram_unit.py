"""bot.channels.telegram without a network: callback data, long texts, keyboards; commands."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.common import choice_payload
from actions.language import menu_payload
from bot.channels.base import as_user_text
from bot.channels.telegram import (
    MAX_CALLBACK_DATA,
    MAX_TEXT,
    decode_callback,
    encode_callback,
    keyboard,
    split_text,
)


def nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def no_space(text: str) -> str:
    return "".join(text.split())


# -- callback data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, short",
    [
        ('/choose{"choice":"yes"}', "c:yes"),
        ('/choose{"choice":"25_34"}', "c:25_34"),
        ('/choose{"choice":"17"}', "c:17"),
        ('/set_language{"language":"ar"}', "l:ar"),
        ('/set_language{"language":"ckb"}', "l:ckb"),
        ("/skip", "/skip"),
    ],
)
def test_usual_payloads_have_short_forms_that_decode_back(payload, short):
    assert encode_callback(payload, 0) == short
    assert decode_callback(short, []) == payload


def test_the_projects_own_payload_builders_round_trip():
    for payload in (choice_payload("yes"), choice_payload("varmdo"), menu_payload("uk"), menu_payload("kmr")):
        assert decode_callback(encode_callback(payload, 3), []) == payload


def test_a_choice_with_non_ascii_text_round_trips():
    payload = choice_payload("Gustavsberg–Värmdö")
    assert decode_callback(encode_callback(payload, 0), []) == payload


def test_a_long_payload_becomes_its_index_and_decodes_through_the_options():
    long_choice = "ö" * 40  # 80 bytes
    options = [
        {"title": "Ja", "payload": choice_payload("yes")},
        {"title": "Lång", "payload": choice_payload(long_choice)},
    ]
    data = encode_callback(options[1]["payload"], 1)
    assert data == "#1"
    assert decode_callback(data, options) == options[1]["payload"]


def test_a_long_payload_of_another_kind_becomes_its_index_too():
    payload = "/inform" + json.dumps({"text": "x" * 80})
    assert encode_callback(payload, 4) == "#4"


@pytest.mark.parametrize("data", ["", "hello", "x:yes", "#", "#abc", "#5", "#1.5", "{}", "yes"])
def test_garbage_or_stale_data_decodes_to_none(data):
    options = [{"title": "Ja", "payload": choice_payload("yes")}]
    assert decode_callback(data, options) is None


def test_an_index_without_pending_choices_decodes_to_none():
    assert decode_callback("#0", []) is None


@given(code=st.text(), index=st.integers(min_value=0, max_value=99))
def test_every_choice_payload_fits_and_round_trips(code, index):
    payload = choice_payload(code)
    data = encode_callback(payload, index)
    assert 1 <= nbytes(data) <= MAX_CALLBACK_DATA
    options = [{"title": str(i), "payload": "/other"} for i in range(index)] + [{"title": "t", "payload": payload}]
    assert decode_callback(data, options) == payload


@given(code=st.text(), index=st.integers(min_value=0, max_value=99))
def test_every_language_payload_fits_and_round_trips(code, index):
    payload = "/set_language" + json.dumps({"language": code}, ensure_ascii=False, separators=(",", ":"))
    data = encode_callback(payload, index)
    assert nbytes(data) <= MAX_CALLBACK_DATA
    options = [{"title": "x", "payload": "/other"}] * index + [{"title": "t", "payload": payload}]
    assert decode_callback(data, options) == payload


@given(payload=st.text(), index=st.integers(min_value=0, max_value=10**6))
def test_any_payload_fits_in_64_bytes(payload, index):
    assert nbytes(encode_callback(payload, index)) <= MAX_CALLBACK_DATA


# -- long texts -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n", " " * 5000])
def test_a_blank_text_has_no_parts_telegram_would_refuse(text):
    assert split_text(text) == []


@pytest.mark.parametrize("text", ["Hej!", "a" * MAX_TEXT, "ord " * (MAX_TEXT // 4), "rad\n\n" * 800])
def test_texts_within_the_limit_are_unchanged(text):
    assert len(text) <= MAX_TEXT
    assert split_text(text) == [text]


def paragraphs(count: int) -> list:
    return [" ".join(f"p{p}w{w}" for w in range(1, 40 + p % 17)) + "." for p in range(count)]


def test_a_long_text_is_cut_at_paragraph_boundaries():
    paras = paragraphs(60)
    text = "\n\n".join(paras)
    assert len(text) >= 10_000
    parts = split_text(text)
    assert len(parts) >= 3
    assert all(len(part) <= MAX_TEXT for part in parts)
    # each part is whole paragraphs, and all of them in order
    rebuilt = []
    for part in parts:
        pieces = part.split("\n\n")
        assert all(piece in paras for piece in pieces), "a paragraph was cut"
        rebuilt.extend(pieces)
    assert rebuilt == paras
    assert " ".join(parts).split() == text.split()


def test_a_long_text_of_lines_is_cut_at_lines():
    lines = [f"{i}. " + "ord " * 20 for i in range(200)]
    parts = split_text("\n".join(lines))
    assert all(len(part) <= MAX_TEXT for part in parts)
    for part in parts[:-1]:
        assert part.split("\n")[-1].strip() in [line.strip() for line in lines]


def test_a_long_text_of_words_is_cut_between_words():
    words = [f"ord{i}" for i in range(3000)]
    parts = split_text(" ".join(words))
    assert len(parts) > 1
    assert all(len(part) <= MAX_TEXT for part in parts)
    assert [w for part in parts for w in part.split()] == words


def test_a_text_without_spaces_is_cut_hard_at_the_limit():
    text = "x" * 10_000
    assert split_text(text) == ["x" * MAX_TEXT, "x" * MAX_TEXT, "x" * (10_000 - 2 * MAX_TEXT)]


def test_a_text_whose_only_space_is_near_the_start_is_cut_into_full_parts():
    text = "ab " + "x" * 5000
    parts = split_text(text)
    assert [len(part) for part in parts] == [MAX_TEXT, len(text) - MAX_TEXT]


# few characters, many of them breaks and punctuation, so that cuts fall everywhere
BREAKY = st.sampled_from(list("ab.,!- \n\n\t\u00a0\u3000\u2028😀ٔ"))


@given(
    text=st.text(alphabet=BREAKY, max_size=400) | st.text(max_size=400),
    limit=st.integers(min_value=1, max_value=40),
)
def test_parts_fit_and_no_character_is_lost(text, limit):
    parts = split_text(text, limit)
    assert all(len(part) <= limit for part in parts)
    assert no_space("".join(parts)) == no_space(text)
    if len(text) > limit:
        assert all(part for part in parts)


# -- keyboard -------------------------------------------------------------------------------


def test_keyboard_has_one_button_per_row():
    buttons = [
        {"title": "Ja, det får ni", "payload": choice_payload("yes")},
        {"title": "Nej", "payload": choice_payload("no")},
        {"title": "Hoppa över", "payload": "/skip"},
        {"title": "Lång", "payload": choice_payload("x" * 70)},
    ]
    markup = keyboard(buttons)
    rows = markup.inline_keyboard
    assert [len(row) for row in rows] == [1, 1, 1, 1]
    assert [row[0].text for row in rows] == ["Ja, det får ni", "Nej", "Hoppa över", "Lång"]
    assert [row[0].callback_data for row in rows] == ["c:yes", "c:no", "/skip", "#3"]
    for i, row in enumerate(rows):
        assert decode_callback(row[0].callback_data, buttons) == buttons[i]["payload"]


def test_an_empty_keyboard_has_no_rows():
    assert list(keyboard([]).inline_keyboard) == []


# -- what a participant types ---------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, text",
    [
        ("/start", "/greet"),
        ("/start@intake_bot", "/greet"),
        ("/START", "/greet"),
        ("/start abc123", "/greet"),
        ("/help", "/help"),
        ("/hjalp", "/help"),
        ("/stopp", "/stop"),
        ("/sprak", "/change_language"),
        ("  /stop  ", "/stop"),
        ('/choose{"choice":"yes"}', 'choose{"choice":"yes"}'),
        ("/inform", "inform"),
        ("//greet", "greet"),
        ("/", ""),
        ("Hej, jag heter Amal", "Hej, jag heter Amal"),
        ("  Nacka \n", "Nacka"),
        ("   ", ""),
        ("", ""),
    ],
)
def test_as_user_text(typed, text):
    assert as_user_text(typed) == text


@given(st.text())
def test_typed_text_never_becomes_an_intent_with_entities(typed):
    text = as_user_text(typed)
    if text.startswith("/"):
        assert re.fullmatch(r"/(greet|help|stop|change_language)", text)


@pytest.mark.parametrize("data", ["#-1", "#+1", "# 1", '/choose{"choice":"yes"}', '/set_language{"language":"ar"}'])
def test_forged_indexes_and_raw_intents_with_entities_are_refused(data):
    """Only the short forms carry entities: a modified client cannot send '/choose{...}' as a tap."""
    options = [{"title": "Ja", "payload": choice_payload("yes")}, {"title": "Nej", "payload": choice_payload("no")}]
    assert decode_callback(data, options) is None
