"""Evaluation commands for the ``eligibility`` CLI (joined through entry points)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register_evaluate(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="score predictions against hand-annotated gold")
    p.add_argument("--gold", required=True, help="gold folder or file (corpus/gold)")
    p.add_argument("--pred", required=True, help="predictions JSONL (from `eligibility batch`)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--per-trial", action="store_true", help="add one row per trial")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .gold import load_gold, load_predictions
    from .score import format_table, score

    try:
        gold = load_gold(args.gold)
        pred = load_predictions(args.pred)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not gold:
        print(f"error: no gold files in {args.gold}", file=sys.stderr)
        return 2
    metrics = score(gold, pred)
    if args.json:
        json.dump(metrics, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(metrics, per_trial=args.per_trial))
    return 0
