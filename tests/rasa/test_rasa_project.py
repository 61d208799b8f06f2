"""The Rasa project itself: `rasa data validate` is clean and the test stories pass."""
from __future__ import annotations

import subprocess
from pathlib import Path

from bot.launcher import MODEL, RASA

ROOT = Path(__file__).resolve().parents[2]


def rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(RASA), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_training_data_validates_without_warnings():
    result = rasa("data", "validate", "--fail-on-warnings", "--quiet")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_stories_pass(tmp_path):
    result = rasa("test", "core", "--model", str(MODEL), "--stories", "tests/stories",
                  "--out", str(tmp_path), "--fail-on-prediction-errors")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
