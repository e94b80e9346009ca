"""Annotator round trip through brat standoff: predictions out for pre-annotation, corrected
files back in as gold JSON.

Annotators correct faster than they annotate from scratch, and brat is the tool they know; so
a trial is exported as ``<id>.txt`` (the source text, unchanged: offsets stay valid) and
``<id>.ann``:

* one ``T`` line per criterion, typed by its section (``Inclusion``, ``Exclusion``,
  ``Unknown``), with ``A`` lines ``Negated``, ``Exception`` and ``Logic`` (``and``/``or``) and an
  ``R`` line ``Parent Arg1:<child> Arg2:<parent>`` for the tree;
* one ``Threshold`` ``T`` per threshold, an ``A`` line ``Comparator`` (``GT``, ``GTEQ``, ...:
  brat attribute values must be identifiers) and an ``AnnotatorNotes`` line holding the rest
  as ``key=value`` pairs (values are JSON, so numbers, lists and quoted strings survive the
  trip; an annotator may also type a bare unit); its analyte words are an ``Analyte`` ``T``
  linked by ``R ... Analyte``;
* entities (by default the negated ones only) typed by their label, with ``A Negated``.

Spans that cross a line break are written as brat fragments (brat does not allow a newline
inside a fragment) and read back as one span from the first to the last fragment.
``import_brat`` rebuilds the gold shape of ``corpus/README.md``: criteria in text order with
ids ``c1``, ``c2``, ..., each threshold attached to the criterion whose span contains it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["COMPARATOR_NAMES", "export_brat", "import_brat", "parse_note", "format_note"]

SECTION_TYPES = {"inclusion": "Inclusion", "exclusion": "Exclusion", "unknown": "Unknown"}
TYPE_SECTIONS = {v: k for k, v in SECTION_TYPES.items()}
COMPARATOR_NAMES = {
    ">": "GT",
    ">=": "GTEQ",
    "<": "LT",
    "<=": "LTEQ",
    "==": "EQ",
    "!=": "NEQ",
    "in": "IN",
}
NAME_COMPARATORS = {v: k for k, v in COMPARATOR_NAMES.items()}
NOTE_KEYS = (
    "analyte",
    "value",
    "unit",
    "relative_to",
    "relative_mode",
    "condition",
    "normalized_value",
    "normalized_unit",
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


# --- export -----------------------------------------------------------------------------------


class _Ann:
    """Numbering and lines of one ``.ann`` file."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines: list[str] = []
        self.counts = {"T": 0, "A": 0, "R": 0, "#": 0}

    def next_id(self, kind: str) -> str:
        self.counts[kind] += 1
        return f"{kind}{self.counts[kind]}"

    def span(self, label: str, start: int, end: int) -> str:
        tid = self.next_id("T")
        pieces = list(fragments(self.text, start, end))
        offsets = ";".join(f"{s} {e}" for s, e in pieces)
        shown = " ".join(self.text[s:e] for s, e in pieces)
        self.lines.append(f"{tid}\t{label} {offsets}\t{shown}")
        return tid

    def attribute(self, name: str, target: str, value: str | None = None) -> None:
        suffix = f" {value}" if value is not None else ""
        self.lines.append(f"{self.next_id('A')}\t{name} {target}{suffix}")

    def relation(self, name: str, arg1: str, arg2: str) -> None:
        self.lines.append(f"{self.next_id('R')}\t{name} Arg1:{arg1} Arg2:{arg2}")

    def note(self, target: str, text: str) -> None:
        self.lines.append(f"{self.next_id('#')}\tAnnotatorNotes {target}\t{text}")


