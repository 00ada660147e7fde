"""A whole intake in each language over the REST channel; the replies are in that language."""

from __future__ import annotations

import json

import pytest

from bot.language import detect_language
from bot.simulate import TAPPED_ANSWERS, buttons, run_intake, texts

# A first message of two or three words, and free-text answers, as a participant would write.
PEOPLE = {
    "sv": ("hej hej", "jag har städat", "jobba i kök", "arabiska"),
    "en": ("hello there", "I was a cleaner", "work in a kitchen", "Arabic"),
    "ar": ("مرحبا كيف حالك", "اشتغلت في التنظيف", "أريد العمل في مطبخ", "العربية"),
    "so": ("salaan sidee tahay", "waxaan ahaa nadiifiye", "waxaan rabaa shaqo jikada", "Soomaali"),
    "ti": ("ሰላም ከመይ ኣለኹም", "ኣብ ጽሬት ሰሪሐ", "ኣብ ክሽነ ክሰርሕ እደሊ", "ትግርኛ"),
    "fa": ("سلام خوب هستید", "در نظافت کار کردم", "می خواهم در آشپزخانه کار کنم", "دری"),
    "uk": ("привіт як справи", "я працювала прибиральницею", "хочу працювати на кухні", "українська"),
    "ckb": ("سڵاو چۆنی باشی", "لە پاککردنەوە کارم کردووە", "دەمەوێت لە چێشتخانە کار بکەم", "کوردی"),
    "kmr": ("silav tu çawa yî", "min paqijî kiriye", "ez dixwazim li metbexê kar bikim", "Kurmancî"),
}
RTL = {"ar", "fa", "ckb"}


def reply_language(replies) -> str:
    """The detected language of the replies' texts, without names that stay in Swedish."""
    text = texts(replies)
    for name in ("Föreningen Vägen In", "Steg ett – arbetsförberedande aktivitet", "Värmdö kommun", "Värmdö",
                 "Träffpunkten Gustavsberg", "Odelbergs väg 11, Gustavsberg", "Arbetsförmedlingen",
                 "Försäkringskassan", "försörjningsstöd", "Försörjningsstöd", "BankID", "SFI", "CSN", "LMA"):
        text = text.replace(name, " ")
    return detect_language(text)


@pytest.mark.parametrize("language", list(PEOPLE))
def test_whole_intake_in_each_language(servers, language):
    first, work, goals, interpreter = PEOPLE[language]
    answers = dict(TAPPED_ANSWERS, work_kind=work, goals=goals, interpreter_language=interpreter)
    sender = f"e2e-lang-{language}"
    opening = servers.send(sender, first)
    assert not any(b["payload"].startswith("/set_language") for b in buttons(opening)), (
        f"a first message in {language} should be answered in {language}, not with the menu: {texts(opening)}")
    assert reply_language(opening) == language, texts(opening)
    if language in RTL:
        assert all(line.startswith("\u200f") for r in opening for line in (r.get("text") or "").split("\n") if line)

    seen, replies = run_intake(servers.client, sender + "-full", answers, first=first, language=language)
    assert seen[-1] == "booking_session", seen
    assert "phq_4" in seen and "interpreter_language" in seen
    assert reply_language(replies) == language, texts(replies)
    session = [b for b in buttons(replies) if b["payload"].startswith("/choose")][0]
    confirmation = servers.send(sender + "-full", session["payload"])
    assert reply_language(confirmation) == language, texts(confirmation)

    exported = json.loads(servers.intake("referrals", "export", "--format", "json"))
    mine = [r for r in exported if r["language"] == language and r["booking"]]
    assert mine, f"no booked referral in {language}"


def test_a_confident_change_of_language_is_offered_not_forced(servers):
    sender = "e2e-switch"
    seen, replies = run_intake(servers.client, sender, TAPPED_ANSWERS, first="hej hej", language="sv", stop_at="work_kind")
    assert seen and seen[-1] != "work_kind"
    offer = servers.send(sender, "waxaan ka shaqeeyay nadiifinta iyo jikada")
    offered = [b for b in buttons(offer) if b["payload"].startswith("/set_language")]
    assert [b["payload"] for b in offered] == ['/set_language{"language":"so"}', '/set_language{"language":"sv"}']
    assert reply_language(offer[:1]) == "so"
    assert "Vad har du arbetat med?" in texts(offer)  # the question is still open, in Swedish
    switched = servers.send(sender, offered[0]["payload"])
    assert reply_language(switched) == "so"
    answered = servers.send(sender, "nadiifiye")
    assert reply_language(answered) == "so"


def test_a_language_the_assistant_does_not_speak_gets_the_menu(servers):
    replies = servers.send("e2e-turkish", "merhaba nasılsın iyi misin")
    assert any(b["payload"] == '/set_language{"language":"sv"}' for b in buttons(replies))
