"""Check hand-made gold files against their seed texts.

Usage (from the project root)::

    python -m evaluation.check_gold corpus/gold/*.json

Each gold file names its seed in ``source``, relative to ``corpus/`` (the parent of ``gold/``).
Every problem is printed as one line ``file: criterion id: what is wrong``; the exit code is 1
if there was any problem, 0 otherwise. ``check`` is pure (data in, problems out) for tests.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SECTIONS = frozenset({"inclusion", "exclusion", "unknown"})
COMPARATORS = frozenset({">", ">=", "<", "<=", "==", "!=", "in"})
LOGICS = frozenset({"and", "or"})
RELATIVE_TO = frozenset({"ULN", "LLN"})
RELATIVE_MODES = frozenset({"multiple", "above", "below"})


def _span(obj: Any) -> tuple[int, int] | None:
    """``(start, end)`` when both are ints, else None."""
    if not isinstance(obj, Mapping):
        return None
    start, end = obj.get("start"), obj.get("end")
    if type(start) is int and type(end) is int:
        return start, end
    return None


def _check_threshold(t: Any, k: int, crit: tuple[int, int], source: str) -> list[str]:
    """Problems of the k-th threshold (1-based) of a criterion spanning ``crit``."""
    where = f"threshold {k}"
    if not isinstance(t, Mapping):
        return [f"{where}: not an object"]
    out: list[str] = []
    span = _span(t)
    if span is None:
        out.append(f"{where}: start/end missing or not integers")
    elif not crit[0] <= span[0] < span[1] <= crit[1]:
        out.append(f"{where}: span {span[0]}-{span[1]} not within criterion {crit[0]}-{crit[1]}")
    a_span = _span(t.get("analyte_span"))
    if a_span is None:
        out.append(f"{where}: analyte_span missing or not integers")
    else:
        if not crit[0] <= a_span[0] < a_span[1] <= crit[1]:
            out.append(f"{where}: analyte_span not within the criterion")
        got, want = source[a_span[0] : a_span[1]], t.get("analyte_text")
        if got != want:
            out.append(f"{where}: analyte_span slice {got!r} != analyte_text {want!r}")
    if t.get("comparator") not in COMPARATORS:
        out.append(f"{where}: bad comparator {t.get('comparator')!r}")
    rel, mode = t.get("relative_to"), t.get("relative_mode")
    if rel is not None and rel not in RELATIVE_TO:
        out.append(f"{where}: bad relative_to {rel!r}")
    if mode is not None and mode not in RELATIVE_MODES:
        out.append(f"{where}: bad relative_mode {mode!r}")
    if (rel is None) != (mode is None):
        out.append(f"{where}: relative_to and relative_mode must be both set or both null")
    return out


def check(gold: Mapping[str, Any], source: str, name: str = "<gold>") -> list[str]:
    """All problems of one gold document, given the text of its seed."""
    criteria = gold.get("criteria") if isinstance(gold, Mapping) else None
    if not isinstance(criteria, list):
        return [f"{name}: -: 'criteria' is not a list"]
    problems: list[str] = []
    seen: dict[str, int] = {}  # id -> position
    parents: set[str] = set()
    prev_start = -1
    for i, c in enumerate(criteria, 1):
        cid = c.get("id") if isinstance(c, Mapping) else None
        label = cid if isinstance(cid, str) else f"#{i}"

        def bad(msg: str, label: str = label) -> None:
            problems.append(f"{name}: {label}: {msg}")

        if not isinstance(c, Mapping):
            bad("not an object")
            continue
        if cid in seen:
            bad("duplicate id")
        elif cid != f"c{i}":
            bad(f"id should be 'c{i}' (ids are c1, c2, ... in text order)")
        span = _span(c)
        if span is None or not 0 <= span[0] < span[1] <= len(source):
            bad("start/end missing, not integers or outside the source")
            span = None
        else:
            if source[span[0] : span[1]] != c.get("text"):
                bad(f"source[{span[0]}:{span[1]}] != text")
            if span[0] <= prev_start:
                bad("not in text order")
            prev_start = span[0]
        if c.get("section") not in SECTIONS:
            bad(f"bad section {c.get('section')!r}")
        logic = c.get("logic")
        if logic is not None and logic not in LOGICS:
            bad(f"bad logic {logic!r}")
        parent = c.get("parent_id")
        if parent is not None:
            if parent not in seen:
                bad(f"parent_id {parent!r} is not an earlier criterion")
            else:
                parents.add(parent)
        thresholds = c.get("thresholds", [])
        if not isinstance(thresholds, list):
            bad("thresholds is not a list")
        elif span is not None:
            for k, t in enumerate(thresholds, 1):
                for msg in _check_threshold(t, k, span, source):
                    bad(msg)
        if isinstance(cid, str) and cid not in seen:
            seen[cid] = i
    for c in criteria:
        if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
            continue
        is_parent = c["id"] in parents
        if is_parent and c.get("logic") is None:
            problems.append(f"{name}: {c['id']}: parent without logic")
        if not is_parent and c.get("logic") is not None:
            problems.append(f"{name}: {c['id']}: leaf with logic {c.get('logic')!r}")
    return problems


def check_file(path: Path) -> list[str]:
    """Load a gold file and its seed (``source`` is relative to the gold dir's parent)."""
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
        source_rel = gold["source"]
        source = (path.resolve().parent.parent / source_rel).read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{path}: -: cannot load gold or source: {exc}"]
    return check(gold, source, str(path))


def main(argv: Sequence[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m evaluation.check_gold GOLD.json ...", file=sys.stderr)
        return 2
    problems = [p for path in paths for p in check_file(Path(path))]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
