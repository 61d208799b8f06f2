"""The labelled sets that tune, train and measure retrieval must stay sound.

A typo in an ``expect`` would silently count as a wrong answer, and a message
with personal data would measure the privacy gate instead of retrieval.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.faq.content import check_folder
from bot.faq.evaluate import HANDOVER, load_cases
from bot.privacy import scan

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "eval"
# (FAQ folder, cases): the demo dev set and three other municipalities.
SETS = [(ROOT / "data" / "faq", EVAL / "cases.yml")] + [
    (folder / "faq", folder / "cases.yml") for folder in sorted(EVAL.iterdir()) if (folder / "faq").is_dir()]


@pytest.mark.parametrize("faq_dir, cases_path", SETS, ids=lambda p: p.parent.name)
def test_eval_set_is_valid_and_free_of_personal_data(faq_dir, cases_path):
    entries, problems = check_folder(faq_dir)
    assert problems == []
    ids = {entry.id for entry in entries}
    cases = load_cases(cases_path)
    assert len(cases) >= 250
    assert {case.expect for case in cases} <= ids | {HANDOVER}
    assert sum(case.expect == HANDOVER for case in cases) >= 50
    assert len({case.text for case in cases}) == len(cases), "duplicate messages"
    assert [case.text for case in cases if scan(case.text).found] == []
