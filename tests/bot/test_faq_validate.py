"""`balie faq validate`: every problem as path:line: message, exit 1; clean exits 0."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
- id: paspoort-aanvragen
  question: Hoe vraag ik een paspoort aan?
  alternatives:
    - nieuw paspoort
  answer: U vraagt een paspoort aan op het gemeentehuis.
  link: https://www.example.nl/paspoort
  tags: [burgerzaken]
"""


def validate(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "faq", "validate", str(folder)],
                          cwd=ROOT, capture_output=True, text=True)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_clean_folder_exits_zero(tmp_path):
    write(tmp_path, "a.yml", GOOD)
    result = validate(tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 entries" in result.stdout


def test_demo_faq_is_clean():
    result = validate(ROOT / "data" / "faq")
    assert result.returncode == 0, result.stdout


BROKEN = [
    ("bad yaml", "- id: a\n  question: [unclosed\n  answer: x\n", 3, "invalid YAML"),
    ("missing field", "- id: a\n  question: Vraag?\n", 1, "missing required field 'answer'"),
    ("unknown key", GOOD.replace("  tags:", "  tgas:"), 7, "unknown key 'tgas'"),
    ("empty answer", "- id: a\n  question: Vraag?\n  answer: ''\n", 3, "'answer' is empty"),
    ("too long", "- id: a\n  question: Vraag?\n  answer: " + "x" * 4100 + "\n", 3, "WhatsApp allows 4096"),
    ("bad link", GOOD.replace("https://www.example.nl/paspoort", "www example nl"), 6, "not a valid http(s) URL"),
    ("bad id", GOOD.replace("paspoort-aanvragen", "Paspoort_Aanvragen"), 1, "may only contain"),
    ("not a list", "id: a\nquestion: b\n", 1, "expected a list of entries"),
    ("alternatives not a list", GOOD.replace("    - nieuw paspoort", "    nieuw: paspoort"), 4,
     "must be a list of non-empty texts"),
]


@pytest.mark.parametrize("name,text,line,message", BROKEN, ids=[case[0] for case in BROKEN])
def test_each_problem_is_reported_with_path_and_line(tmp_path, name, text, line, message):
    path = write(tmp_path, "broken.yml", text)
    result = validate(tmp_path)
    assert result.returncode == 1
    assert f"{path}:{line}: " in result.stdout, result.stdout
    assert message in result.stdout


def test_duplicate_ids_across_files_name_both_places(tmp_path):
    first = write(tmp_path, "a.yml", GOOD)
    second = write(tmp_path, "sub/b.yml", GOOD)
    result = validate(tmp_path)
    assert result.returncode == 1
    assert f"{second}:1: duplicate id 'paspoort-aanvragen' (also at {first}:1)" in result.stdout


def test_all_problems_of_a_folder_in_one_run(tmp_path):
    write(tmp_path, "a.yml", BROKEN[1][1])
    write(tmp_path, "b.yml", BROKEN[2][1])
    result = validate(tmp_path)
    assert result.returncode == 1
    assert len(result.stdout.strip().splitlines()) == 2


def test_missing_folder(tmp_path):
    result = validate(tmp_path / "nope")
    assert result.returncode == 1
    assert "does not exist" in result.stdout
