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
from importlib.metadata import entry_points
from pathlib import Path

from .errors import EligibilityError, InputError


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
        "--chunk-size", type=int, default=4, help="records per task sent to a worker (default 4)"
    )
    b.set_defaults(func=cmd_batch)

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
