"""What a referral's answers say, in Swedish, for the caseworker.

The participant may have answered in Arabic or Tigrinya; the caseworker reads the questions and
the chosen options in Swedish (from the Swedish catalogue), and free text as it was written,
with the language it was written in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

from bot.db.models import Referral, ScreeningAnswer
from bot.i18n.catalog import Catalog, Catalogs
from bot.intake.questions import HEALTH_KEYS, INTAKE_QUESTIONS, QUESTIONS, TEXT

SKIPPED_LABEL = "Hoppade över"
BEFORE_FIRST_LABEL = "Före första frågan"  # the funnel's drop-off of conversations that answered nothing

# The catalogues' languages, named in Swedish (in running text: lower case).
LANGUAGE_NAMES_SV: Mapping[str, str] = {
    "sv": "svenska",
    "en": "engelska",
    "ar": "arabiska",
    "so": "somaliska",
    "ti": "tigrinja",
    "fa": "persiska",
    "uk": "ukrainska",
    "ckb": "kurdiska (sorani)",
    "kmr": "kurdiska (kurmanji)",
}

# One line each, for the list and the referral page. Codes are those of program.yml.
BARRIER_TEXTS: Mapping[str, str] = {
    "SWEDISH_LIMITED": "Begränsad svenska",
    "SFI_NOT_ACTIVE": "Går inte på SFI just nu",
    "SHORT_SCHOOLING": "Kort skolgång (högst 9 år)",
    "NO_WORK_EXPERIENCE": "Har aldrig arbetat",
    "NO_SWEDISH_WORK_EXPERIENCE": "Har inte arbetat i Sverige",
    "CARE_DUTIES": "Tar hand om någon hemma",
    "INSECURE_HOUSING": "Osäkert boende",
    "HOMELESS": "Saknar boende",
    "MENTAL_HEALTH": "Psykisk ohälsa (PHQ-4 måttlig eller svår)",
    "PHYSICAL_LIMITS": "Sjukdom eller skada som begränsar",
    "AUTHORITY_CONTACT": "Svårt att förstå myndigheters brev",
    "DIGITAL_EXCLUSION": "Saknar BankID eller e-post",
    "INTERPRETER_NEEDED": "Behöver tolk",
    "NO_INCOME": "Saknar inkomst",
}
# Barriers that come from health answers: only caseworkers and administrators see them.
HEALTH_BARRIERS = ("MENTAL_HEALTH", "PHYSICAL_LIMITS")


@dataclass(frozen=True)
class SummaryRow:
    key: str
    question: str  # the Swedish question
    answer: str  # the Swedish option label, "Hoppade över", or the free text as written
    kind: str = "choice"  # "choice", "text" (free text as written) or "skipped"
    health: bool = False
    free_text: Optional[str] = None  # what the participant wrote (a free-text answer, or a note to a choice)
    written_in: Optional[str] = None  # e.g. "skrivet på arabiska"
    language: Optional[str] = None  # the code of the conversation's language, for lang="..."

    @property
    def skipped(self) -> bool:
        return self.kind == "skipped"


def language_name(code: Optional[str]) -> str:
    """The Swedish name of a language code, in lower case ("arabiska"); the code when unknown."""
    if not code:
        return "okänt språk"
    return LANGUAGE_NAMES_SV.get(code, code)


def barrier_text(code: str) -> str:
    return BARRIER_TEXTS.get(code, code)


def barrier_texts(codes, include_health: bool = True) -> List[str]:
    return [barrier_text(c) for c in codes or () if include_health or c not in HEALTH_BARRIERS]


def question_line(catalog: Catalog, key: str) -> str:
    """The question itself: of a text of several lines (an explanation, then the question), the last."""
    try:
        text = catalog.question_text(key)
    except KeyError:
        return key
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else key


def _option_label(catalog: Catalog, key: str, value: str) -> str:
    try:
        return catalog.option_label(key, value)
    except (KeyError, TypeError):
        return value


def _order(answer: ScreeningAnswer) -> int:
    keys = [q.key for q in INTAKE_QUESTIONS]
    return keys.index(answer.question_key) if answer.question_key in keys else len(keys)


def swedish_summary(referral: Referral, catalogs: Catalogs, include_health: bool) -> List[SummaryRow]:
    """One row per stored answer, in the order the questions are asked; health rows only if asked for."""
    sv = catalogs.get("sv")
    written_in = f"skrivet på {language_name(referral.language)}"
    rows: List[SummaryRow] = []
    for answer in sorted(referral.answers, key=lambda a: (_order(a), a.id or 0)):
        key = answer.question_key
        health = key in HEALTH_KEYS
        if health and not include_health:
            continue
        question = QUESTIONS.get(key)
        common: Dict[str, object] = {"key": key, "question": question_line(sv, key), "health": health}
        if answer.skipped:
            rows.append(SummaryRow(answer=SKIPPED_LABEL, kind="skipped", **common))
        elif (question is not None and question.kind == TEXT) or answer.value is None:
            text = answer.free_text or ""
            rows.append(SummaryRow(answer=text, kind="text", free_text=text, written_in=written_in,
                                   language=referral.language, **common))
        else:
            note = answer.free_text or None
            rows.append(SummaryRow(answer=_option_label(sv, key, answer.value), free_text=note,
                                   written_in=written_in if note else None,
                                   language=referral.language if note else None, **common))
    return rows


def interpreter_need(referral: Referral) -> Optional[SummaryRow]:
    """The answer to "do you need an interpreter", with the language asked for (not health data)."""
    for answer in referral.answers:
        if answer.question_key == "interpreter_language" and answer.free_text:
            return SummaryRow(key="interpreter_language", question="Tolk", answer="Ja", kind="text",
                              free_text=answer.free_text,
                              written_in=f"skrivet på {language_name(referral.language)}",
                              language=referral.language)
    for answer in referral.answers:
        if answer.question_key == "interpreter":
            if answer.skipped:
                return SummaryRow(key="interpreter", question="Tolk", answer=SKIPPED_LABEL, kind="skipped")
            return SummaryRow(key="interpreter", question="Tolk", answer="Ja" if answer.value == "yes" else "Nej")
    return None


PHQ4_BANDS_TEXT = "0–2 normal, 3–5 lätt, 6–8 måttlig, 9–12 svår"


def phq4_note(score: Optional[int], band: Optional[str]) -> str:
    """What a PHQ-4 score means, and what it does not mean, in plain Swedish."""
    about = (
        "PHQ-4 är fyra frågor om symtom på ångest och nedstämdhet under de senaste två veckorna. "
        f"Poängen är 0–12: {PHQ4_BANDS_TEXT}."
    )
    not_diagnosis = "PHQ-4 är en screening, inte en diagnos."
    if score is None or band is None:
        return (f"Ingen PHQ-4-poäng: personen svarade inte på alla fyra hälsofrågor, eller ville inte få dem. "
                f"{about} {not_diagnosis}")
    if band in ("moderate", "severe"):
        word = "måttliga" if band == "moderate" else "svåra"
        action = (
            f"Poängen {score} tyder på {word} symtom. Prata med personen om hur hen mår, "
            "och erbjud kontakt med vården: vårdcentralen, eller 1177 för råd dygnet runt."
        )
        if band == "severe":
            action += " Vid akut fara: ring 112."
    elif band == "mild":
        action = (
            f"Poängen {score} tyder på lätta symtom. Fråga gärna hur personen mår. "
            "En låg poäng utesluter inte att personen har det svårt."
        )
    else:
        action = (
            f"Poängen {score} är inom det normala. "
            "En låg poäng utesluter inte att personen har det svårt."
        )
    return f"{about} {action} {not_diagnosis}"
