"""SafetyPolicy: a paused conversation goes to the person; a yes answers the confirmation just asked."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.safety.policy import CONFIRM, RELAY, SafetyPolicy
from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


def tracker(domain, *events):
    return DialogueStateTracker.from_events("s", list(events), domain.slots)


def said(intent, confidence=1.0, text="/x"):
    return [ActionExecuted("action_listen"), UserUttered(text, {"name": intent, "confidence": confidence})]


def test_a_paused_conversation_goes_to_the_person(domain):
    paused = [SlotSet("handoff", True)]
    assert SafetyPolicy.decide(tracker(domain, *paused, *said("greet"))) == RELAY
    assert SafetyPolicy.decide(tracker(domain, *paused, *said("inform"))) == RELAY
    # a crisis, or a request about one's data, is answered by the assistant even now
    for intent in ("crisis", "erase_data", "withdraw_consent", "show_my_data"):
        assert SafetyPolicy.decide(tracker(domain, *paused, *said(intent))) is None
    # going back to the questions needs a clear wish (a tap), not a guess
    assert SafetyPolicy.decide(tracker(domain, *paused, *said("resume", 0.5))) == RELAY
    assert SafetyPolicy.decide(tracker(domain, *paused, *said("resume", 1.0))) is None
    # after relaying, listen
    relayed = tracker(domain, *paused, *said("inform"), ActionExecuted(RELAY))
    assert SafetyPolicy.decide(relayed) == "action_listen"


def test_after_asking_for_a_confirmation_it_listens(domain):
    for asking in ("action_erase_data", "action_withdraw_consent", "action_crisis_check"):
        assert SafetyPolicy.decide(tracker(domain, *said("x"), ActionExecuted(asking))) == "action_listen"


def test_an_unsure_request_at_a_free_text_question_is_an_answer(domain):
    from rasa.shared.core.events import ActiveLoop

    asking_name = [ActiveLoop("intake_form"), SlotSet("requested_slot", "name")]
    assert SafetyPolicy.decide(tracker(domain, *asking_name, *said("help", 0.76, "Sara"))) == "intake_form"
    assert SafetyPolicy.decide(tracker(domain, *asking_name, *said("help", 0.99, "hjälp"))) is None
    # a booking or one's data can wait until the answer is given
    assert SafetyPolicy.decide(tracker(domain, *asking_name, *said("cancel_booking", 0.99, "kök"))) == "intake_form"
    assert SafetyPolicy.decide(tracker(domain, *asking_name, *said("crisis", 0.85, "..."))) is None
    asking_choice = [ActiveLoop("intake_form"), SlotSet("requested_slot", "housing")]
    assert SafetyPolicy.decide(tracker(domain, *asking_choice, *said("help", 0.76, "Sara"))) is None


def test_without_a_handoff_it_abstains(domain):
    assert SafetyPolicy.decide(tracker(domain, *said("greet"))) is None
    assert SafetyPolicy.decide(tracker(domain, *said("affirm"))) is None


def test_a_yes_right_after_a_confirmation_question_confirms(domain):
    asked = [*said("erase_data"), ActionExecuted("action_erase_data"), BotUttered("Radera allt?")]
    assert SafetyPolicy.decide(tracker(domain, *asked, *said("affirm"))) == CONFIRM
    assert SafetyPolicy.decide(tracker(domain, *asked, *said("deny"))) == CONFIRM
    # a long or unsure message is no answer to it ("i want to follow a course" is no yes)
    assert SafetyPolicy.decide(tracker(domain, *asked, *said("affirm", 0.95, "i want to follow a course"))) is None
    assert SafetyPolicy.decide(tracker(domain, *asked, *said("affirm", 0.7, "ja"))) is None
    assert SafetyPolicy.decide(tracker(domain, *asked, *said("affirm", 0.95, "ja gärna"))) == CONFIRM
    # a yes two turns later does not erase anything
    later = [*asked, *said("greet"), ActionExecuted("intake_form")]
    assert SafetyPolicy.decide(tracker(domain, *later, *said("affirm"))) is None
