"""Which requests may interrupt a question answered in the participant's own words.

An answer in one's own words (a name, a job, a goal) can be anything, and the classifier takes
some of them for requests with high confidence: "Sara" for "hjälp", "ኣብ ክሽነ ክሰርሕ እደሊ" (I want
to work in a kitchen) for "cancel my booking". There only a crisis, or a near-certain stop, help,
person or language request interrupts; the other requests (about a booking, one's data) can be
made after the answer. Used by the form's validation and by :mod:`bot.safety.policy`.
"""

from __future__ import annotations

FREE_TEXT_CONFIDENCE = 0.95
FREE_TEXT_INTERRUPTIONS = frozenset({"stop", "help", "talk_to_human", "change_language"})


def interrupts_free_text(intent: str, confidence: float) -> bool:
    if intent == "crisis":
        return True
    return intent in FREE_TEXT_INTERRUPTIONS and confidence >= FREE_TEXT_CONFIDENCE
