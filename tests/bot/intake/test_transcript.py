"""Transcripts for caseworkers: taps shown as their labels, in order, with times."""

from __future__ import annotations

from bot.db.models import ReferralTranscript
from bot.intake.transcript import from_events, save_transcript

EVENTS = [
    {"event": "action", "name": "action_listen", "timestamp": 1.0},
    {"event": "user", "text": "hej", "timestamp": 1700000000.0},
    {"event": "bot", "text": "\u200fمرحبا", "timestamp": 1700000001.0},
    {"event": "bot", "text": "Får vi spara dina svar?", "timestamp": 1700000002.0,
     "data": {"buttons": [{"title": "Ja, det får ni", "payload": '/choose{"choice":"yes"}'},
                          {"title": "Nej", "payload": '/choose{"choice":"no"}'}]}},
    {"event": "user", "text": '/choose{"choice":"yes"}', "timestamp": 1700000003.0},
    {"event": "slot", "name": "consent_data", "value": "yes"},
    {"event": "user", "text": "/skip", "timestamp": 1700000004.0},
]


def test_taps_are_shown_as_what_the_participant_saw():
    messages = from_events(EVENTS)
    assert [(m["from"], m["text"]) for m in messages] == [
        ("participant", "hej"),
        ("assistant", "مرحبا"),  # without the right-to-left mark
        ("assistant", "Får vi spara dina svar?"),
        ("participant", "Ja, det får ni"),
        ("participant", "skip"),  # a payload that was not offered: its intent's name, never JSON
    ]
    assert messages[0]["at"].startswith("2023-11-14T22:13:20")


def test_saving_replaces_the_earlier_transcript(db, make):
    referral_id = make.referral()
    with db.transaction() as session:
        save_transcript(session, referral_id, from_events(EVENTS[:2]))
    with db.transaction() as session:
        save_transcript(session, referral_id, from_events(EVENTS))
    with db.transaction() as session:
        assert len(session.get(ReferralTranscript, referral_id).messages) == 5
