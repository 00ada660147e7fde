"""A dialogue policy for what must win over the rules.

In ``config.yml``::

    - name: bot.safety.policy.SafetyPolicy

- **A paused conversation** (the ``handoff`` slot): every message goes to the person who took
  over (``action_handoff_relay``), except a crisis (the rules answer it at once), the
  participant's own requests about their data, and a clear wish to go back to the questions.
- **A yes or no right after a confirmation question** (erase my data, withdraw consent) answers
  that question (``action_confirm``), not whatever a yes means elsewhere.
- **An answer in the participant's own words** (a name, a job, a goal) goes to the form even
  when the classifier takes it for a request: an unknown name like "Sara" can look like "hjälp"
  to it. Which requests interrupt there: :mod:`bot.safety.interruptions`.

It learns nothing; its priority is above the RulePolicy's.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.constants import POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.intake.questions import INTAKE_QUESTIONS, PHONE, TEXT
from bot.safety.interruptions import interrupts_free_text

RELAY = "action_handoff_relay"
CONFIRM = "action_confirm"
ASKS_CONFIRMATION = ("action_erase_data", "action_withdraw_consent", "action_crisis_check", "action_cancel_booking")
# what a participant can still ask for while a person has the conversation
PASS_THROUGH = frozenset({"crisis", "erase_data", "withdraw_consent", "show_my_data"})
RESUME_CONFIDENCE = 0.9
INTERRUPTIONS = frozenset({
    "stop", "help", "talk_to_human", "change_language", "cancel_booking", "erase_data",
    "show_my_data", "withdraw_consent",
})
FREE_TEXT_SLOTS = frozenset(q.key for q in INTAKE_QUESTIONS if q.kind in (TEXT, PHONE))
CONFIRM_CONFIDENCE = 0.9


def clear_answer(text: str, confidence: float) -> bool:
    """A tapped button, or a short sure yes or no: an erasure or an alarm needs no guess."""
    return text.startswith("/") or (confidence >= CONFIRM_CONFIDENCE and len(text.split()) <= 3)


# ends a form after a question that asks for a yes or no (cancelling during the booking form)
DEACTIVATE_LOOP = "action_deactivate_loop"


def previous_action(tracker: DialogueStateTracker) -> Optional[str]:
    """The last action before the participant's latest message, other than listening (or ending a form)."""
    seen_user = False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            if seen_user:
                return None
            seen_user = True
        elif (seen_user and isinstance(event, ActionExecuted)
              and event.action_name not in (ACTION_LISTEN_NAME, DEACTIVATE_LOOP)):
            return event.action_name
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SafetyPolicy(Policy):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {POLICY_PRIORITY: 7}  # RulePolicy: 6

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        with self._model_storage.write_to(self._resource) as path:
            (path / "safety_policy.txt").write_text("no parameters\n", encoding="utf-8")
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self.decide(tracker)
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    @staticmethod
    def decide(tracker: DialogueStateTracker) -> Optional[str]:
        latest = tracker.latest_action_name
        if latest == "action_cancel_booking" and tracker.active_loop_name:
            return None  # during the intake there is no booking to cancel: the questions go on
        if latest in (RELAY, CONFIRM) + ASKS_CONFIRMATION:
            return ACTION_LISTEN_NAME
        if latest != ACTION_LISTEN_NAME or not isinstance(tracker.latest_message, UserUttered):
            return None
        intent = tracker.latest_message.intent or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        if name in ("affirm", "deny") and previous_action(tracker) in ASKS_CONFIRMATION and clear_answer(
            tracker.latest_message.text or "", confidence
        ):
            return CONFIRM
        loop = tracker.active_loop_name
        if (loop and tracker.get_slot("requested_slot") in FREE_TEXT_SLOTS and name in INTERRUPTIONS
                and not interrupts_free_text(name, confidence)):
            return loop
        if not tracker.get_slot("handoff"):
            return None
        if name in PASS_THROUGH:
            return None
        if name == "resume" and confidence >= RESUME_CONFIDENCE:
            return None
        return RELAY
