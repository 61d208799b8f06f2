"""Benchmark the privacy gate on the dev-set messages.

    python benchmarks/privacy_gate.py [--cases tests/privacy/cases.yml] [--budget 10]

Runs ``bot.privacy.scan`` over every message repeatedly until the time budget
(seconds, capped at 15 so the whole run stays under 20 s) or the round limit
is reached, then prints p50/p90/p99/max microseconds per message for all
messages, for messages with and without personal data, and messages/s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.privacy import scan  # noqa: E402
from bot.privacy_eval import load_cases  # noqa: E402

MAX_BUDGET_S = 15.0
MAX_ROUNDS = 200


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]


def measure(texts: list[str], budget_s: float) -> tuple[dict[str, list[float]], int, float]:
    """Per-message timings in microseconds, keyed by message index."""
    for text in texts:  # warm-up: lazy-loaded IBAN registry and phone metadata
        scan(text)
    timings: dict[int, list[float]] = {i: [] for i in range(len(texts))}
    rounds = 0
    started = time.perf_counter()
    while rounds < MAX_ROUNDS and time.perf_counter() - started < budget_s:
        for i, text in enumerate(texts):
            t0 = time.perf_counter_ns()
            scan(text)
            timings[i].append((time.perf_counter_ns() - t0) / 1000)
        rounds += 1
    return timings, rounds, time.perf_counter() - started


def _row(label: str, values: list[float]) -> str:
    values = sorted(values)
    return (
        f"{label:<22} {len(values):>8} {_percentile(values, 0.50):>8.1f} "
        f"{_percentile(values, 0.90):>8.1f} {_percentile(values, 0.99):>8.1f} "
        f"{values[-1]:>9.1f} {1e6 / statistics.fmean(values):>10.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=str(ROOT / "tests/privacy/cases.yml"))
    parser.add_argument("--budget", type=float, default=10.0, help="seconds (max 15)")
    args = parser.parse_args(argv)

    cases = load_cases(args.cases)
    texts = [case.text for case in cases]
    timings, rounds, elapsed = measure(texts, min(args.budget, MAX_BUDGET_S))

    everything = [t for values in timings.values() for t in values]
    with_pii = [t for i, values in timings.items() if cases[i].gold for t in values]
    without_pii = [t for i, values in timings.items() if not cases[i].gold for t in values]

    print(f"privacy gate: {len(texts)} messages x {rounds} rounds in {elapsed:.1f} s "
          f"(python {sys.version.split()[0]})")
    print(f"{'messages':<22} {'scans':>8} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} "
          f"{'max us':>9} {'msgs/s':>10}")
    print(_row("all", everything))
    print(_row("with personal data", with_pii))
    print(_row("without", without_pii))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
