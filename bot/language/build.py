"""Build the detector's profiles from the SIB-200 train split and our own NLU examples.

    .venv/bin/python -m bot.language.build [--train ../shared/benchmarks/lid/sib200/train]

Only the train split of SIB-200 is read (never the evaluation split beside it); Dari and
Persian are both profiled as ``fa``. SIB-200 is news prose: the NLU training examples
(``data/nlu/<code>.yml``) add the way people chat ("hej hej", "salaan walaal"). Examples in
another script than the language's own (transliterations) and language names are left out.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

import re

import yaml

from bot.config import PROJECT_ROOT
from bot.language.model import PROFILE_FILE, SCRIPTS, LanguageModel, dominant_script

FLORES = {
    "swe_Latn": "sv", "eng_Latn": "en", "arb_Arab": "ar", "som_Latn": "so", "tir_Ethi": "ti",
    "prs_Arab": "fa", "pes_Arab": "fa", "ukr_Cyrl": "uk", "ckb_Arab": "ckb", "kmr_Latn": "kmr",
    "pbt_Arab": "ps", "amh_Ethi": "am", "tur_Latn": "tr", "rus_Cyrl": "ru",
}
DEFAULT_TRAIN = PROJECT_ROOT.parent / "shared" / "benchmarks" / "lid" / "sib200" / "train"


def read_tsv(path: Path) -> List[str]:
    with path.open(encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row[1] for row in rows if len(row) > 1 and row[0] != "index_id"]


def read_split(directory: Path) -> Dict[str, List[str]]:
    texts: Dict[str, List[str]] = defaultdict(list)
    for name, code in FLORES.items():
        texts[code] += read_tsv(directory / f"{name}.tsv")
    return dict(texts)


SKIPPED_INTENTS = {"set_language", "choose"}
_ANNOTATION = re.compile(r"\[([^\]]*)\]\{[^}]*\}|\[([^\]]*)\]\([^)]*\)")


def read_nlu_examples(directory: Path, code: str) -> List[str]:
    """Chat-register examples of one language from its NLU training file, in its own script."""
    path = directory / f"{code}.yml"
    if not path.exists():
        return []
    scripts = {script for script, codes in SCRIPTS.items() if code in codes}
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    found = []
    for block in raw.get("nlu") or []:
        if "intent" not in block or block["intent"] in SKIPPED_INTENTS or not block.get("examples"):
            continue
        for line in str(block["examples"]).splitlines():
            text = _ANNOTATION.sub(lambda m: m.group(1) or m.group(2) or "", line.strip().lstrip("- ").strip())
            if text and dominant_script(text) in scripts:
                found.append(text)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--out", type=Path, default=PROFILE_FILE)
    parser.add_argument("--nlu", type=Path, default=PROJECT_ROOT / "data" / "nlu")
    parser.add_argument("--nlu-weight", type=int, default=2, help="how often each NLU example counts")
    args = parser.parse_args()
    if args.train.resolve().name != "train":
        raise SystemExit("refusing to build profiles from anything but the train split")
    texts = read_split(args.train)
    for code in texts:
        texts[code] += read_nlu_examples(args.nlu, code) * args.nlu_weight
    model = LanguageModel.train(texts)
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {len(model.languages)} languages)")


if __name__ == "__main__":
    main()
