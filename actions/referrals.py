"""Turning a finished intake into exactly one referral, and telling the participant the outcome."""

from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    contact_address,
    catalog_of,
    channel_of,
    funnel_key,
    in_transaction,
    language_of,
    participant_of,
    program,
    say,
    short_intake,
)
from bot.intake.booking import active_booking, upcoming_sessions
from bot.intake.funnel import record_step
from bot.intake.questions import INTAKE_QUESTIONS
from bot.intake.referrals import submit_referral
from bot.intake.transcript import from_events, save_transcript


class ActionSubmitReferral(Action):
    def name(self) -> Text:
        return "action_submit_referral"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        catalog = catalog_of(tracker)
        if tracker.get_slot("consent_data") is None:  # the intake did not run to its end
            say(dispatcher, catalog, "fallback")
            return [SlotSet("can_book", False)]
        if tracker.get_slot("consent_data") != "yes":
            say(dispatcher, catalog, "consent_declined")
            # nothing was stored; a later "hej" asks for consent again, so a "no" is not final
            return [SlotSet("can_book", False), SlotSet("consent_data", None)]

        prog = program()
        slots = {q.key: tracker.get_slot(q.key) for q in INTAKE_QUESTIONS}
        notes = tracker.get_slot("answer_notes") or {}
        language, channel = language_of(tracker), channel_of(tracker)
        intake_key = tracker.get_slot("intake_key")
        assisted_by = (tracker.latest_message.get("metadata") or {}).get("assisted_by")
        screening = "short" if short_intake(tracker) else "full"
        contact_phone = tracker.get_slot("channel_phone")
        address = contact_address(tracker)
        conversation = funnel_key(tracker)
        transcript = from_events(tracker.events)

        def store(session):
            participant = participant_of(session, tracker)
            submitted = submit_referral(
                session,
                participant=participant,
                intake_key=intake_key,
                language=language,
                channel=channel,
                slots=slots,
                free_texts=notes,
                program=prog,
                assisted_by=assisted_by,
                screening=screening,
                contact_phone=contact_phone,
            )
            referral = submitted.referral
            referral.contact_address = address or referral.contact_address
            if submitted.created:
                referral.funnel_key = conversation
                record_step(session, conversation, "screened", channel, language)
                if referral.eligible:
                    record_step(session, conversation, "eligible", channel, language)
            save_transcript(session, referral.id, transcript)
            return {
                "id": referral.id,
                "created": submitted.created,
                "eligible": referral.eligible,
                "reasons": list(referral.eligibility_reasons or []),
                "has_booking": active_booking(session, referral.id) is not None,
                "has_sessions": bool(upcoming_sessions(session, limit=1)),
            }

        outcome = await in_transaction(store)
        events: List[EventType] = [SlotSet("referral_id", float(outcome["id"]))]
        say(dispatcher, catalog, "referral_saved" if outcome["created"] else "referral_exists")
        if outcome["eligible"] is False:
            for reason in outcome["reasons"]:
                say(dispatcher, catalog, f"not_eligible_{reason}")
            say(dispatcher, catalog, "where_to_turn")
            return events + [SlotSet("can_book", False)]
        if outcome["eligible"] is None:
            say(dispatcher, catalog, "eligibility_unknown")
        if outcome["has_booking"]:
            say(dispatcher, catalog, "summary")
            return events + [SlotSet("can_book", False)]
        if not outcome["has_sessions"]:
            say(dispatcher, catalog, "no_sessions")
            say(dispatcher, catalog, "summary")
            return events + [SlotSet("can_book", False)]
        return events + [SlotSet("can_book", True)]
