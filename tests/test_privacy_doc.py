"""docs/privacy.md keeps up with the code: every table, every encrypted column, the commands."""

from __future__ import annotations

import re

from bot.db.models import Base
from bot.db.rotation import encrypted_columns
from tests.conftest import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")


def inventory() -> dict:
    """The data inventory table: table name -> its row."""
    rows = {}
    for line in DOC.splitlines():
        if line.startswith("| `"):
            for name in re.findall(r"`([a-z_]+)`", line.split("|")[1]):
                rows[name] = line
    return rows


def test_every_table_is_in_the_inventory():
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert tables - set(inventory()) == set()


def test_the_encrypted_columns_are_the_ones_the_doc_names():
    rows = inventory()
    for table, _key, column in encrypted_columns():
        encrypted_cell = rows[table].split("|")[5]
        assert column in encrypted_cell, f"{table}.{column} is encrypted but the doc does not say so"


def test_the_commands_the_doc_names_exist():
    from click.testing import CliRunner

    from bot.cli import main

    for command in (["keys", "rotate"], ["keys", "generate"], ["privacy", "purge"], ["privacy", "erase"]):
        assert f"intake {' '.join(command)}" in DOC
        assert CliRunner().invoke(main, [*command, "--help"]).exit_code == 0
