"""Build the detector's profiles from the SIB-200 train split.

    .venv/bin/python -m bot.language.build [--train ../shared/benchmarks/lid/sib200/train]

Only the train split is read (never the evaluation split beside it). Dari and Persian are
both profiled as ``fa``.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path
from typing import Dict, List

from bot.config import PROJECT_ROOT
from bot.language.model import PROFILE_FILE, LanguageModel

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--out", type=Path, default=PROFILE_FILE)
    args = parser.parse_args()
    if args.train.resolve().name != "train":
        raise SystemExit("refusing to build profiles from anything but the train split")
    model = LanguageModel.train(read_split(args.train))
    model.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {len(model.languages)} languages)")


if __name__ == "__main__":
    main()
