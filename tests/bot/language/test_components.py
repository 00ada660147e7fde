"""bot.language.components: the normalising tokenizer and the language-detection NLU component."""

from __future__ import annotations

import copy

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language.components import LANGUAGE_DETECTION, LanguageDetection, NormalizingWhitespaceTokenizer


@pytest.fixture(scope="module")
def tokenizer() -> NormalizingWhitespaceTokenizer:
    # as Rasa builds it: create(config, model_storage, resource, execution_context); none of the last three is used
    return NormalizingWhitespaceTokenizer.create(WhitespaceTokenizer.get_default_config(), None, None, None)


@pytest.fixture(scope="module")
def detection() -> LanguageDetection:
    return LanguageDetection.create(LanguageDetection.get_default_config(), None, None, None)


def tokens_of(tokenizer, text: str):
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    return message, message.get(TOKENS_NAMES[TEXT])


# -- NormalizingWhitespaceTokenizer --------------------------------------------------------------

def test_tokenizer_is_a_whitespace_tokenizer(tokenizer):
    assert isinstance(tokenizer, WhitespaceTokenizer)
    assert NormalizingWhitespaceTokenizer.get_default_config() == WhitespaceTokenizer.get_default_config()


def test_tokens_are_normalised_and_the_text_is_kept(tokenizer):
    text = "می‌خواهم كتاب"
    message, tokens = tokens_of(tokenizer, text)
    assert [t.text for t in tokens] == ["میخواهم", "کتاب"]
    assert [t.lemma for t in tokens] == ["میخواهم", "کتاب"]
    assert message.get(TEXT) == text  # what the participant typed stays as typed


def test_token_offsets_point_into_the_original_text(tokenizer):
    text = "می‌خواهم كتاب"
    _, tokens = tokens_of(tokenizer, text)
    assert [(t.start, t.end) for t in tokens] == [(0, 8), (9, 13)]
    assert [text[t.start:t.end] for t in tokens] == ["می‌خواهم", "كتاب"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("مَرْحَبًا يا علي", ["مرحبا", "یا", "علی"]),
        ("٣ كتب", ["3", "کتب"]),
        ("۳ روز", ["3", "روز"]),
        ("Hej Där", ["hej", "där"]),
        ("سـلام", ["سلام"]),
        ("привіт як справи", ["привіт", "як", "справи"]),
    ],
)
def test_tokens_of_several_scripts(tokenizer, text, expected):
    message, tokens = tokens_of(tokenizer, text)
    assert [t.text for t in tokens] == expected
    assert message.get(TEXT) == text


def test_tokens_that_normalise_to_nothing_are_dropped(tokenizer):
    _, tokens = tokens_of(tokenizer, "ـ hej")
    assert [t.text for t in tokens] == ["hej"]


def test_tokenizer_processes_training_data(tokenizer):
    data = TrainingData([Message(data={TEXT: "كيف حالك", INTENT: "greet"})])
    tokenizer.process_training_data(data)
    assert [t.text for t in data.training_examples[0].get(TOKENS_NAMES[TEXT])] == ["کیف", "حالک"]
    assert data.training_examples[0].get(TEXT) == "كيف حالك"


# -- LanguageDetection ---------------------------------------------------------------------------

def test_detection_is_added_to_a_message(detection):
    message = Message(data={TEXT: "salaan sidee tahay"})
    assert detection.process([message]) == [message]
    found = message.get(LANGUAGE_DETECTION)
    assert set(found) == {"language", "confidence", "probabilities"}
    assert found["language"] == "so"
    assert 0.0 <= found["confidence"] <= 1.0
    assert set(found["probabilities"]) == {"sv", "en", "so", "kmr", "tr"}
    assert LANGUAGE_DETECTION in message.output_properties  # in the parse result the actions receive


@pytest.mark.parametrize("text, language", [("hej hej", "sv"), ("привет как дела", "ru"), ("2", "und"), ("🙂", "und")])
def test_detection_of_several_messages(detection, text, language):
    message = Message(data={TEXT: text})
    detection.process([message])
    found = message.get(LANGUAGE_DETECTION)
    assert found["language"] == language
    assert 0.0 <= found["confidence"] <= 1.0


def test_payloads_are_not_detected(detection):
    payload = Message(data={TEXT: '/set_language{"language":"so"}'})
    empty = Message(data={TEXT: ""})
    without_text = Message(data={})
    detection.process([payload, empty, without_text])
    for message in (payload, empty, without_text):
        assert message.get(LANGUAGE_DETECTION) is None
        assert LANGUAGE_DETECTION not in message.output_properties


def test_every_message_of_a_batch_is_processed(detection):
    messages = [Message(data={TEXT: t}) for t in ("hej hej", "/greet", "hello there")]
    detection.process(messages)
    assert [m.get(LANGUAGE_DETECTION, {}).get("language") for m in messages] == ["sv", None, "en"]


def test_training_data_is_returned_unchanged(detection):
    data = TrainingData([Message(data={TEXT: "hej hej", INTENT: "greet"}), Message(data={TEXT: "salaan", INTENT: "greet"})])
    before = copy.deepcopy([m.data for m in data.training_examples])
    assert detection.process_training_data(data) is data
    assert [m.data for m in data.training_examples] == before
    assert all(m.get(LANGUAGE_DETECTION) is None for m in data.training_examples)


def test_default_config_is_empty():
    assert LanguageDetection.get_default_config() == {}
