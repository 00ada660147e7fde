"""The Rasa NLU component that recognises a crisis by the curated phrase lists.

In ``config.yml``, after the intent classifier and the FallbackClassifier::

    - name: bot.safety.components.CrisisRecognition

A message that holds a phrase of :mod:`bot.safety.phrases` (any language) gets the intent
``crisis`` with confidence 1.0, whatever the classifier said: recall matters more than anything
here. The classifier's own ``crisis`` is kept only when it is sure (``nlu_confidence``); below that
the next intent of its ranking is taken, so that "I am tired of waiting" is no crisis. The message
gets ``crisis: {category, detected_by}`` for the actions.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.phrases import match

CRISIS_INTENT = "crisis"
CRISIS_KEY = "crisis"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CrisisRecognition(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"nlu_confidence": 0.8}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CrisisRecognition":
        return cls(float(config.get("nlu_confidence", 0.8)))

    def __init__(self, nlu_confidence: float = 0.8) -> None:
        self.nlu_confidence = nlu_confidence

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._recognise(message)
        return messages

    def _recognise(self, message: Message) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text or text.startswith("/"):  # a button's payload says what it means
            return
        ranking = list(message.get(INTENT_RANKING_KEY) or [])
        found = match(text)
        if found is not None:
            intent = {"name": CRISIS_INTENT, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent] + [r for r in ranking if r.get("name") != CRISIS_INTENT],
                        add_to_output=True)
            message.set(CRISIS_KEY, {"category": found.category, "detected_by": "phrase"}, add_to_output=True)
            return
        intent = message.get(INTENT) or {}
        if intent.get("name") != CRISIS_INTENT:
            return
        if float(intent.get("confidence") or 0.0) >= self.nlu_confidence:
            message.set(CRISIS_KEY, {"category": "other", "detected_by": "nlu"}, add_to_output=True)
            return
        others = [r for r in ranking if r.get("name") != CRISIS_INTENT]
        message.set(INTENT, others[0] if others else {"name": "nlu_fallback", "confidence": 0.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, others, add_to_output=True)
