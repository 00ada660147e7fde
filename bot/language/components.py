"""Rasa NLU components: a normalising tokenizer and language detection.

In ``config.yml``::

    - name: bot.language.components.NormalizingWhitespaceTokenizer
    ...
    - name: bot.language.components.LanguageDetection
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language.normalize import normalize_token

LANGUAGE_DETECTION = "language_detection"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class NormalizingWhitespaceTokenizer(WhitespaceTokenizer):
    """Whitespace tokens whose text is normalised (ي/ی, ك/ک, harakat, ZWNJ, digits).

    The message text itself stays as written, so what a participant typed is kept unchanged.
    """

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.text = normalize_token(token.text)
            token.lemma = token.text
        return [t for t in tokens if t.text]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class LanguageDetection(GraphComponent):
    """Adds ``language_detection`` ({language, confidence, probabilities}) to every message.

    Context (the conversation's language, a channel's hint) is applied later, by the actions,
    which know the conversation.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LanguageDetection":
        return cls()

    def __init__(self) -> None:
        from bot.language.detect import LanguageDetector

        self._detector = LanguageDetector()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if text and not text.startswith("/"):
                message.set(LANGUAGE_DETECTION, self._detector.detect(text).as_dict(), add_to_output=True)
        return messages
