"""The benchmarks still run against today's code (their figures are in README.md).

Each is run at its smallest size: this checks that it works, not how fast.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_faq_retrieval_benchmark_builds_and_searches_like_the_live_index(tmp_path):
    command = [sys.executable, str(ROOT / "benchmarks" / "faq_retrieval.py"),
               "--child", "20", "--mode", "cold", "--cache", str(tmp_path), "--model", ""]
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True,
                                       timeout=300).stdout.splitlines()[-1])
    assert result["size"] == 20 and result["texts"] > 20     # every row of every entry encoded
    assert 0 < result["search_p50_ms"] <= result["search_p95_ms"]
