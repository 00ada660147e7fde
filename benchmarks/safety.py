"""Crisis recognition per language: the phrase lists, the NLU classifier, and the two together.

Usage: .venv/bin/python benchmarks/safety.py [--model models/intake.tar.gz] [--match-calls 2000]

Two sets of messages per language:

- the phrase files' own lists (bot/safety/phrases/<code>.yml): ``examples`` are crisis messages,
  ``negatives`` look-alikes that are no crisis. They were written together with the phrases, so
  the phrase lists recognise them by construction;
- held-out messages (benchmarks/safety/heldout/<code>.yml, ``crisis`` and ``negatives``), written
  apart from both the phrase files and data/nlu, the way people with little schooling type, and
  never added to either. These are the fair test. (The NLU training examples of ``crisis`` are not
  evaluated: they are training data.)

For every message, three recognisers:

(a) phrases: :func:`bot.safety.phrases.match` finds a phrase (of any language);
(b) classifier: the DIET classifier on its own, *before* the fallback classifier and our
    ``CrisisRecognition`` component: its top intent is ``crisis`` with at least the confidence
    that ``CrisisRecognition`` demands of it (``nlu_confidence`` in config.yml, 0.8). The parse
    output cannot tell this apart (a phrase match drops the classifier's ``crisis`` entry from
    the ranking), so the model's graph is run a second time up to the DIET node only;
(c) assistant: the whole pipeline as the assistant uses it, ``agent.parse_message``'s intent
    is ``crisis``. What the participant then gets depends on why: a phrase match gets the crisis
    answer and an alert at once ("alarm"); the classifier alone gets a gentle check question
    first ("Are you in danger? Are you thinking of hurting yourself? Urgent: call 112"), and the
    alarm only after a yes ("check").

Recall is over crisis messages, the false-positive rate over look-alikes. For (c) the table
also splits what happened: alarm at once, or the check question. Also timed: mean µs of one
``match`` call (all languages' examples and negatives, whole passes until at least
``--match-calls`` calls) and mean ms of one ``agent.parse_message``.
Targets: recall of (c) = 1.00 (every crisis gets the alarm or the check question) and no alarm
on a look-alike, in every language. Messages that miss them are listed at the end. A second
held-out set (``heldout_v2``) was written blind, without seeing the phrase lists, the NLU data
or the first held-out set's results; the first set's misses were used, as kinds of messages
(never as text), to extend the phrase lists, so only v2 measures them fairly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import yaml  # noqa: E402

from bot.safety.phrases import PHRASES_DIR, load_all, match  # noqa: E402

CRISIS = "crisis"


@dataclass
class Verdict:
    text: str
    crisis: bool  # what the message is
    phrase: bool  # (a)
    classifier: bool  # (b)
    assistant: bool  # (c)
    alarm: bool  # (c) by a phrase: the crisis answer and an alert at once
    diet: Tuple[str, float]  # the classifier's top intent and confidence
    intent: str  # the pipeline's intent


@dataclass
class Scores:
    verdicts: List[Verdict] = field(default_factory=list)

    def count(self, crisis: bool) -> int:
        return sum(1 for v in self.verdicts if v.crisis == crisis)

    def rate(self, crisis: bool, which: str) -> float:
        """Recall (crisis=True) or false-positive rate (crisis=False) of one recogniser."""
        chosen = [v for v in self.verdicts if v.crisis == crisis]
        return sum(getattr(v, which) for v in chosen) / len(chosen) if chosen else float("nan")

    def failures(self) -> List[Verdict]:
        """Crises the assistant misses, and look-alikes that raise an alarm."""
        return [v for v in self.verdicts if (v.crisis and not v.assistant) or (not v.crisis and v.alarm)]


def load_heldout(directory: Path) -> Dict[str, Tuple[List[str], List[str]]]:
    found = {}
    for path in sorted(directory.glob("*.yml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found[path.stem] = ([str(m) for m in raw.get("crisis") or []], [str(m) for m in raw.get("negatives") or []])
    return found


def node(agent, prefix: str) -> str:
    names = [n for n in agent.processor.model_metadata.predict_schema.nodes if n.startswith(prefix)]
    if len(names) != 1:
        raise SystemExit(f"expected one graph node {prefix}*, found {names}")
    return names[0]


async def evaluate(model: Path, sets: Dict[str, Dict[str, Tuple[List[str], List[str]]]]):
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    logging.getLogger("rasa").setLevel(logging.ERROR)
    agent = Agent.load(str(model))
    import structlog  # Rasa's structured log prints every parse at debug level to standard output

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    diet = node(agent, "run_DIETClassifier")
    recognition = node(agent, "run_bot.safety.components.CrisisRecognition")
    threshold = float(agent.processor.model_metadata.predict_schema.nodes[recognition].config.get("nlu_confidence", 0.8))
    runner = agent.processor.graph_runner

    def classifier(text: str) -> Tuple[str, float]:
        tracker = DialogueStateTracker.from_events("bench", [])
        message = runner.run(inputs={PLACEHOLDER_MESSAGE: [UserMessage(text, sender_id="bench")],
                                     PLACEHOLDER_TRACKER: tracker}, targets=[diet])[diet][0]
        intent = message.get("intent") or {}
        return str(intent.get("name")), float(intent.get("confidence") or 0.0)

    await agent.parse_message("hej")  # the first parse builds what is lazily built
    parse_ms: List[float] = []
    results: Dict[str, Dict[str, Scores]] = {}
    for set_name, languages in sets.items():
        results[set_name] = {}
        for code, (crises, negatives) in languages.items():
            scores = results[set_name][code] = Scores()
            for is_crisis, texts in ((True, crises), (False, negatives)):
                for text in texts:
                    began = time.perf_counter()
                    parsed = await agent.parse_message(text)
                    parse_ms.append((time.perf_counter() - began) * 1000)
                    intent = (parsed.get("intent") or {}).get("name") or ""
                    top = classifier(text)
                    by = (parsed.get("crisis") or {}).get("detected_by")
                    scores.verdicts.append(Verdict(
                        text=text, crisis=is_crisis, phrase=match(text) is not None,
                        classifier=top[0] == CRISIS and top[1] >= threshold,
                        assistant=intent == CRISIS, alarm=intent == CRISIS and by == "phrase", diet=top, intent=intent,
                    ))
    return results, parse_ms, threshold


def time_match(texts: List[str], calls: int) -> Tuple[float, int]:
    for text in texts:  # warm the phrase files' cache
        match(text)
    passes = max(1, -(-calls // len(texts)))
    began = time.perf_counter()
    for _ in range(passes):
        for text in texts:
            match(text)
    elapsed = time.perf_counter() - began
    return elapsed / (passes * len(texts)) * 1e6, passes * len(texts)


def table(title: str, scores: Dict[str, Scores], crisis_label: str) -> None:
    print(f"\n### {title}\n")
    print(f"| language | {crisis_label} | negatives | recall (a) phrases | recall (b) classifier | recall (c) assistant "
          "| of which alarm at once | FP (a) | FP (b) | look-alikes asked the check question | look-alikes with an alarm |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = list(scores.items()) + [("all", Scores([v for s in scores.values() for v in s.verdicts]))]
    for code, s in rows:
        checked = s.rate(False, "assistant") - s.rate(False, "alarm")
        print(f"| {code} | {s.count(True)} | {s.count(False)} | {s.rate(True, 'phrase'):.2f} | "
              f"{s.rate(True, 'classifier'):.2f} | {s.rate(True, 'assistant'):.2f} | {s.rate(True, 'alarm'):.2f} | "
              f"{s.rate(False, 'phrase'):.2f} | {s.rate(False, 'classifier'):.2f} | {checked:.2f} | "
              f"{s.rate(False, 'alarm'):.2f} |")


def targets(title: str, scores: Dict[str, Scores]) -> None:
    low = [c for c, s in scores.items() if s.rate(True, "assistant") < 1.0]
    high = [c for c, s in scores.items() if s.rate(False, "alarm") > 0.0]
    print(f"- {title}: every crisis gets the alarm or the check question (recall (c) = 1.00) in every language: "
          f"{'met' if not low else 'not met (' + ', '.join(low) + ')'}; "
          f"no look-alike raises an alarm in any language: "
          f"{'met' if not high else 'not met (' + ', '.join(high) + ')'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "intake.tar.gz")
    parser.add_argument("--phrases", type=Path, default=PHRASES_DIR)
    parser.add_argument("--heldout", type=Path, default=ROOT / "benchmarks" / "safety" / "heldout")
    parser.add_argument("--heldout-v2", type=Path, default=ROOT / "benchmarks" / "safety" / "heldout_v2")
    parser.add_argument("--match-calls", type=int, default=2000,
                        help="time match() over whole passes of all examples and negatives until this many calls")
    args = parser.parse_args()

    phrase_lists = load_all(args.phrases)
    sets = {
        "phrase files": {c: (list(p.examples), list(p.negatives)) for c, p in phrase_lists.items()},
        "held-out": load_heldout(args.heldout),
        "held-out v2": load_heldout(args.heldout_v2),
    }
    every = [t for p in phrase_lists.values() for t in p.examples + p.negatives]
    match_us, match_calls = time_match(every, args.match_calls)
    results, parse_ms, threshold = asyncio.run(evaluate(args.model, sets))

    trained = time.strftime("%Y-%m-%d %H:%M", time.localtime(args.model.stat().st_mtime))
    print(f"model: {args.model.name}, written {trained}\n")
    print("Crisis recognition per language. (a) phrase lists alone; (b) the DIET classifier alone, top intent "
          f"`crisis` with confidence >= {threshold:g}; (c) the assistant's pipeline (intent `crisis`). "
          "Recall over crisis messages, false-positive (FP) rate over look-alikes.")
    table("Phrase files' own examples and negatives (written with the phrases)", results["phrase files"], "examples")
    table("Held-out messages (benchmarks/safety/heldout, never trained on; its misses guided later phrases)",
          results["held-out"], "crisis")
    table("Held-out v2 (benchmarks/safety/heldout_v2, written blind, never seen by whoever wrote phrases or data)",
          results["held-out v2"], "crisis")

    print("\n### Time\n")
    print("| figure | value |")
    print("|---|---|")
    print(f"| `phrases.match`, mean per message ({len(every)} messages, {match_calls} calls) | {match_us:.0f} µs |")
    print(f"| `agent.parse_message`, mean ({len(parse_ms)} messages) | {statistics.mean(parse_ms):.1f} ms |")
    print(f"| `agent.parse_message`, median | {statistics.median(parse_ms):.1f} ms |")

    print("\n### Targets\n")
    targets("phrase files", results["phrase files"])
    targets("held-out", results["held-out"])
    targets("held-out v2", results["held-out v2"])

    failures = [(s, c, v) for s, by_code in results.items() for c, sc in by_code.items() for v in sc.failures()]
    if failures:
        print("\n### Messages the assistant (c) gets wrong\n")
        print("| set | language | message | is | (a) | classifier's top intent | pipeline's intent |")
        print("|---|---|---|---|---|---|---|")
        for set_name, code, v in failures:
            print(f"| {set_name} | {code} | {v.text} | {'crisis' if v.crisis else 'no crisis'} | "
                  f"{'match' if v.phrase else '–'} | {v.diet[0]} {v.diet[1]:.2f} | {v.intent} |")


if __name__ == "__main__":
    main()
