"""Batch runs: many trials in, JSONL out, bad records isolated.

Each record is processed to plain data (``Outcome``), so results can come from this process
or from worker processes alike. A record that fails is written to the errors file with its id,
source and reason, and the batch goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import EligibilityError, InputError
from .readers import Record, read_path, records_from_json


@dataclass(slots=True)
class Outcome:
    """What one record became: the trial's ``to_dict()`` or the reason it failed."""

    id: str | None
    source: str | None
    trial: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None


@dataclass(slots=True)
class Summary:
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Outcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def iter_inputs(inputs: Iterable[str | Path]) -> Iterator[Record | InputError]:
    """Records from files, folders and ``-`` (JSON or text on standard input)."""
    import sys

    for item in inputs:
        if str(item) == "-":
            from .readers import decode, looks_like_json, parse_json_text

            try:
                text = decode(sys.stdin.buffer.read())
                if looks_like_json(text):
                    yield from records_from_json(parse_json_text(text), "<stdin>")
                else:
                    yield Record("stdin", text, source="<stdin>")
            except InputError as exc:
                yield exc
            continue
        path = Path(item)
        if not path.exists():
            yield InputError(f"{path}: no such file or directory")
            continue
        yield from read_path(path)


def process(record: Record) -> Outcome:
    """Parse one record; never raises for bad input (the outcome carries the error)."""
    from .api import parse
    from .assemble import structured_criteria

    try:
        trial = parse(record.text, trial_id=record.id)
        if record.structured:
            trial.criteria.extend(structured_criteria(record.structured, len(trial.criteria)))
        return Outcome(record.id, record.source, trial=trial.to_dict())
    except EligibilityError as exc:
        return Outcome(record.id, record.source, error=str(exc), error_type=type(exc).__name__)


def failed(error: InputError) -> Outcome:
    rid = getattr(error, "record_id", None)
    return Outcome(rid, rid, error=str(error), error_type=type(error).__name__)


def run(
    inputs: Iterable[str | Path],
    out: Path,
    errors: Path | None = None,
    *,
    progress: bool = True,
) -> Summary:
    """Process every record of ``inputs`` into ``out`` (JSONL); failures into ``errors``."""
    from tqdm import tqdm

    out.parent.mkdir(parents=True, exist_ok=True)
    errors = errors or out.with_name(out.stem + ".errors.jsonl")
    summary = Summary()
    with (
        out.open("w", encoding="utf-8") as fout,
        errors.open("w", encoding="utf-8") as ferr,
        tqdm(desc="trials", unit=" trials", disable=not progress, dynamic_ncols=True) as bar,
    ):
        for item in iter_inputs(inputs):
            outcome = failed(item) if isinstance(item, InputError) else process(item)
            if outcome.error is None:
                fout.write(json.dumps(outcome.trial, ensure_ascii=False) + "\n")
                summary.ok += 1
            else:
                ferr.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
                summary.failed += 1
                summary.failures.append(outcome)
            bar.update(1)
            bar.set_postfix(failed=summary.failed, refresh=False)
    return summary
