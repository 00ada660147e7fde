"""Language names as people write them become codes; unknown names stay unknown."""

from pathlib import Path

import pytest

from bot.i18n import load_catalogs
from bot.language.names import build_table, language_code

ROOT = Path(__file__).resolve().parents[3]
NAMES = {c.code: c.name for c in load_catalogs(ROOT / "locales").all()}


@pytest.mark.parametrize("name, code", [
    ("arabiska", "ar"), ("svenska", "sv"), ("English", "en"), ("بالعربية", "ar"), ("الإنجليزية", "en"),
    ("کوردی سۆرانی", "ckb"), ("арабська", "ar"), ("по-шведськи", "sv"), ("ትግርኛ", "ti"), ("Kurmancî", "kmr"),
    ("so", "so"),
])
def test_names_as_people_write_them(name, code):
    assert language_code(name, ROOT / "data" / "nlu", NAMES) == code


@pytest.mark.parametrize("name", ["", None, "xyz", "blablabla"])
def test_unknown_names_are_none(name):
    assert language_code(name, ROOT / "data" / "nlu", NAMES) is None


def test_table_comes_from_annotations_and_catalogue_names(tmp_path):
    nlu = tmp_path / "xx.yml"
    nlu.write_text('version: "3.1"\nnlu:\n- intent: set_language\n  examples: |\n'
                   '    - på [kurdiska sorani]{"entity": "language", "value": "ckb"}\n', encoding="utf-8")
    table = build_table([nlu], {"sv": "Svenska"})
    assert table == {"kurdiska sorani": "ckb", "svenska": "sv"}
