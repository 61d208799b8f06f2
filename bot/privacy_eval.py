"""``balie privacy eval FILE [--json]``: measure the privacy gate on a labelled set.

The file is a YAML list of ``{text, pii: [{kind, value}, ...]}`` where
``value`` is the exact substring of ``text``. A predicted span matches a gold
span when the kinds are equal and the character ranges overlap.

Reported: span-level precision/recall/F1 per kind and overall, message-level
precision/recall/F1 (does the gate fire on messages with personal data?), the
false-alarm rate on messages without personal data, and the misses and false
alarms with their text. The eval sets are synthetic, so printing the text is
fine here; never point this command at real conversations.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.privacy import KINDS, Span, scan


@dataclass(frozen=True)
class Case:
    text: str
    gold: tuple[Span, ...]


@dataclass
class Report:
    n: int = 0
    n_positive: int = 0
    n_negative: int = 0
    message_tp: int = 0
    message_fp: int = 0
    message_fn: int = 0
    span_tp_pred: Counter = field(default_factory=Counter)  # predicted spans that match, by kind
    span_tp_gold: Counter = field(default_factory=Counter)  # gold spans that are found, by kind
    span_pred: Counter = field(default_factory=Counter)
    span_gold: Counter = field(default_factory=Counter)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, text)
    false_alarms: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def message_precision(self) -> float:
        return _ratio(self.message_tp, self.message_tp + self.message_fp)

    @property
    def message_recall(self) -> float:
        return _ratio(self.message_tp, self.message_tp + self.message_fn)

    @property
    def false_alarm_rate(self) -> float:
        # Negatives on which the gate fired; 0.0 when there are no negatives.
        return self.message_fp / self.n_negative if self.n_negative else 0.0

    def span_precision(self, kind: str | None = None) -> float:
        tp, pred = _pick(self.span_tp_pred, kind), _pick(self.span_pred, kind)
        return _ratio(tp, pred)

    def span_recall(self, kind: str | None = None) -> float:
        return _ratio(_pick(self.span_tp_gold, kind), _pick(self.span_gold, kind))

    def as_dict(self) -> dict:
        per_kind = {
            kind: {
                "support": self.span_gold[kind],
                "predicted": self.span_pred[kind],
                "precision": _round(self.span_precision(kind)),
                "recall": _round(self.span_recall(kind)),
                "f1": _round(_f1(self.span_precision(kind), self.span_recall(kind))),
            }
            for kind in KINDS
        }
        return {
            "n": self.n,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "message_precision": _round(self.message_precision),
            "message_recall": _round(self.message_recall),
            "message_f1": _round(_f1(self.message_precision, self.message_recall)),
            "false_alarm_rate": _round(self.false_alarm_rate),
            "span_precision": _round(self.span_precision()),
            "span_recall": _round(self.span_recall()),
            "span_f1": _round(_f1(self.span_precision(), self.span_recall())),
            "per_kind": per_kind,
        }


def _ratio(num: int, den: int) -> float:
    # An empty denominator means nothing to get wrong: score it as perfect.
    return num / den if den else 1.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _round(x: float) -> float:
    return round(x, 4)


def _pick(counter: Counter, kind: str | None) -> int:
    return sum(counter.values()) if kind is None else counter[kind]


def load_cases(path: str | Path) -> list[Case]:
    """Load and check a labelled YAML file; gold spans are located in order."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    cases = []
    for number, item in enumerate(raw, start=1):
        text = item["text"]
        gold = []
        next_search: dict[str, int] = {}
        for pii in item.get("pii") or []:
            kind, value = pii["kind"], str(pii["value"])
            if kind not in KINDS:
                raise ValueError(f"case {number}: unknown kind {kind!r}")
            start = text.find(value, next_search.get(value, 0))
            if start < 0:
                raise ValueError(f"case {number}: value for {kind} is not a substring of the text")
            next_search[value] = start + len(value)
            gold.append(Span(kind, start, start + len(value)))
        cases.append(Case(text, tuple(gold)))
    return cases


def _overlaps(a: Span, b: Span) -> bool:
    return a.kind == b.kind and a.start < b.end and b.start < a.end


def evaluate(cases: list[Case]) -> Report:
    report = Report()
    for case in cases:
        predicted = scan(case.text).spans
        report.n += 1
        positive = bool(case.gold)
        report.n_positive += positive
        report.n_negative += not positive
        if positive and predicted:
            report.message_tp += 1
        elif predicted:
            report.message_fp += 1
        elif positive:
            report.message_fn += 1
        for span in predicted:
            report.span_pred[span.kind] += 1
            if any(_overlaps(span, g) for g in case.gold):
                report.span_tp_pred[span.kind] += 1
            else:
                report.false_alarms.append((span.kind, case.text[span.start:span.end], case.text))
        for gold in case.gold:
            report.span_gold[gold.kind] += 1
            if any(_overlaps(gold, p) for p in predicted):
                report.span_tp_gold[gold.kind] += 1
            else:
                report.misses.append((gold.kind, case.text[gold.start:gold.end], case.text))
    return report


def format_report(report: Report) -> str:
    lines = [
        f"messages: {report.n} ({report.n_positive} with personal data, {report.n_negative} without)",
        "",
        f"{'kind':<16} {'gold':>5} {'pred':>5} {'prec':>6} {'recall':>6} {'f1':>6}",
    ]
    for kind in (*KINDS, None):
        p, r = report.span_precision(kind), report.span_recall(kind)
        lines.append(
            f"{kind or 'ALL SPANS':<16} {_pick(report.span_gold, kind):>5} "
            f"{_pick(report.span_pred, kind):>5} {p:>6.3f} {r:>6.3f} {_f1(p, r):>6.3f}"
        )
    mp, mr = report.message_precision, report.message_recall
    lines += [
        "",
        f"message level: precision {mp:.3f}  recall {mr:.3f}  f1 {_f1(mp, mr):.3f}",
        f"false-alarm rate on negatives: {report.false_alarm_rate:.3f} "
        f"({report.message_fp}/{report.n_negative})",
        "",
        f"misses ({len(report.misses)}):",
        *(f"  {kind:<16} {value!r:<30} in {text!r}" for kind, value, text in report.misses),
        f"false alarms ({len(report.false_alarms)}):",
        *(f"  {kind:<16} {value!r:<30} in {text!r}" for kind, value, text in report.false_alarms),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="balie privacy eval",
        description="Measure the privacy gate on a labelled (synthetic) YAML set.",
    )
    parser.add_argument("file", help="YAML list of {text, pii: [{kind, value}]}")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of metrics")
    args = parser.parse_args(argv)
    report = evaluate(load_cases(args.file))
    print(format_report(report))
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    return 0


if __name__ == "__main__":  # pragma: no cover - convenience for `python -m`
    import sys

    raise SystemExit(main(sys.argv[1:]))
