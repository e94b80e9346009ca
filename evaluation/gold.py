"""Load gold annotations and saved predictions as ``trial_id -> Trial.to_dict()``-shaped dicts.

Both loaders check the fields the scorer relies on (ids, offsets, threshold values) and raise a
``ValueError`` naming the file (and line, for JSONL) on bad data. A scorer fed malformed data
would otherwise fail deep inside a metric, or worse, silently score a typo as a miss.

The dicts are returned as read (no copies, no defaults filled in, except a gold file's missing
``trial_id``), so a gold file's extra keys (``nct_id``, ``source``) stay available to callers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["load_gold", "load_predictions", "validate_trial"]


def load_gold(path_or_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Read one gold JSON file, or every ``*.json`` file of a directory (``corpus/gold``).

    A file without ``trial_id`` is keyed by its file stem (gold files are named after their
    seed). An empty directory gives ``{}``: gold files are written incrementally and callers
    decide whether "no gold yet" is an error.
    """
    path = Path(path_or_dir)
    files = _json_files(path)
    out: dict[str, dict[str, Any]] = {}
    for file in files:
        data = _read_json(file)
        if isinstance(data, dict) and data.get("trial_id") is None:
            data["trial_id"] = file.stem
        trial = validate_trial(data, str(file))
        _add_unique(out, trial, str(file))
    return out


def load_predictions(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read predictions: a JSONL file of ``Trial.to_dict()`` records, or a directory of JSON files.

    Every record needs a non-null ``trial_id`` (the key it is scored under); blank lines are
    skipped.
    """
    path = Path(path)
    out: dict[str, dict[str, Any]] = {}
    if path.is_dir():
        for file in _json_files(path):
            trial = validate_trial(_read_json(file), str(file))
            _add_unique(out, trial, str(file))
        return out
    if not path.is_file():
        raise FileNotFoundError(f"predictions not found: {path}")
    for where, data in _read_jsonl(path):
        _add_unique(out, validate_trial(data, where), where)
    return out


def validate_trial(data: Any, where: str) -> dict[str, Any]:
    """Check that ``data`` has the shape the scorer reads; return it unchanged.

    ``where`` (e.g. ``"preds.jsonl:12"``) prefixes every error message.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    trial_id = data.get("trial_id")
    if not isinstance(trial_id, str) or not trial_id:
        raise ValueError(f"{where}: 'trial_id' must be a non-empty string, got {trial_id!r}")
    criteria = data.get("criteria")
    if not isinstance(criteria, list):
        raise ValueError(f"{where}: 'criteria' must be a list")
    seen: set[str] = set()
    for i, criterion in enumerate(criteria):
        cid = _check_criterion(criterion, f"{where}: criterion {i}")
        if cid in seen:
            raise ValueError(f"{where}: duplicate criterion id {cid!r}")
        seen.add(cid)
    return data


# --- file reading ---------------------------------------------------------------------------


def _json_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("*.json"))
    if path.is_file():
        return [path]
    raise FileNotFoundError(f"not found: {path}")


def _read_json(file: Path) -> Any:
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from exc


def _read_jsonl(file: Path) -> Iterator[tuple[str, Any]]:
    with file.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{file}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: invalid JSON: {exc.msg}") from exc


def _add_unique(out: dict[str, dict[str, Any]], trial: dict[str, Any], where: str) -> None:
    trial_id = trial["trial_id"]
    if trial_id in out:
        raise ValueError(f"{where}: duplicate trial_id {trial_id!r}")
    out[trial_id] = trial


# --- shape checks ---------------------------------------------------------------------------


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _is_value(x: Any) -> bool:
    """A threshold value: a number, or a non-empty list of numbers (comparator ``in``)."""
    if isinstance(x, list):
        return bool(x) and all(_is_number(v) for v in x)
    return _is_number(x)


def _is_offset(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _check_span(obj: Any, where: str, *, nullable: bool) -> None:
    """``obj`` holds ``start``/``end`` offsets with ``start <= end`` (both null if nullable)."""
    start, end = obj.get("start"), obj.get("end")
    if nullable and start is None and end is None:
        return
    if not (_is_offset(start) and _is_offset(end)) or start > end:
        raise ValueError(f"{where}: bad offsets start={start!r} end={end!r}")


def _check_optional_str(obj: dict[str, Any], key: str, where: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string or null, got {value!r}")


def _check_criterion(c: Any, where: str) -> str:
    if not isinstance(c, dict):
        raise ValueError(f"{where}: expected an object")
    cid = c.get("id")
    if not isinstance(cid, str) or not cid:
        raise ValueError(f"{where}: 'id' must be a non-empty string, got {cid!r}")
    where = f"{where} ({cid})"
    if not isinstance(c.get("section"), str):
        raise ValueError(f"{where}: 'section' must be a string")
    _check_span(c, where, nullable=True)
    for key in ("parent_id", "logic", "origin"):
        _check_optional_str(c, key, where)
    for key in ("thresholds", "entities", "temporal"):
        items = c.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ValueError(f"{where}: {key!r} must be a list of objects")
    # a structured field's criterion ("minimumAge") has no place in the text, nor have its
    # thresholds (their offsets are -1)
    placed = c.get("start") is not None
    for j, t in enumerate(c.get("thresholds", [])):
        _check_threshold(t, f"{where}: threshold {j}", placed=placed)
    return cid


def _check_threshold(t: dict[str, Any], where: str, *, placed: bool = True) -> None:
    if not isinstance(t.get("comparator"), str):
        raise ValueError(f"{where}: 'comparator' must be a string")
    if not _is_value(t.get("value")):
        raise ValueError(f"{where}: 'value' must be a number or a list of numbers")
    if placed:
        _check_span(t, where, nullable=False)
    span = t.get("analyte_span")
    if span is not None and placed:
        if not isinstance(span, dict):
            raise ValueError(f"{where}: 'analyte_span' must be an object or null")
        _check_span(span, f"{where}: analyte_span", nullable=False)
    for key in ("analyte", "unit", "relative_to"):
        _check_optional_str(t, key, where)
    norm = t.get("normalized")
    if norm is not None:
        if not isinstance(norm, dict) or not _is_value(norm.get("value")):
            raise ValueError(f"{where}: 'normalized' must be null or have a numeric 'value'")
        if not isinstance(norm.get("unit"), str):
            raise ValueError(f"{where}: 'normalized.unit' must be a string")
