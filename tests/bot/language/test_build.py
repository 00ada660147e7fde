"""bot.language.build: reading the SIB-200 train split and the NLU examples, and main()'s guard."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.language import build
from bot.language.build import FLORES, SKIPPED_INTENTS, read_nlu_examples, read_split, read_tsv
from bot.language.model import LANGUAGES, LanguageModel


def write_tsv(path: Path, rows, header: bool = True) -> None:
    lines = (["index_id\ttext"] if header else []) + [f"{i}\t{text}" for i, text in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def split(tmp_path) -> Path:
    """A train split: two files with sentences, the other FLORES files empty."""
    directory = tmp_path / "train"
    directory.mkdir()
    for name in FLORES:
        (directory / f"{name}.tsv").write_text("", encoding="utf-8")
    write_tsv(directory / "swe_Latn.tsv", [(1, "Jag bor i Stockholm."), (2, 'Han sa "hej" till mig.')])
    write_tsv(directory / "prs_Arab.tsv", [(7, "من در کابل زندگی می‌کنم.")], header=False)
    return directory


def test_flores_names_cover_every_language_and_dari_is_persian():
    assert set(FLORES.values()) == set(LANGUAGES)
    assert FLORES["prs_Arab"] == FLORES["pes_Arab"] == "fa"


def test_read_tsv_skips_the_header_and_keeps_quotes(split):
    assert read_tsv(split / "swe_Latn.tsv") == ["Jag bor i Stockholm.", 'Han sa "hej" till mig.']


def test_read_tsv_skips_rows_without_text(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("index_id\ttext\n1\n\n2\tHej\n", encoding="utf-8")
    assert read_tsv(path) == ["Hej"]


def test_read_split_reads_every_language(split):
    texts = read_split(split)
    assert set(texts) == set(LANGUAGES)
    assert texts["sv"] == ["Jag bor i Stockholm.", 'Han sa "hej" till mig.']
    assert texts["fa"] == ["من در کابل زندگی می‌کنم."]
    assert texts["en"] == []


def test_read_split_merges_dari_and_persian(split):
    write_tsv(split / "pes_Arab.tsv", [(3, "سلام خوب هستید")])
    texts = read_split(split)
    assert sorted(texts["fa"]) == sorted(["من در کابل زندگی می‌کنم.", "سلام خوب هستید"])


def test_read_split_with_only_two_files_fails_loudly(tmp_path):
    """A train split missing a language is refused rather than silently profiled without it."""
    directory = tmp_path / "train"
    directory.mkdir()
    write_tsv(directory / "swe_Latn.tsv", [(1, "Jag bor i Stockholm.")])
    write_tsv(directory / "eng_Latn.tsv", [(1, "I live in London.")])
    with pytest.raises(FileNotFoundError):
        read_split(directory)


@pytest.mark.parametrize("name", ["dev", "test", "devtest", "train_backup"])
def test_main_refuses_a_directory_not_named_train(tmp_path, monkeypatch, split, name):
    other = tmp_path / name
    split.rename(other)
    out = tmp_path / "out.json.gz"
    monkeypatch.setattr(sys, "argv", ["build", "--train", str(other), "--out", str(out), "--nlu", str(tmp_path)])
    with pytest.raises(SystemExit) as raised:
        build.main()
    assert "train" in str(raised.value.code)
    assert not out.exists()


def test_main_refuses_a_path_that_only_looks_like_train(tmp_path, monkeypatch, split):
    dev = tmp_path / "dev"
    dev.mkdir()
    sneaky = split / ".." / "dev"
    out = tmp_path / "out.json.gz"
    monkeypatch.setattr(sys, "argv", ["build", "--train", str(sneaky), "--out", str(out)])
    with pytest.raises(SystemExit):
        build.main()
    assert not out.exists()


def test_main_builds_from_a_train_split_and_nlu_examples(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "train"
    directory.mkdir()
    for name in FLORES:
        (directory / f"{name}.tsv").write_text("", encoding="utf-8")
    write_tsv(directory / "swe_Latn.tsv", [(i, "jag bor i stockholm och jag gillar det") for i in range(5)])
    write_tsv(directory / "eng_Latn.tsv", [(i, "i live in london and i like it") for i in range(5)])
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "sv.yml").write_text('nlu:\n- intent: greet\n  examples: |\n    - hej hej\n', encoding="utf-8")
    out = tmp_path / "profiles" / "lid.json.gz"
    monkeypatch.setattr(sys, "argv", ["build", "--train", str(directory), "--out", str(out), "--nlu", str(nlu),
                                      "--nlu-weight", "3"])
    build.main()
    assert "13 languages" in capsys.readouterr().out
    model = LanguageModel.load(out)
    assert set(model.languages) == set(LANGUAGES)
    assert model.word["sv"].counts["hej"] == 6  # two per example, counted three times
    assert next(iter(model.probabilities("jag bor", candidates=("sv", "en")))) == "sv"


# -- NLU examples --------------------------------------------------------------------------------

NLU_SV = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hej hej
    - god morgon
    - مرحبا
    - salaan
- intent: inform
  examples: |
    - jag bor i [Värmdö](municipality)
    - jag heter [Amina]{"entity": "name", "role": "first"} och bor i [Nacka](municipality)
- intent: set_language
  examples: |
    - svenska
    - på svenska tack
- intent: choose
  examples: |
    - den första
- intent: stop
- intent: goodbye
  examples: ""
"""

