"""``balie faq eval``: run the live decision path over labelled cases (CONTRACTS §2)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from bot.faq.decision import Decision, Thresholds, answer_message
from bot.faq.index import FaqIndex

HANDOVER = "handover"


@dataclass(frozen=True)
class Case:
    text: str
    expect: str


@dataclass(frozen=True)
class Outcome:
    case: Case
    decision: Decision
    ms: float

    @property
    def correct(self) -> bool:
        decision, expect = self.decision, self.case.expect
        if expect == HANDOVER:
            return decision.kind == "handover"
        if decision.kind == "answer":
            return decision.entry.id == expect
        if decision.kind == "clarify":
            return len(decision.options) <= 3 and expect in {e.id for e in decision.options}
        return False


def load_cases(path: Path, split: str = "all") -> list[Case]:
    """Cases from a YAML list; ``split`` tune/heldout takes even/odd positions."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    cases = [Case(str(item["text"]), str(item["expect"])) for item in raw]
    if split == "tune":
        return cases[0::2]
    if split == "heldout":
        return cases[1::2]
    return cases


def run_cases(cases: list[Case], index: FaqIndex, thresholds: Thresholds) -> list[Outcome]:
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        decision = answer_message(case.text, index, thresholds)
        outcomes.append(Outcome(case, decision, (time.perf_counter() - start) * 1000))
    return outcomes


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def metrics(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.case.expect != HANDOVER]
    out_of_scope = [o for o in outcomes if o.case.expect == HANDOVER]
    handed = [o for o in outcomes if o.decision.kind == "handover"]
    ranked = lambda o: o.decision.ranked_ids
    times = [o.ms for o in outcomes] or [0.0]
    return {
        "n": len(outcomes),
        "n_answerable": len(answerable),
        "n_handover": len(out_of_scope),
        "top1": _share(sum(ranked(o)[:1] == [o.case.expect] for o in answerable), len(answerable)),
        "recall_at_3": _share(sum(o.case.expect in ranked(o)[:3] for o in answerable), len(answerable)),
        "handover_precision": _share(sum(o.case.expect == HANDOVER for o in handed), len(handed)),
        "handover_recall": _share(sum(o.decision.kind == "handover" for o in out_of_scope), len(out_of_scope)),
        "accuracy": _share(sum(o.correct for o in outcomes), len(outcomes)),
        "clarify_rate": _share(sum(o.decision.kind == "clarify" for o in outcomes), len(outcomes)),
        "handover_rate": _share(len(handed), len(outcomes)),
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p95_ms": round(float(np.percentile(times, 95)), 2),
    }


def describe(outcome: Outcome) -> str:
    decision = outcome.decision
    got = {"answer": lambda: decision.entry.id,
           "clarify": lambda: "clarify[" + ",".join(e.id for e in decision.options) + "]",
           "handover": lambda: f"handover({decision.reason})"}[decision.kind]()
    top = ", ".join(f"{h.entry.id}={h.score:.3f}" for h in decision.hits[:3])
    return f"  expected {outcome.case.expect:<28} got {got:<40} | {outcome.case.text!r} | {top}"


def report(outcomes: list[Outcome], as_json: bool, show_errors: bool) -> str:
    figures = metrics(outcomes)
    lines = [f"{key:>20}: {value}" for key, value in figures.items()]
    if show_errors:
        lines += ["", "Wrong decisions:"] + [describe(o) for o in outcomes if not o.correct]
    if as_json:
        lines.append(json.dumps(figures))
    return "\n".join(lines)
