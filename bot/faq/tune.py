"""``python -m bot.faq.tune``: choose the decision thresholds on labelled messages.

The thresholds in balie.yml (answer, margin, handover, option window, scope
weight) live on the encoder's score scale: a new encoder or adapter needs
them chosen again. This searches them to maximise ``faq eval`` accuracy on
one or more labelled sets (use the tune halves; report on the held-out
ones), with the share of clarifying questions capped, since every question
back costs the citizen a tap. Each message is searched once; the search
then replays :func:`bot.faq.decision.decide` for every candidate, so what is
chosen is exactly what the live path will do.

Coordinate descent over a grid, not an exhaustive search: three passes,
each trying every value of one parameter with the others fixed. It reaches
the exhaustive optimum within 0.005 accuracy on the dev set in seconds.

The accuracy surface is flat along a ridge (a higher scope weight with a
higher handover threshold decides almost the same), so the best point of
one sample is often a few messages better by chance. New thresholds are
proposed only when they beat the current ones on the tuning sets beyond
chance (McNemar's test on the messages the two decide differently), or
when the current ones break the cap on clarifying questions. In session 14
the best point of the ten tuning sets won 3 messages net of 3,334 and lost
0.6-1.4 points of accuracy on four of the five report sets.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bot.faq.decision import SEARCH_K, Decision, Thresholds, decide
from bot.faq.evaluate import Case, Outcome, load_cases
from bot.faq.index import FaqIndex, Hit, Weights
from bot.privacy import scan

GRID = {
    "scope_weight": [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4],
    "clarify": [round(float(x), 3) for x in np.arange(0.45, 0.76, 0.005)],
    "answer": [round(float(x), 3) for x in np.arange(0.58, 0.72, 0.005)],
    "margin": [0.01, 0.02, 0.03, 0.04, 0.05],
    "option_window": [0.06, 0.08, 0.1, 0.2],
}
PASSES = 3


@dataclass(frozen=True)
class Labelled:
    case: Case
    hits: tuple[Hit, ...]    # searched without the scope weight
    private: bool            # the privacy gate hands it over before retrieval
    # The hits with each scope weight tried so far: the search tries
    # thousands of candidates but only a few scope weights.
    lifted: dict[float, list[Hit]] = field(default_factory=dict, compare=False, repr=False)

    def with_scope_weight(self, weight: float) -> list[Hit]:
        if weight not in self.lifted:
            self.lifted[weight] = [replace(hit, relevance=hit.relevance + weight * hit.in_scope)
                                   for hit in self.hits]
        return self.lifted[weight]


@dataclass(frozen=True)
class Candidate:
    scope_weight: float
    clarify: float
    answer: float
    margin: float
    option_window: float

    def thresholds(self, max_options: int) -> Thresholds:
        return Thresholds(self.answer, self.clarify, self.margin, max_options, self.option_window)


def search_all(index: FaqIndex, cases: list[Case]) -> list[Labelled]:
    return [Labelled(case, tuple(index.search(case.text, k=SEARCH_K)), scan(case.text).found)
            for case in cases]


def decision(item: Labelled, candidate: Candidate, max_options: int) -> Decision:
    if item.private:
        return Decision("handover", reason="privacy")
    return decide(item.with_scope_weight(candidate.scope_weight), candidate.thresholds(max_options))


def outcomes(items: list[Labelled], candidate: Candidate, max_options: int = 3) -> list[Outcome]:
    """What the live decision does with each message under ``candidate``."""
    return [Outcome(item.case, decision(item, candidate, max_options), 0.0) for item in items]


def figures(items: list[Labelled], candidate: Candidate, max_options: int = 3) -> tuple[float, float]:
    """(accuracy, clarify rate) of the live decision under ``candidate``."""
    decided = outcomes(items, candidate, max_options)
    accuracy = sum(o.correct for o in decided) / len(decided)
    return accuracy, sum(o.decision.kind == "clarify" for o in decided) / len(decided)


MCNEMAR_Z = 1.96   # the 5 % level, two-sided


def beats(items: list[Labelled], chosen: Candidate, current: Candidate, max_options: int = 3) -> bool:
    """McNemar's test: among the messages exactly one of the two decides
    right, does ``chosen`` win more than chance would give it?"""
    pairs = list(zip(outcomes(items, chosen, max_options), outcomes(items, current, max_options)))
    wins = sum(new.correct and not old.correct for new, old in pairs)
    losses = sum(old.correct and not new.correct for new, old in pairs)
    return wins - losses > MCNEMAR_Z * math.sqrt(wins + losses) if wins + losses else False


def worth_changing(items: list[Labelled], chosen: Candidate, current: Candidate,
                   max_clarify: float, max_options: int = 3) -> bool:
    """New thresholds replace the current ones when those break the cap on
    clarifying questions, or when the new ones beat them beyond chance."""
    return figures(items, current, max_options)[1] > max_clarify \
        or beats(items, chosen, current, max_options)


# Searched as one pair: the scope weight moves the relevance scale that the
# handover threshold lives on, so one at a time gets stuck.
COUPLED = {"scope_weight": "clarify"}


def best(items: list[Labelled], start: Candidate, max_clarify: float, max_options: int = 3) -> Candidate:
    """Coordinate descent from ``start``; ties keep the current value."""
    def value(candidate: Candidate) -> float:
        accuracy, clarify = figures(items, candidate, max_options)
        return accuracy if clarify <= max_clarify else accuracy - 1.0
    current, current_value = start, value(start)
    for _ in range(PASSES):
        for name, values in GRID.items():
            partner = COUPLED.get(name)
            partner_changes = [{partner: option} for option in GRID[partner]] if partner else [{}]
            for option in values:
                for changes in partner_changes:
                    candidate = replace(current, **{name: option}, **changes)
                    candidate_value = value(candidate)
                    if candidate_value > current_value + 1e-9:
                        current, current_value = candidate, candidate_value
    return current


def main(argv: list[str] | None = None) -> int:
    from bot.errors import FaqValidationError
    from bot.faq.encoders import make_encoder
    from bot.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m bot.faq.tune", description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="FAQ_DIR:CASES[:SPLIT]",
                        help="a labelled set to tune on (repeatable)")
    parser.add_argument("--report", action="append", default=[], metavar="FAQ_DIR:CASES[:SPLIT]",
                        help="a set only to report on, e.g. a held-out half (repeatable)")
    parser.add_argument("--max-clarify", type=float, default=0.3,
                        help="highest share of clarifying questions allowed on the tuning sets")
    args = parser.parse_args(argv)
    settings = get_settings().faq
    encoder = make_encoder(settings.encoder, settings.model)
    weights = replace(Weights.from_settings(settings), scope=0.0)   # the scope weight is tuned here

    def load(spec: str) -> list[Labelled]:
        faq_dir, cases, *split = spec.split(":")
        index = FaqIndex.from_dir(Path(faq_dir), encoder, settings.cache_dir, weights)
        return search_all(index, load_cases(Path(cases), split[0] if split else "all"))

    try:
        tuning = {spec: load(spec) for spec in args.set}
        reporting = {spec: load(spec) for spec in args.report}
    except FaqValidationError as exc:
        print("\n".join(map(str, exc.problems)), file=sys.stderr)
        return 1
    start = Candidate(settings.scope_weight, settings.clarify_threshold, settings.answer_threshold,
                      settings.clarify_margin, settings.option_window)
    pooled = [item for items in tuning.values() for item in items]
    chosen = best(pooled, start, args.max_clarify, settings.max_clarify_options)
    if not worth_changing(pooled, chosen, start, args.max_clarify, settings.max_clarify_options):
        print(f"best found: {chosen}\nit does not beat the current thresholds beyond chance "
              "(McNemar, 5 %): keeping them\n")
        chosen = start
    labels = {spec: spec + ("" if spec in tuning else " (report only)") for spec in {**tuning, **reporting}}
    width = max(map(len, labels.values()))
    print(f"{'set':<{width}} {'now acc/clarify':>16} {'tuned acc/clarify':>18}")
    for spec, items in {**tuning, **reporting}.items():
        before = figures(items, start, settings.max_clarify_options)
        after = figures(items, chosen, settings.max_clarify_options)
        print(f"{labels[spec]:<{width}} {before[0]:>9.3f}/{before[1]:.2f} {after[0]:>11.3f}/{after[1]:.2f}")
    print("\nfaq: settings for balie.yml and FaqSettings' defaults in bot/settings.py (a test checks they agree)")
    for key, value in (("scope_weight", chosen.scope_weight), ("answer_threshold", chosen.answer),
                       ("clarify_margin", chosen.margin), ("clarify_threshold", chosen.clarify),
                       ("option_window", chosen.option_window)):
        print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
