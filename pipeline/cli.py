"""The ``eligibility`` command line: parse, batch, screen, and plug-in commands.

Commands that score or report (``evaluate``, ``report``) live in the ``evaluation`` package
and join the CLI through the ``eligibility.commands`` entry-point group, so the library never
imports its own evaluation code.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from .batch import DEFAULT_CHUNK_SIZE
from .errors import EligibilityError, InputError

if TYPE_CHECKING:
    from .schema import Trial
    from .screening import ScreeningResult


def _read_input(source: str) -> tuple[str, str | None]:
    """(text, default id) of a file path or ``-``."""
    from .readers import decode

    if source == "-":
        return decode(sys.stdin.buffer.read()), None
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: no such file")
    return decode(path.read_bytes()), path.stem


def cmd_parse(args: argparse.Namespace) -> int:
    from .api import parse, parse_study
    from .readers import check_text, looks_like_json, parse_json_text

    text, default_id = _read_input(args.input)
    check_text(text)
    if looks_like_json(text):
        data = parse_json_text(text)
        if isinstance(data, dict) and "studies" in data and isinstance(data["studies"], list):
            data = data["studies"][0] if data["studies"] else data
        trial = parse_study(data)
    else:
        trial = parse(text, trial_id=args.id or default_id)
    if args.format == "csv":
        trial.to_frame().to_csv(sys.stdout, index=False)
    else:
        json.dump(trial.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run

    if args.workers < 1:
        raise InputError("--workers must be at least 1")
    summary = run(
        args.inputs,
        Path(args.output),
        Path(args.errors) if args.errors else None,
        progress=not args.no_progress,
        resume=args.resume,
        workers=args.workers,
        dask=args.dask,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
    )
    skipped = f"; {summary.skipped} already written (resume)" if summary.skipped else ""
    print(
        f"{summary.ok} trials written to {args.output}; {summary.failed} failed{skipped}",
        file=sys.stderr,
    )
    for failure in summary.failures[:10]:
        print(f"  failed: {failure.id or failure.source}: {failure.error}", file=sys.stderr)
    return summary.exit_code


def _read_trial(source: str) -> Trial:
    """A trial from a file: criteria text (parsed), ``Trial.to_dict()`` / gold JSON, or API v2."""
    from .readers import check_text, decode, looks_like_json, parse_json_text
    from .screening import as_trial

    path = Path(source)
    if not path.is_file():
        raise InputError(f"{source}: no such file")
    text = check_text(decode(path.read_bytes()))
    if path.suffix.lower() != ".json" and not looks_like_json(text):
        from .api import parse

        return parse(text, trial_id=path.stem)
    data = parse_json_text(text)
    if isinstance(data, dict) and isinstance(data.get("criteria"), list):
        return as_trial(data)
    if isinstance(data, dict) and isinstance(data.get("studies"), list) and data["studies"]:
        data = data["studies"][0]
    from .api import parse_study

    return parse_study(data)


def _screening_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"--date {text!r} is not a date (YYYY-MM-DD)") from exc


def cmd_screen(args: argparse.Namespace) -> int:
    from .screening import screen

    trial = _read_trial(args.trial)
    result = screen(trial, args.patient, on=_screening_date(args.date))
    if args.format == "json":
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_screening_table(result))
    return 0


def _screening_table(result: ScreeningResult) -> str:
    """A readable table: one row per criterion, children indented under their parent."""
    answer = {True: "ELIGIBLE", False: "NOT ELIGIBLE", None: "UNDECIDED"}[result.eligible]
    open_ids = f" (open: {', '.join(result.undecided)})" if result.undecided else ""
    lines = [
        f"trial {result.trial_id or '?'}  patient {result.patient_id or '?'}  on {result.on}",
        answer + open_ids,
        "",
        f"{'criterion':<11} {'section':<10} {'status':<8} reason",
    ]
    depth: dict[str, int] = {}
    for row in result.criteria:
        depth[row.id] = depth.get(row.parent_id, -1) + 1 if row.parent_id else 0
        label = "  " * depth[row.id] + row.id
        reason = row.reason if len(row.reason) <= 110 else row.reason[:109] + "…"
        lines.append(f"{label:<11} {row.section:<10} {row.status:<8} {reason}")
    return "\n".join(lines) + "\n"


def cmd_export(args: argparse.Namespace) -> int:
    from .export import ohdsi_skipped, to_fhir, to_ohdsi

    trial = _read_trial(args.trial)
    data = to_fhir(trial) if args.to == "fhir" else to_ohdsi(trial)
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    if args.to == "ohdsi":
        skipped = ohdsi_skipped(trial)
        if skipped:
            print(f"{len(skipped)} parts not expressible in Circe:", file=sys.stderr)
            for line in skipped:
                print(f"  {line}", file=sys.stderr)
    return 0


def _plugins() -> dict[str, Callable[[argparse.ArgumentParser], Callable[..., int]]]:
    return {ep.name: ep.load for ep in entry_points(group="eligibility.commands")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eligibility",
        description="Structure clinical-trial eligibility criteria into computable criteria.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="structure one trial (text or API v2 JSON) to JSON or CSV")
    p.add_argument("input", help="a file, or - for standard input")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--id", help="trial id to record (default: the file name)")
    p.set_defaults(func=cmd_parse)

    b = sub.add_parser(
        "batch",
        help="structure many trials into JSONL or Parquet (resumable, parallel)",
        description="Inputs: text/JSON files or folders, JSONL, ClinicalTrials.gov API v2 JSON"
        " (one study, an array, or the zipped bulk download) and AACT's eligibilities.txt.",
    )
    b.add_argument("inputs", nargs="+", help="files, folders, JSONL, JSON, .zip, AACT; - for stdin")
    b.add_argument("-o", "--output", required=True, help="output .jsonl or .parquet")
    b.add_argument("--errors", help="errors JSONL (default: OUTPUT.errors.jsonl)")
    b.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    b.add_argument(
        "--resume", action="store_true", help="skip ids already in OUTPUT and append to it"
    )
    b.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1: this process)"
    )
    b.add_argument(
        "--dask", action="store_true", help="use Dask (a LocalCluster of --workers processes)"
    )
    b.add_argument("--scheduler", help="Dask scheduler address (tcp://host:port); implies --dask")
    b.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"records per task sent to a worker (default {DEFAULT_CHUNK_SIZE})",
    )
    b.set_defaults(func=cmd_batch)

    s = sub.add_parser(
        "screen",
        help="screen a patient (FHIR R4 Bundle or simple JSON) against a trial's criteria",
        description="TRIAL: criteria text (.txt, parsed), Trial.to_dict() JSON or an API v2"
        " study. Statuses: met / not_met / unknown; unknown whenever data are missing.",
    )
    s.add_argument("trial", help="TRIAL.txt or TRIAL.json")
    s.add_argument("patient", help="PATIENT.json: a FHIR R4 Bundle or the simple patient form")
    s.add_argument("--date", help="screening date YYYY-MM-DD (default: today)")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=cmd_screen)

    e = sub.add_parser(
        "export", help="export a trial's criteria as FHIR R5 EvidenceVariable or OHDSI Circe JSON"
    )
    e.add_argument("trial", help="TRIAL.txt or TRIAL.json")
    e.add_argument("--to", choices=("fhir", "ohdsi"), required=True)
    e.set_defaults(func=cmd_export)

    for _name, loader in sorted(_plugins().items()):
        try:
            register = loader()
        except ImportError:  # a plug-in whose package is not installed
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EligibilityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