NLU_AR = """\
nlu:
- intent: greet
  examples: |
    - مرحبا كيف حالك
    - marhaba
    - سلام [أحمد](name)
"""


@pytest.fixture
def nlu_dir(tmp_path) -> Path:
    directory = tmp_path / "nlu"
    directory.mkdir()
    (directory / "sv.yml").write_text(NLU_SV, encoding="utf-8")
    (directory / "ar.yml").write_text(NLU_AR, encoding="utf-8")
    (directory / "en.yml").write_text("", encoding="utf-8")
    return directory


def test_read_nlu_examples_keeps_chat_examples_in_the_languages_script(nlu_dir):
    assert read_nlu_examples(nlu_dir, "sv") == [
        "hej hej",
        "god morgon",
        "salaan",  # Latin script: kept (only another script is left out)
        "jag bor i Värmdö",
        "jag heter Amina och bor i Nacka",
    ]


def test_read_nlu_examples_drops_set_language_and_choose(nlu_dir):
    examples = read_nlu_examples(nlu_dir, "sv")
    assert SKIPPED_INTENTS == {"set_language", "choose"}
    assert not {"svenska", "på svenska tack", "den första"} & set(examples)


def test_read_nlu_examples_drops_entity_annotations(nlu_dir):
    examples = read_nlu_examples(nlu_dir, "sv") + read_nlu_examples(nlu_dir, "ar")
    assert not any(ch in e for e in examples for ch in "[]{}()")
    assert "سلام أحمد" in examples


def test_read_nlu_examples_drops_lines_in_another_script(nlu_dir):
    assert "مرحبا" not in read_nlu_examples(nlu_dir, "sv")
    assert read_nlu_examples(nlu_dir, "ar") == ["مرحبا كيف حالك", "سلام أحمد"]


def test_read_nlu_examples_without_a_file_or_with_an_empty_file(nlu_dir):
    assert read_nlu_examples(nlu_dir, "ti") == []
    assert read_nlu_examples(nlu_dir, "en") == []


def test_read_nlu_examples_of_the_project_are_in_their_own_script():
    from bot.config import PROJECT_ROOT
    from bot.language.model import SCRIPTS, dominant_script

    directory = PROJECT_ROOT / "data" / "nlu"
    for code in ("sv", "so", "ar", "uk", "ti"):
        examples = read_nlu_examples(directory, code)
        assert examples, code
        script = next(s for s, codes in SCRIPTS.items() if code in codes)
        assert all(dominant_script(e) == script for e in examples), code


def test_read_nlu_examples_ignores_regex_blocks(tmp_path):
    (tmp_path / "sv.yml").write_text(
        "nlu:\n- intent: greet\n  examples: |\n    - hej\n"
        "- regex: phone\n  examples: |\n    - \\+?46\\d{9}\n    - \\bnr\\b\n",
        encoding="utf-8",
    )
    assert read_nlu_examples(tmp_path, "sv") == ["hej"]
