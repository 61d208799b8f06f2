"""The ``balie`` command line: FAQ validation and evaluation, privacy eval, agents."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Sub-tools with their own argument parsing own the rest of the line.
    if argv[:2] == ["privacy", "eval"]:
        from bot.privacy_eval import main as privacy_eval
        return privacy_eval(argv[2:])
    if argv[:1] == ["agents"]:
        from handover.cli import main as agents
        return agents(argv[1:])
    args = _parser().parse_args(argv)
    if not hasattr(args, "run"):
        _parser().print_help()
        return 2
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="balie", description=__doc__)
    commands = parser.add_subparsers()
    faq = commands.add_parser("faq", help="FAQ content").add_subparsers()
    validate = faq.add_parser("validate", help="check FAQ files; prints path:line: message")
    validate.add_argument("dir", nargs="?", type=Path, help="FAQ folder (default: BALIE_FAQ_DIR or data/faq)")
    validate.set_defaults(run=_validate)
    evaluate = faq.add_parser("eval", help="measure answers on labelled cases")
    evaluate.add_argument("--faq-dir", type=Path, help="FAQ folder (default: BALIE_FAQ_DIR or data/faq)")
    evaluate.add_argument("--cases", type=Path, required=True, help="YAML list of {text, expect}")
    evaluate.add_argument("--split", choices=("all", "tune", "heldout"), default="all",
                          help="even (tune) or odd (heldout) positions of the cases")
    evaluate.add_argument("--json", action="store_true", help="print a JSON object on the last line")
    evaluate.add_argument("--errors", action="store_true", help="list every wrong decision")
    evaluate.set_defaults(run=_evaluate)
    commands.add_parser("privacy", help="privacy eval FILE [--json]")
    commands.add_parser("agents", help="agents add|list|disable (administrators)")
    return parser


def _validate(args) -> int:
    from bot.faq.content import check_folder

    folder = args.dir or get_settings().faq.dir
    entries, problems = check_folder(folder)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s); fix them and run again.", file=sys.stderr)
        return 1
    print(f"OK: {len(entries)} entries in {folder}")
    return 0


def _evaluate(args) -> int:
    from bot.faq.decision import Thresholds
    from bot.faq.evaluate import load_cases, report, run_cases
    from bot.faq.index import FaqIndex, Weights
    from bot.faq.encoders import make_encoder
    from bot.errors import FaqValidationError

    settings = get_settings().faq
    folder = args.faq_dir or settings.dir
    try:
        index = FaqIndex.from_dir(folder, make_encoder(settings.encoder, settings.model),
                                  settings.cache_dir, Weights.from_settings(settings))
    except FaqValidationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    outcomes = run_cases(load_cases(args.cases, args.split), index, Thresholds.from_settings(settings))
    print(report(outcomes, args.json, args.errors))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    sys.exit(main())
