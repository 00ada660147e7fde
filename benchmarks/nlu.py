"""NLU accuracy per language on held-out examples the model was not trained on.

Usage: .venv/bin/python benchmarks/nlu.py [--model models/intake.tar.gz]

Reads benchmarks/nlu/heldout/<lang>.yml (never part of data/nlu), parses every example with
the trained model, and prints intent accuracy and macro-F1 per language (over the intents of
that language's held-out file), plus the language the detector gave each example.
Target: macro-F1 >= 0.95 overall, no language below 0.90.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")


def macro_f1(gold, predicted) -> float:
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


async def evaluate(model: Path, heldout: Path):
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    logging.getLogger("rasa").setLevel(logging.ERROR)
    agent = Agent.load(str(model))
    import structlog  # Rasa's structured log prints every parse at debug level to standard output

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results = {}
    for path in sorted(heldout.glob("*.yml")):
        data = load_data(str(path))
        gold, predicted, detected = [], [], Counter()
        for example in data.training_examples:
            parsed = await agent.parse_message(example.get("text"))
            gold.append(example.get("intent"))
            predicted.append((parsed.get("intent") or {}).get("name"))
            detected[(parsed.get("language_detection") or {}).get("language", "und")] += 1
        accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold)
        errors = Counter((g, p) for g, p in zip(gold, predicted) if g != p).most_common(3)
        results[path.stem] = (len(gold), accuracy, macro_f1(gold, predicted), detected, errors)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "intake.tar.gz")
    parser.add_argument("--heldout", type=Path, default=ROOT / "benchmarks" / "nlu" / "heldout")
    args = parser.parse_args()
    results = asyncio.run(evaluate(args.model, args.heldout))
    print("| language | examples | intent accuracy | macro-F1 | most common confusions |")
    print("|---|---|---|---|---|")
    for code, (n, accuracy, f1, detected, errors) in results.items():
        confusions = ", ".join(f"{g}→{p} ×{c}" for (g, p), c in errors) or "–"
        print(f"| {code} | {n} | {accuracy:.3f} | {f1:.3f} | {confusions} |")
    overall = sum(r[2] * r[0] for r in results.values()) / sum(r[0] for r in results.values())
    worst = min(results.items(), key=lambda kv: kv[1][2])
    print(f"\nmacro-F1, weighted over languages: {overall:.3f}; lowest: {worst[0]} {worst[1][2]:.3f}")
    print(f"target macro-F1 >= 0.95 overall: {'PASS' if overall >= 0.95 else 'FAIL'}; "
          f"no language below 0.90: {'PASS' if worst[1][2] >= 0.90 else 'FAIL'}")


if __name__ == "__main__":
    main()
