"""Rasa's own checks of the project: data validation and the end-to-end test stories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
MODEL = PROJECT_ROOT / "models" / "intake.tar.gz"


def run(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validate_is_clean():
    result = run("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_end_to_end_test_stories_pass(tmp_path):
    if not MODEL.exists():
        pytest.fail("no trained model: run 'make model'")
    out = tmp_path / "results"
    result = run("test", "core", "--model", str(MODEL), "--stories", "tests/stories",
                 "--fail-on-prediction-errors", "--out", str(out))
    failed = (out / "failed_test_stories.yml")
    detail = failed.read_text() if failed.exists() else result.stderr[-4000:]
    assert result.returncode == 0, detail
    assert "None of the test stories failed" in failed.read_text()