def fragments(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` cut at line breaks into non-empty pieces (brat's fragment rule)."""
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        if stop > pos:
            yield pos, stop
        pos = stop + 1
    if start == end:
        yield start, end


def export_brat(
    trial: Mapping[str, Any],
    text: str,
    out_dir: str | Path,
    *,
    entities: str = "negated",
) -> tuple[Path, Path]:
    """Write ``<trial_id>.txt`` and ``<trial_id>.ann`` for ``trial`` (a ``Trial.to_dict()`` or a
    gold dict) over its source ``text``; returns both paths.

    ``entities``: ``"negated"`` (default; what annotators check for negation), ``"all"`` or
    ``"none"``. Criteria without a text span (structured fields) are left out: brat has no
    place for them. Also writes an ``annotation.conf`` so brat shows the file as is.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = _SAFE_NAME.sub("_", str(trial.get("trial_id") or "trial"))
    ann = _Ann(text)
    labels: set[str] = set()
    ids: dict[str, str] = {}
    criteria = [c for c in trial.get("criteria", []) if c.get("start") is not None]
    for c in criteria:
        ids[c["id"]] = _export_criterion(ann, c)
    for c in criteria:
        if c.get("parent_id") in ids:
            ann.relation("Parent", ids[c["id"]], ids[c["parent_id"]])
    for c in criteria:
        for t in c.get("thresholds", []):
            _export_threshold(ann, t)
        labels |= _export_entities(ann, c, entities)
    txt_path, ann_path = out / f"{name}.txt", out / f"{name}.ann"
    txt_path.write_text(text, encoding="utf-8", newline="")
    ann_path.write_text("".join(line + "\n" for line in ann.lines), encoding="utf-8")
    write_annotation_conf(out, labels)
    return txt_path, ann_path


def _export_criterion(ann: _Ann, c: Mapping[str, Any]) -> str:
    tid = ann.span(
        SECTION_TYPES.get(c.get("section") or "unknown", "Unknown"), c["start"], c["end"]
    )
    if c.get("negated"):
        ann.attribute("Negated", tid)
    if c.get("exception"):
        ann.attribute("Exception", tid)
    if c.get("logic") in ("and", "or"):
        ann.attribute("Logic", tid, c["logic"])
    return tid


def _export_threshold(ann: _Ann, t: Mapping[str, Any]) -> None:
    if t.get("start") is None or t["start"] < 0:
        return
    tid = ann.span("Threshold", t["start"], t["end"])
    comparator = COMPARATOR_NAMES.get(str(t.get("comparator")))
    if comparator:
        ann.attribute("Comparator", tid, comparator)
    ann.note(tid, format_note(_note_fields(t)))
    span = t.get("analyte_span") or {}
    if span.get("start") is not None and span["start"] >= 0:
        ann.relation("Analyte", tid, ann.span("Analyte", span["start"], span["end"]))


def _note_fields(t: Mapping[str, Any]) -> dict[str, Any]:
    norm = t.get("normalized") or {}
    values = {key: t.get(key) for key in NOTE_KEYS[:6]}
    values["normalized_value"] = norm.get("value")
    values["normalized_unit"] = norm.get("unit")
    return values


def _export_entities(ann: _Ann, c: Mapping[str, Any], which: str) -> set[str]:
    labels: set[str] = set()
    if which == "none":
        return labels
    for e in c.get("entities", []):
        if (which == "negated" and not e.get("negated")) or e.get("start") is None:
            continue
        label = _SAFE_NAME.sub("_", str(e.get("label") or "Entity")) or "Entity"
        tid = ann.span(label, e["start"], e["end"])
        if e.get("negated"):
            ann.attribute("Negated", tid)
        labels.add(label)
    return labels


def format_note(values: Mapping[str, Any]) -> str:
    """``key=value; ...`` with JSON values (None left out): one line, readable, exact."""
    return "; ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}"
        for key, value in values.items()
        if value is not None
    )


_KEY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*")
_SEP = re.compile(r"\s*;\s*")


def parse_note(note: str) -> dict[str, Any]:
    """Inverse of ``format_note``; a value that is not JSON (an annotator's bare ``mg/dL``)
    is taken as the text up to the next ``;``."""
    decoder = json.JSONDecoder()
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(note):
        m = _KEY.match(note, pos)
        if not m:
            break
        key, pos = m.group(1), m.end()
        try:
            value, end = decoder.raw_decode(note, pos)
            rest = note[end:].lstrip()
            if rest and not rest.startswith(";"):
                raise ValueError("not a whole JSON value")
        except ValueError:
            end = note.find(";", pos)
            end = len(note) if end == -1 else end
            value = note[pos:end].strip()
        out[key] = value
        sep = _SEP.match(note, end)
        pos = sep.end() if sep else len(note)
    return out


def write_annotation_conf(out_dir: Path, labels: set[str]) -> Path:
    """brat's ``annotation.conf`` for the types used (entity labels merged with an existing
    file's, since one folder holds many trials)."""
    path = out_dir / "annotation.conf"
    known = set(labels) | _conf_entities(path)
    fixed = ["Inclusion", "Exclusion", "Unknown", "Threshold", "Analyte"]
    extra = sorted(known - set(fixed))
    criteria = "|".join(fixed[:3])
    lines = [
        "[entities]",
        *fixed,
        *extra,
        "[relations]",
        f"Parent\tArg1:{criteria}, Arg2:{criteria}",
        "Analyte\tArg1:Threshold, Arg2:Analyte",
        "[events]",
        "[attributes]",
        "Negated\tArg:<ENTITY>",
        f"Exception\tArg:{criteria}",
        f"Logic\tArg:{criteria}, Value:and|or",
        "Comparator\tArg:Threshold, Value:" + "|".join(COMPARATOR_NAMES.values()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _conf_entities(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    section, out = "", set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.strip()
        elif section == "[entities]" and line.strip():
            out.add(line.strip())
    return out


# --- import -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Span:
    id: str
    type: str
    start: int
    end: int
    attrs: dict[str, str | bool] = field(default_factory=dict)
    note: str = ""


@dataclass(slots=True)
class _Parsed:
    spans: dict[str, _Span] = field(default_factory=dict)
    relations: list[tuple[str, str, str]] = field(default_factory=list)


def _parse_ann(text: str) -> _Parsed:
    parsed = _Parsed()
    later: list[list[str]] = []
    for line in text.splitlines():
        cols = line.split("\t")
        if not cols[0]:
            continue
        if cols[0].startswith("T") and len(cols) >= 2:
            label, _, offsets = cols[1].partition(" ")
            pairs = [tuple(map(int, frag.split())) for frag in offsets.split(";")]
            start, end = min(p[0] for p in pairs), max(p[1] for p in pairs)
            parsed.spans[cols[0]] = _Span(cols[0], label, start, end)
        else:
            later.append(cols)
    for cols in later:  # attributes, relations and notes refer to T lines
        _parse_other(cols, parsed)
    return parsed


def _parse_other(cols: list[str], parsed: _Parsed) -> None:
    kind, args = cols[0][:1], cols[1].split() if len(cols) > 1 else []
    if kind in ("A", "M") and len(args) >= 2 and args[1] in parsed.spans:
        parsed.spans[args[1]].attrs[args[0]] = args[2] if len(args) > 2 else True
    elif kind == "R" and len(args) == 3:
        arg1, arg2 = (a.split(":", 1)[1] for a in args[1:3])
        parsed.relations.append((args[0], arg1, arg2))
    elif kind == "#" and len(args) == 2 and args[1] in parsed.spans and len(cols) > 2:
        parsed.spans[args[1]].note = cols[2]


def _span_order(s: _Span) -> tuple[int, int, int]:
    """Text order; at equal offsets, file order (``T`` numbers) keeps the exported order."""
    number = s.id[1:]
    return s.start, s.end, int(number) if number.isdigit() else 0


def import_brat(
    txt_path: str | Path,
    ann_path: str | Path,
    *,
    trial_id: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """A gold dict (``corpus/README.md`` shape) from a brat ``.txt``/``.ann`` pair.

    ``trial_id`` defaults to the file stem and ``source`` to the ``.txt`` name (set it to the
    path under ``corpus/`` when the file joins the gold).
    """
    txt_path, ann_path = Path(txt_path), Path(ann_path)
    text = txt_path.read_text(encoding="utf-8")
    parsed = _parse_ann(ann_path.read_text(encoding="utf-8"))
    spans = sorted(parsed.spans.values(), key=_span_order)
    criteria_spans = [s for s in spans if s.type in TYPE_SECTIONS]
    ids = {s.id: f"c{n}" for n, s in enumerate(criteria_spans, start=1)}
    parents = {a1: a2 for name, a1, a2 in parsed.relations if name == "Parent"}
    analytes = {a1: a2 for name, a1, a2 in parsed.relations if name == "Analyte"}
    criteria = [_criterion(s, text, ids, parents) for s in criteria_spans]
    warnings: list[str] = []
    for s in spans:
        if s.type == "Threshold":
            item = _threshold(s, text, parsed.spans.get(analytes.get(s.id, "")))
            _attach(criteria, item, "thresholds", warnings, s.id)
        elif s.type not in TYPE_SECTIONS and s.type != "Analyte":
            _attach(criteria, _entity(s, text), "entities", warnings, s.id)
    out: dict[str, Any] = {
        "trial_id": trial_id or txt_path.stem,
        "source": source or txt_path.name,
        "criteria": criteria,
    }
    if warnings:
        out["import_warnings"] = warnings
    return out


def _criterion(
    s: _Span, text: str, ids: Mapping[str, str], parents: Mapping[str, str]
) -> dict[str, Any]:
    logic = s.attrs.get("Logic")
    return {
        "id": ids[s.id],
        "section": TYPE_SECTIONS[s.type],
        "text": text[s.start : s.end],
        "start": s.start,
        "end": s.end,
        "parent_id": ids.get(parents.get(s.id, "")),
        "logic": logic if logic in ("and", "or") else None,
        "exception": bool(s.attrs.get("Exception")),
        "negated": bool(s.attrs.get("Negated")),
        "thresholds": [],
    }


def _threshold(s: _Span, text: str, analyte: _Span | None) -> dict[str, Any]:
    note = parse_note(s.note)
    comparator = NAME_COMPARATORS.get(str(s.attrs.get("Comparator")), note.get("comparator"))
    norm_value = note.get("normalized_value")
    return {
        "analyte": note.get("analyte"),
        "analyte_text": text[analyte.start : analyte.end] if analyte else None,
        "analyte_span": {"start": analyte.start, "end": analyte.end} if analyte else None,
        "comparator": comparator,
        "value": note.get("value"),
        "unit": note.get("unit"),
        "relative_to": note.get("relative_to"),
        "relative_mode": note.get("relative_mode"),
        "condition": note.get("condition"),
        "normalized": (
            {"value": norm_value, "unit": note.get("normalized_unit")}
            if norm_value is not None
            else None
        ),
        "start": s.start,
        "end": s.end,
    }


def _entity(s: _Span, text: str) -> dict[str, Any]:
    return {
        "text": text[s.start : s.end],
        "label": s.type,
        "start": s.start,
        "end": s.end,
        "negated": bool(s.attrs.get("Negated")),
    }


def _attach(
    criteria: list[dict[str, Any]],
    item: dict[str, Any],
    key: str,
    warnings: list[str],
    ann_id: str,
) -> None:
    """Put ``item`` in the criterion containing it (else the one overlapping it most)."""
    best, best_overlap = None, 0
    for c in criteria:
        shared = min(c["end"], item["end"]) - max(c["start"], item["start"])
        if c["start"] <= item["start"] and item["end"] <= c["end"]:
            best = c
            break
        if shared > best_overlap:
            best, best_overlap = c, shared
    if best is None:
        warnings.append(f"{ann_id} ({key[:-1]} at {item['start']}-{item['end']}): in no criterion")
        return
    best.setdefault(key, []).append(item)


# --- command line -----------------------------------------------------------------------------


def register_brat(sub: Any) -> None:
    """``eligibility brat export|import``: pre-annotations for annotators, and back to gold."""
    p = sub.add_parser("brat", help="export predictions to brat, or import brat files as gold")
    actions = p.add_subparsers(dest="brat_action", required=True)
    exp = actions.add_parser("export", help="parse trial files and write brat .txt/.ann pairs")
    exp.add_argument("inputs", nargs="+", help="criteria .txt or API v2 study .json files, folders")
    exp.add_argument("-o", "--output", required=True, help="brat folder to write")
    exp.add_argument(
        "--entities",
        choices=("negated", "all", "none"),
        default="negated",
        help="which entities to pre-annotate (default: negated ones)",
    )
    exp.set_defaults(func=cmd_brat_export)
    imp = actions.add_parser("import", help="read brat .txt/.ann pairs as gold JSON files")
    imp.add_argument("folder", help="folder with .txt/.ann pairs")
    imp.add_argument("-o", "--output", required=True, help="folder for the gold JSON files")
    imp.set_defaults(func=cmd_brat_import)


def _trial_files(inputs: list[str]) -> Iterator[Path]:
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in (".txt", ".json"))
        else:
            yield path


def cmd_brat_export(args: argparse.Namespace) -> int:
    """One .txt/.ann pair per trial file (criteria text, or an API v2 study as JSON); a file
    that fails is reported and the others go on."""
    import pipeline

    written = failed = 0
    for path in _trial_files(args.inputs):
        try:
            raw = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                trial = pipeline.parse_study(json.loads(raw))
            else:
                trial = pipeline.parse(raw, trial_id=path.stem)
        except (OSError, ValueError, pipeline.EligibilityError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        export_brat(trial.to_dict(), trial.source_text, args.output, entities=args.entities)
        written += 1
    print(f"brat: {written} trial(s) written to {args.output}, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_brat_import(args: argparse.Namespace) -> int:
    folder, out = Path(args.folder), Path(args.output)
    pairs = [(t, t.with_suffix(".ann")) for t in sorted(folder.glob("*.txt"))]
    pairs = [(t, a) for t, a in pairs if a.exists()]
    if not pairs:
        print(f"error: no .txt/.ann pairs in {folder}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for txt, ann in pairs:
        gold = import_brat(txt, ann)
        target = out / f"{txt.stem}.json"
        target.write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        for warning in gold.get("import_warnings", []):
            print(f"warning: {txt.name}: {warning}", file=sys.stderr)
    print(f"brat: {len(pairs)} gold file(s) written to {out}", file=sys.stderr)
    return 0
