"""Score the pipeline on the external LCT gold set (``/work/shared/lct/dev.jsonl``).

LCT annotates comparisons (subject, operator, value, unit), temporal constraints and negation
on ClinicalTrials.gov criteria. Its "How to score" section is followed here; the choices it
leaves open, and why they were made:

* A gold comparison is found when a predicted threshold's analyte words overlap the gold
  subject (or its ``name``); only when none does, a threshold whose whole span overlaps the
  gold comparison span stands in (the pipeline may bound the analyte differently).
* Three recalls per category: *strict* (operator, value and, where the gold has a unit, unit),
  *direction* (``>`` and ``>=`` count as the same, likewise ``<``/``<=``) and *lenient* (subject
  overlap and value only). Items flagged ``operator-annotation-mismatch`` are left out of the
  two operator-scored recalls and counted instead: the annotators contradict the text there.
* A gold ``range`` is found by a pair of thresholds on the subject (a lower bound ``>=``/``>``
  and an upper bound ``<=``/``<``) or by one ``in`` threshold spanning the bounds.
* Annotation is not exhaustive, so precision is measured only on predicted thresholds whose
  analyte overlaps an annotated subject: the fraction of those that are right.
* A duration in two units ("13 weeks 6 days") comes out of LCT's converter as a range of its
  two numbers (6 to 13, unit "weeks days"); such items are counted (``dur excl``) and left out
  of the operator-scored recalls and of precision, like operator mismatches. A unit annotated
  once per bound ("between 37week and 42 weeks": "week weeks") is that one unit.
* Comparisons whose value is not a number ("stage IVa") are skipped and counted: a threshold
  value is numeric by contract.

Negation is scored at entity level: a gold negation target is found when a predicted negated
entity overlaps it; precision is measured on predicted negated entities that overlap some
gold entity (elsewhere the gold says nothing). Three readings of "predicted negated entity":

* ``entities``: every entity ConText negates, and each item concept a negated list
  introduction negates ("absence of: - anemia"). LCT links a cue to one target (91% of cues),
  so in "no history of depression or use of antidepressants" the second, rightly negated,
  concept counts against precision.
* ``cue targets``: the entity each cue attaches to (``criteria[*].negations``), which is what
  LCT annotates: the same overlap rule, one prediction per cue.
* ``cue+target``: as ``cue targets``, and the predicted cue must overlap the gold cue too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.score import as_trial_dict, default_parse, overlap, ratio

__all__ = [
    "CATEGORIES",
    "candidates",
    "comparison_categories",
    "format_lct_table",
    "is_compound_duration",
    "is_operator_mismatch",
    "judge",
    "lct_path",
    "main",
    "normalize_operator",
    "normalize_time_unit",
    "normalize_unit",
    "read_records",
    "score_lct",
    "score_predictions",
    "score_record",
    "summarize",
    "unit_reference",
    "units_match",
]

CATEGORIES: tuple[str, ...] = ("all", "lab_like", "observation", "age", "temporal")
REL_TOL = 1e-3  # LCT values are parsed from text; 1e-3 also absorbs rounding in predictions

ParseFn = Callable[..., Any]
Item = Mapping[str, Any]

_LOWER = frozenset({">", ">="})
_UPPER = frozenset({"<", "<="})
_OPERATORS = {
    ">": ">",
    "gt": ">",
    ">=": ">=",
    "≥": ">=",
    "=>": ">=",
    "gteq": ">=",
    "<": "<",
    "lt": "<",
    "<=": "<=",
    "≤": "<=",
    "=<": "<=",
    "lteq": "<=",
    "=": "==",
    "==": "==",
    "eq": "==",
    "range": "range",
    "between": "range",
}


# --- locating the data ----------------------------------------------------------------------


def lct_path() -> Path | None:
    """``$LCT_PATH`` if set, else ``shared/lct/dev.jsonl`` beside the repository; None if absent.

    The data set lives outside the project (it must not be copied in), so tests and the CLI
    look it up here and skip when it is not there.
    """
    env = os.environ.get("LCT_PATH")
    path = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared/lct/dev.jsonl"
    return path if path.is_file() else None


def read_records(path: str | Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The LCT records of a JSONL file, in file order; ``ValueError`` with file:line if bad."""
    path = Path(path)
    count = 0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if limit is not None and count >= limit:
                return
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from exc
            if not isinstance(record, dict) or not all(
                isinstance(record.get(k), str) for k in ("doc_id", "text")
            ):
                raise ValueError(f"{path}:{lineno}: not an LCT record (needs 'doc_id' and 'text')")
            count += 1
            yield record


# --- normalisation --------------------------------------------------------------------------


def normalize_operator(op: str | None) -> str | None:
    """``>``, ``>=``, ``<``, ``<=``, ``==``, ``range`` (or the input, trimmed, if unknown)."""
    if op is None:
        return None
    key = op.strip().casefold()
    return _OPERATORS.get(key, key)


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_MULTIPLIER = r"(?:[x×*]|times|fold|-fold)"
_REF_PREFIX = re.compile(
    rf"^(?:{_MULTIPLIER}\s*)?(?:the\s+)?(?:institutional\s+|institution's\s+)?"
)
_REF_SUFFIX = re.compile(r"\s*\((?:uln|lln)\)$")
_ULN_WORDS = frozenset(
    {
        "uln",
        "upper limit of normal",
        "upper limits of normal",
        "upper limit of the normal",
        "upper limit of normal range",
        "upper limit of the normal range",
        "upper limit of institutional normal",
        "upper normal limit",
        "upper limit",
        "upper reference limit",
        "maximum normal value",
        "highest reference value",
        "normal",
    }
)
_LLN_WORDS = frozenset(
    {
        "lln",
        "lower limit of normal",
        "lower limits of normal",
        "lower limit of the normal",
        "lower limit of normal range",
        "lower limit of the normal range",
        "lower limit of institutional normal",
        "lower normal limit",
        "lower limit",
        "lower reference limit",
        "minimum normal value",
        "lowest reference value",
    }
)
_UNIT_WORDS = {
    "minute": "min",
    "minutes": "min",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "milliliter": "ml",
    "milliliters": "ml",
    "millilitre": "ml",
    "millilitres": "ml",
    "liter": "l",
    "liters": "l",
    "litre": "l",
    "litres": "l",
}


def _base_unit(text: str) -> str:
    """Case-folded, µ/μ -> u, superscripts as plain digits, single spaces."""
    s = text.casefold().replace("μ", "u")  # casefold already maps the micro sign µ to μ
    s = s.translate(_SUPERSCRIPTS)
    return " ".join(s.split())


def unit_reference(text: str | None) -> str | None:
    """``"ULN"``/``"LLN"`` when a unit text names a reference limit ("x ULN", "times the upper
    limit of normal", "maximum normal value", ...), else None."""
    if not text:
        return None
    s = _REF_SUFFIX.sub("", _REF_PREFIX.sub("", _base_unit(text)))
    if s in _ULN_WORDS:
        return "ULN"
    if s in _LLN_WORDS:
        return "LLN"
    return None


def normalize_unit(text: str | None) -> str:
    """A comparison key for a written unit.

    Folds case, spaces, µ/μ/u/mc, superscripts, "per" vs "/", and the superscripts lost when
    LCT's text was flattened from HTML: "10^9/L", "10⁹/L", "x109/L" all become "109/l" and
    "m²" becomes "m2". Reference limits become "uln"/"lln".
    """
    if not text:
        return ""
    ref = unit_reference(text)
    if ref:
        return ref.casefold()
    s = _base_unit(text)
    s = re.sub(r"(?<![a-z])mc(?=g|l|mol|ml)", "u", s)  # mcg -> ug, mcL -> uL
    s = re.sub(r"\s*\bper\b\s*", "/", s)
    s = "/".join(
        "".join(_UNIT_WORDS.get(word, word) for word in part.split()) for part in s.split("/")
    )
    s = s.replace("^", "").replace("*", "")  # 10^9 and 10*9 -> 109, as in the flattened text
    s = re.sub(r"^[x×]", "", s)  # "x109/L": the multiplication sign is not part of the unit
    s = re.sub(r"^cells?(?=/)", "", s)  # "cells/µL" counts the same thing as "/µL"
    return s.lstrip("/")  # "< 50,000/mm3" is annotated "mm3" as often as "/mm3"


_TIME_UNITS = {
    "years": ("year", "years", "yr", "yrs", "y", "a"),
    "months": ("month", "months", "mo", "mos", "mth", "mths", "mon"),
    "weeks": ("week", "weeks", "wk", "wks", "w"),
    "days": ("day", "days", "d"),
    "hours": ("hour", "hours", "hr", "hrs", "h"),
    "minutes": ("minute", "minutes", "min", "mins"),
}
_TIME_ALIASES = {alias: name for name, aliases in _TIME_UNITS.items() for alias in aliases}


def normalize_time_unit(text: str | None) -> str:
    """Time unit names to ``years``/``months``/``weeks``/``days``/``hours``/``minutes``
    (part by part, so "hours per week" -> "hours/weeks")."""
    if not text:
        return ""
    s = re.sub(r"\s*\bper\b\s*", "/", _base_unit(text).rstrip("."))
    return "/".join(_TIME_ALIASES.get(part.strip(), part.strip()) for part in s.split("/"))


def _same_unit(a: str, b: str) -> bool:
    """``pipeline.units.same_unit`` (convertible with factor 1: "μmol/l" = "umol/L"), else
    False (string comparison has already failed by the time this is asked)."""
    try:
        from pipeline.units import same_unit
    except (ImportError, AttributeError):
        return False
    try:
        return bool(same_unit(a, b))
    except Exception:  # an unparseable unit is a mismatch, not a crash of the evaluation
        return False


# Words LCT annotators tagged as units that name the scale, not a unit of measure ("MMSE score
# < 4", "ASA class > 3"): a prediction without a unit states these comparisons fully.
NOT_UNITS = frozenset(
    {
        "score",
        "scores",
        "total score",
        "points",
        "point",
        "class",
        "classification",
        "category",
        "grade",
        "stage",
        "status",
        "level",
    }
)


def _repeated_part(gold: Item) -> str | None:
    """One unit for a unit LCT rebuilt from the same unit annotated once per bound:
    "between 37week and 42 weeks" gives "week weeks", "10-15 yr" ... "yr yrs"."""
    parts = gold.get("unit_parts") or []
    if len(parts) < 2 or any(p.get("role") == "Per" for p in parts):
        return None
    keys = {normalize_time_unit(p["text"]) or normalize_unit(p["text"]) for p in parts}
    return parts[-1]["text"] if len(keys) == 1 else None


def is_compound_duration(item: Item) -> bool:
    """A duration written in two units ("13 weeks 6 days"): LCT's converter reads its two
    numbers as a range (6 to 13, "weeks days"), which no right reading states, so the item
    is counted and left out of the operator-scored recalls and of precision."""
    parts = item.get("unit_parts") or []
    if len(parts) < 2 or any(p.get("role") != "Temporal-Unit" for p in parts):
        return False
    return len({normalize_time_unit(p["text"]) for p in parts}) > 1


def units_match(gold: Item, t: Item) -> bool:
    """Does predicted threshold ``t`` state the unit of gold comparison ``gold``?

    True when the gold has no unit (units are scored only where annotated), when the written
    units agree after normalisation (the gold ``unit_alt_text`` restatement counts too), when
    the gold unit names ULN/LLN and the prediction says so through ``relative_to``, or when
    ``pipeline.units.same_unit`` says the two units are the same.
    """
    gold_units = [
        u
        for u in (gold.get("unit_text"), gold.get("unit_alt_text"), _repeated_part(gold))
        if u and normalize_unit(u) not in NOT_UNITS
    ]
    if not gold_units:
        return True
    pred_unit = t.get("unit")
    for unit in gold_units:
        ref = unit_reference(unit)
        if ref and (t.get("relative_to") == ref or unit_reference(pred_unit) == ref):
            return True
        if pred_unit and normalize_unit(unit) == normalize_unit(pred_unit):
            return True
    return bool(pred_unit) and any(_same_unit(u, pred_unit) for u in gold_units)


def _time_units_match(gold: Item, t: Item) -> bool:
    unit = gold.get("unit_text")
    if not unit:
        return True
    return normalize_time_unit(unit) == normalize_time_unit(t.get("unit"))


# --- matching -------------------------------------------------------------------------------


def _close(a: Any, b: Any) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)
    )


def _values(t: Item) -> list[float]:
    v = t.get("value")
    vs = v if isinstance(v, list) else [v]
    return [x for x in vs if isinstance(x, int | float) and not isinstance(x, bool)]


def _scalar(t: Item) -> float | None:
    """The single value of a threshold (a one-element ``in`` list counts as that value)."""
    vs = _values(t)
    return vs[0] if len(vs) == 1 else None


def _comparator(t: Item) -> str | None:
    """Predicted comparator, with ``in [x]`` read as ``== x``."""
    op = t.get("comparator")
    if op == "in" and len(_values(t)) == 1:
        return "=="
    return normalize_operator(op)


def _direction(op: str | None) -> str | None:
    return "lower" if op in _LOWER else "upper" if op in _UPPER else op


def _has_value(t: Item, v: float) -> bool:
    return any(_close(x, v) for x in _values(t))


def _gold_spans(item: Item) -> list[Item]:
    """The subject span and, when it differs, the subject's ``name`` span."""
    subject = item.get("subject") or {}
    return [s for s in (subject, subject.get("name")) if s and s.get("start") is not None]


def _on_subject(item: Item, t: Item) -> bool:
    return any(overlap(s, t.get("analyte_span")) for s in _gold_spans(item))


def candidates(item: Item, preds: Sequence[Item], *, temporal: bool) -> list[Item]:
    """Predictions about this gold item: analyte on the subject, else whole span on the span."""
    if temporal:
        return [t for t in preds if overlap(item.get("span"), t)]
    on_subject = [t for t in preds if _on_subject(item, t)]
    return on_subject or [t for t in preds if overlap(item.get("span"), t)]


def _range_found(item: Item, cands: Sequence[Item], unit_ok: Callable[[Item], bool]) -> bool:
    v, v2 = item["value"], item["value2"]
    low = any(_comparator(t) in _LOWER and _close(_scalar(t), v) and unit_ok(t) for t in cands)
    high = any(_comparator(t) in _UPPER and _close(_scalar(t), v2) and unit_ok(t) for t in cands)
    spanning = any(
        t.get("comparator") == "in"
        and len(vs := _values(t)) > 1
        and _close(min(vs), v)
        and _close(max(vs), v2)
        and unit_ok(t)
        for t in cands
    )
    return (low and high) or spanning


def judge(item: Item, cands: Sequence[Item], *, temporal: bool = False) -> dict[str, bool]:
    """Is gold ``item`` found among candidate predictions: strictly, with lenient direction,
    leniently (value only)? Temporal items are judged on value and unit: the temporal items
    of the output contract carry no operator."""
    v, v2 = item.get("value"), item.get("value2")
    op = normalize_operator(item.get("operator"))
    bounds = [v, v2] if op == "range" and v2 is not None else [v]
    lenient = all(any(_has_value(t, b) for t in cands) for b in bounds)
    unit_ok = _time_units_match if temporal else units_match

    def valued(t: Item, b: float) -> bool:
        return _has_value(t, b) and unit_ok(item, t)

    if temporal or op is None or (op == "range" and len(bounds) == 1):
        strict = direction = all(any(valued(t, b) for t in cands) for b in bounds)
    elif op == "range":
        strict = direction = _range_found(item, cands, lambda t: unit_ok(item, t))
    else:
        strict = any(_comparator(t) == op and valued(t, v) for t in cands)
        direction = any(
            _direction(_comparator(t)) == _direction(op) and valued(t, v) for t in cands
        )
    return {"strict": strict, "direction": direction, "lenient": lenient}


def _pred_right(t: Item, item: Item, *, temporal: bool) -> dict[str, bool]:
    """Is predicted ``t`` a correct statement of (part of) gold ``item``?"""
    v, v2 = item.get("value"), item.get("value2")
    op = normalize_operator(item.get("operator"))
    unit_ok = (_time_units_match if temporal else units_match)(item, t)
    lenient = _has_value(t, v) or (v2 is not None and _has_value(t, v2))
    if temporal or op is None or (op == "range" and v2 is None):
        strict = lenient
    elif op == "range":
        strict = _bound_of(t, v, v2) or _range_found(item, [t], lambda _: True)
    else:
        # a compound value ("BP > 160/100 mmHg") is stated by either of its numbers
        strict = _comparator(t) == op and (
            _close(_scalar(t), v) or (v2 is not None and _close(_scalar(t), v2))
        )
    return {"strict": unit_ok and strict, "lenient": lenient}


def _bound_of(t: Item, low: float, high: float) -> bool:
    op, value = _comparator(t), _scalar(t)
    return (op in _LOWER and _close(value, low)) or (op in _UPPER and _close(value, high))


# --- per record -----------------------------------------------------------------------------


def comparison_categories(item: Item) -> list[str]:
    """The comparison categories ``item`` is reported under (``temporal`` is a separate list)."""
    subject_type = (item.get("subject") or {}).get("type")
    cats = ["all"]
    if item.get("lab_like"):
        cats.append("lab_like")
    if subject_type == "Observation":
        cats.append("observation")
    if subject_type == "Age":
        cats.append("age")
    return cats


def _pred_thresholds(pred: Mapping[str, Any]) -> list[Item]:
    """Predicted thresholds, each parenthesised restatement counted as a statement of its own
    ("HbA1c > 47 mmol/mol (> 6.4 %)": LCT annotates both comparisons)."""
    out: list[Item] = []
    for c in pred.get("criteria", []):
        for t in c.get("thresholds", []):
            if t.get("start") is None:
                continue
            out.append(t)
            eq = t.get("equivalent") or {}
            if eq.get("value") is not None and eq.get("unit"):
                comparator = eq.get("comparator")
                if comparator in (None, "=="):
                    comparator = t.get("comparator")
                restated = {"value": eq["value"], "unit": eq["unit"], "comparator": comparator}
                out.append({**t, **restated})
    return out


def _pred_temporal(pred: Mapping[str, Any]) -> list[Item]:
    return [
        t
        for c in pred.get("criteria", [])
        for t in c.get("temporal", [])
        if t.get("start") is not None
    ]


def _pred_negated_entities(pred: Mapping[str, Any]) -> list[Item]:
    """Entities ConText negates, and the item concept a negated list introduction negates
    ("absence of: - anemia"): its pair carries ``via``, and the entity keeps ``negated`` false
    because the item's requirement already states the negation."""
    out = []
    for c in pred.get("criteria", []):
        introduced = {
            (n["target"]["start"], n["target"]["end"])
            for n in c.get("negations", [])
            if n.get("via")
        }
        out += [
            e
            for e in c.get("entities", [])
            if e.get("negated") or (e["start"], e["end"]) in introduced
        ]
    return out


def is_operator_mismatch(item: Item) -> bool:
    """Flagged by LCT: the operator words and the annotators' attribute disagree."""
    return any(str(i).startswith("operator-annotation-mismatch") for i in item.get("issues", []))


def _recall_counts(
    items: Sequence[Item],
    preds: Sequence[Item],
    cats_of: Callable[[Item], list[str]],
    temporal: bool,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item in items:
        cats = cats_of(item)
        if item.get("value") is None:
            counts.update({f"{cat}.skipped_no_value": 1 for cat in cats})
            continue
        found = judge(item, candidates(item, preds, temporal=temporal), temporal=temporal)
        mismatch = not temporal and is_operator_mismatch(item)
        compound = not temporal and is_compound_duration(item)
        for cat in cats:
            counts[f"{cat}.support"] += 1
            counts[f"{cat}.found_lenient"] += found["lenient"]
            if mismatch or compound:
                name = "operator_mismatch" if mismatch else "compound_duration"
                counts[f"{cat}.excluded_{name}"] += 1
                continue
            counts[f"{cat}.support_operator"] += 1
            counts[f"{cat}.found_strict"] += found["strict"]
            counts[f"{cat}.found_direction"] += found["direction"]
    return counts


def _precision_counts(
    items: Sequence[Item],
    preds: Sequence[Item],
    cats_of: Callable[[Item], list[str]],
    temporal: bool,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    scored = [
        i for i in items if i.get("value") is not None and (temporal or not is_compound_duration(i))
    ]
    categories = {cat for item in scored for cat in cats_of(item)}
    for t in preds:
        for cat in categories:
            about = [
                i
                for i in scored
                if cat in cats_of(i)
                and (overlap(i.get("span"), t) if temporal else _on_subject(i, t))
            ]
            if not about:
                continue
            verdicts = [_pred_right(t, i, temporal=temporal) for i in about]
            counts[f"{cat}.pred_evaluable"] += 1
            counts[f"{cat}.pred_right_strict"] += any(v["strict"] for v in verdicts)
            counts[f"{cat}.pred_right_lenient"] += any(v["lenient"] for v in verdicts)
    return counts


NEGATION_READINGS = ("negation", "cue_target", "cue_pair")


def _pred_cue_pairs(pred: Mapping[str, Any]) -> list[tuple[Item, Item]]:
    return [
        (n["cue"], n["target"]) for c in pred.get("criteria", []) for n in c.get("negations", [])
    ]


def _negation_counts(record: Mapping[str, Any], pred: Mapping[str, Any]) -> Counter[str]:
    gold = [(n["cue"], n["target"]) for n in record.get("negations", []) if n.get("target")]
    entities = record.get("entities", [])

    def evaluable(e: Item) -> bool:
        return any(overlap(e, g) for g in entities)

    negated = [(None, e) for e in _pred_negated_entities(pred)]
    pairs = _pred_cue_pairs(pred)
    counts: Counter[str] = Counter()
    readings = (
        ("negation", negated, False),
        ("cue_target", pairs, False),
        ("cue_pair", pairs, True),
    )
    for name, predicted, with_cue in readings:

        def same(p: tuple[Any, Item], g: tuple[Item, Item], with_cue: bool = with_cue) -> bool:
            return overlap(p[1], g[1]) and (not with_cue or overlap(p[0], g[0]))

        scored = [p for p in predicted if evaluable(p[1])]
        counts[f"{name}.support"] += len(gold)
        counts[f"{name}.found"] += sum(any(same(p, g) for p in predicted) for g in gold)
        counts[f"{name}.pred_evaluable"] += len(scored)
        counts[f"{name}.pred_right"] += sum(any(same(p, g) for g in gold) for p in scored)
    # the two halves of the pair task: finding the cues LCT annotates, and choosing the
    # target at a cue both sides found (the scope accuracy Criteria2Query reports)
    counts["cues.gold"] += len(gold)
    counts["cues.found"] += sum(any(overlap(c, g[0]) for c, _ in pairs) for g in gold)
    shared = [(c, t) for c, t in pairs if evaluable(t) and any(overlap(c, g[0]) for g in gold)]
    counts["cues.shared"] += len(shared)
    counts["cues.target_right"] += sum(
        any(overlap(c, g[0]) and overlap(t, g[1]) for g in gold) for c, t in shared
    )
    return counts


# LCT's entity types and the labels the pipeline gives the same kind of concept
CONCEPT_TYPES = {
    "Condition": "CONDITION",
    "Drug": "DRUG",
    "Procedure": "PROCEDURE",
    "Observation": "OBSERVATION",
}


def _concept_counts(record: Mapping[str, Any], pred: Mapping[str, Any]) -> Counter[str]:
    """Concept recognition: how many annotated conditions, drugs, procedures and
    observations a predicted entity overlaps (with the same kind of label, or any), and how
    many labelled predictions (fallback CONCEPT targets aside) overlap an annotation of
    their kind."""
    entities = [e for c in pred.get("criteria", []) for e in c.get("entities", [])]
    gold = [g for g in record.get("entities", []) if g.get("type") in CONCEPT_TYPES]
    counts: Counter[str] = Counter()
    for g in gold:
        hits = [e for e in entities if overlap(e, g)]
        kind = g["type"]
        counts[f"concepts.{kind}.support"] += 1
        counts[f"concepts.{kind}.found"] += bool(hits)
        counts[f"concepts.{kind}.labelled"] += any(
            e.get("label") == CONCEPT_TYPES[kind] for e in hits
        )
    labelled = [e for e in entities if e.get("label") in CONCEPT_TYPES.values()]
    counts["concepts.pred"] += len(labelled)
    counts["concepts.pred_right"] += sum(
        any(overlap(e, g) and CONCEPT_TYPES[g["type"]] == e.get("label") for g in gold)
        for e in labelled
    )
    return counts


def score_record(record: Mapping[str, Any], pred: Mapping[str, Any]) -> Counter[str]:
    """Raw counts for one LCT record against one ``Trial.to_dict()``; sum them over records."""
    thresholds = _pred_thresholds(pred)
    temporal = _pred_temporal(pred)

    def temporal_cat(_: Item) -> list[str]:
        return ["temporal"]

    counts: Counter[str] = Counter()
    comparisons = record.get("comparisons", [])
    counts.update(_recall_counts(comparisons, thresholds, comparison_categories, False))
    counts.update(_precision_counts(comparisons, thresholds, comparison_categories, False))
    gold_temporal = record.get("temporal", [])
    counts.update(_recall_counts(gold_temporal, temporal, temporal_cat, True))
    counts.update(_precision_counts(gold_temporal, temporal, temporal_cat, True))
    counts.update(_negation_counts(record, pred))
    counts.update(_concept_counts(record, pred))
    return counts


def summarize(counts: Mapping[str, int]) -> dict[str, Any]:
    """Turn summed counts into the report: per category recalls/precision, and negation."""
    categories = {}
    for cat in CATEGORIES:
        c = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith(f"{cat}.")}
        get = c.get
        precision = ratio(get("pred_right_strict", 0), get("pred_evaluable", 0))
        recall = ratio(get("found_strict", 0), get("support_operator", 0))
        categories[cat] = {
            "support": get("support", 0),
            "support_operator": get("support_operator", 0),
            "excluded_operator_mismatch": get("excluded_operator_mismatch", 0),
            "excluded_compound_duration": get("excluded_compound_duration", 0),
            "skipped_no_value": get("skipped_no_value", 0),
            "recall_strict": recall,
            "recall_direction": ratio(get("found_direction", 0), get("support_operator", 0)),
            "recall_lenient": ratio(get("found_lenient", 0), get("support", 0)),
            "pred_evaluable": get("pred_evaluable", 0),
            "precision_strict": precision,
            "precision_lenient": ratio(get("pred_right_lenient", 0), get("pred_evaluable", 0)),
            "f1_strict": _harmonic(precision, recall),
            "found": {k: get(f"found_{k}", 0) for k in ("strict", "direction", "lenient")},
        }
    readings = {}
    for name in NEGATION_READINGS:
        precision = ratio(
            counts.get(f"{name}.pred_right", 0), counts.get(f"{name}.pred_evaluable", 0)
        )
        recall = ratio(counts.get(f"{name}.found", 0), counts.get(f"{name}.support", 0))
        readings[name] = {
            "support": counts.get(f"{name}.support", 0),
            "found": counts.get(f"{name}.found", 0),
            "pred_evaluable": counts.get(f"{name}.pred_evaluable", 0),
            "pred_right": counts.get(f"{name}.pred_right", 0),
            "precision": precision,
            "recall": recall,
            "f1": _harmonic(precision, recall),
        }
    negation = {
        **readings["negation"],
        "cue_target": readings["cue_target"],
        "cue_pair": readings["cue_pair"],
        "cue_recall": ratio(counts.get("cues.found", 0), counts.get("cues.gold", 0)),
        "scope_accuracy": ratio(counts.get("cues.target_right", 0), counts.get("cues.shared", 0)),
        "shared_cues": counts.get("cues.shared", 0),
    }
    concepts: dict[str, Any] = {
        kind: {
            "support": counts.get(f"concepts.{kind}.support", 0),
            "recall": ratio(
                counts.get(f"concepts.{kind}.found", 0), counts.get(f"concepts.{kind}.support", 0)
            ),
            "recall_labelled": ratio(
                counts.get(f"concepts.{kind}.labelled", 0),
                counts.get(f"concepts.{kind}.support", 0),
            ),
        }
        for kind in CONCEPT_TYPES
    }
    concepts["precision_labelled"] = ratio(
        counts.get("concepts.pred_right", 0), counts.get("concepts.pred", 0)
    )
    concepts["pred"] = counts.get("concepts.pred", 0)
    return {"comparisons": categories, "negation": negation, "concepts": concepts}


def _harmonic(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 2 * p * r / (p + r) if p + r else 0.0


# --- running --------------------------------------------------------------------------------


def _line(text: str, start: int) -> str:
    """The line of ``text`` around offset ``start``, stripped."""
    begin = text.rfind("\n", 0, start) + 1
    end = text.find("\n", start)
    return text[begin : len(text) if end < 0 else end].strip()


def _span(item: Item | None) -> Item | None:
    return None if item is None else {k: item.get(k) for k in ("text", "start", "end")}


def record_errors(record: Mapping[str, Any], pred: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What one record gets wrong, for reading rather than counting: gold comparisons not
    found strictly, gold negation pairs whose target no predicted pair names, and predicted
    pairs on an annotated concept that no gold pair names. Each carries its source line."""
    doc_id, text = record["doc_id"], record.get("text", "")
    out: list[dict[str, Any]] = []
    thresholds, temporal = _pred_thresholds(pred), _pred_temporal(pred)
    for kind, items, preds, is_temporal in (
        ("comparison_missed", record.get("comparisons", []), thresholds, False),
        ("temporal_missed", record.get("temporal", []), temporal, True),
    ):
        for item in items:
            if item.get("value") is None or (not is_temporal and is_compound_duration(item)):
                continue
            cands = candidates(item, preds, temporal=is_temporal)
            if judge(item, cands, temporal=is_temporal)["strict"]:
                continue
            span = item.get("span") or {}
            out.append(
                {
                    "doc_id": doc_id,
                    "kind": kind,
                    "gold": {
                        "text": span.get("text"),
                        "subject": (item.get("subject") or {}).get("text"),
                        "operator": item.get("operator"),
                        "value": item.get("value"),
                        "value2": item.get("value2"),
                        "unit": item.get("unit_text"),
                        "issues": list(item.get("issues", [])),
                    },
                    "predicted": [
                        {k: t.get(k) for k in ("analyte_text", "comparator", "value", "unit")}
                        for t in cands
                    ],
                    "line": _line(text, span.get("start") or 0),
                }
            )
    gold = [(n["cue"], n["target"]) for n in record.get("negations", []) if n.get("target")]
    pairs = _pred_cue_pairs(pred)
    for cue, target in gold:
        if any(overlap(t, target) for _, t in pairs):
            continue
        out.append(
            {
                "doc_id": doc_id,
                "kind": "negation_missed",
                "cue": _span(cue),
                "target": _span(target),
                "cue_found": any(overlap(c, cue) for c, _ in pairs),
                "predicted_at_cue": [_span(t) for c, t in pairs if overlap(c, cue)],
                "line": _line(text, cue["start"]),
            }
        )
    entities = record.get("entities", [])
    for cue, target in pairs:
        if not any(overlap(target, e) for e in entities):
            continue  # not an annotated concept: LCT says nothing about it
        if any(overlap(target, t) for _, t in gold):
            continue
        at_cue = [t for c, t in gold if overlap(c, cue)]
        out.append(
            {
                "doc_id": doc_id,
                "kind": "negation_extra",
                "cue": {**_span(cue), "rule": cue.get("rule")},  # type: ignore[dict-item]
                "target": _span(target),
                "cue_annotated": bool(at_cue),
                "gold_at_cue": [_span(t) for t in at_cue],
                "line": _line(text, cue["start"]),
            }
        )
    return out


def score_predictions(
    records: Sequence[Mapping[str, Any]], preds: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Score ready predictions (``doc_id -> Trial.to_dict()``); a missing one counts as empty."""
    total: Counter[str] = Counter()
    for record in records:
        total.update(score_record(record, preds.get(record["doc_id"], {"criteria": []})))
    return {"documents": len(records), **summarize(total)}


def score_lct(
    path: str | Path,
    *,
    parse: ParseFn | None = None,
    limit: int | None = None,
    progress: bool = False,
    mistakes: str | Path | None = None,
) -> dict[str, Any]:
    """Parse every record's text with ``parse`` (default ``pipeline.parse``) and score it.

    A record whose parse raises is scored as an empty prediction and listed under ``errors``,
    so one failure does not lose a long run (the count is in the report). With ``mistakes``,
    what each record gets wrong (``record_errors``) is written there, one JSON line each.
    """
    parse = parse or default_parse()
    records = list(read_records(path, limit))
    preds: dict[str, dict[str, Any]] = {}
    errors: list[dict[str, str]] = []
    for n, record in enumerate(records, start=1):
        doc_id = record["doc_id"]
        try:
            preds[doc_id] = as_trial_dict(parse(record["text"], trial_id=doc_id))
        except Exception as exc:  # noqa: BLE001 - reported, see docstring
            errors.append({"doc_id": doc_id, "error": f"{type(exc).__name__}: {exc}"})
        if progress and (n % 25 == 0 or n == len(records)):
            print(f"lct: {n}/{len(records)} documents", file=sys.stderr)
    if mistakes is not None:
        with open(mistakes, "w", encoding="utf-8") as out:
            for record in records:
                pred = preds.get(record["doc_id"], {"criteria": []})
                for mistake in record_errors(record, pred):
                    out.write(json.dumps(mistake, ensure_ascii=False) + "\n")
    return {"path": str(path), **score_predictions(records, preds), "errors": errors}


def format_lct_table(result: Mapping[str, Any]) -> str:
    """Fixed-width table: one row per category, then negation."""
    header = (
        f"{'category':<12} {'support':>7} {'R strict':>9} {'R dir':>7} {'R lenient':>10}"
        f" {'P strict':>9} {'P n':>5} {'F1 strict':>10} {'op excl':>8} {'dur excl':>8}"
    )
    lines = [header, "-" * len(header)]
    for cat, m in result["comparisons"].items():
        lines.append(
            f"{cat:<12} {m['support']:>7} {_fmt(m['recall_strict']):>9}"
            f" {_fmt(m['recall_direction']):>7} {_fmt(m['recall_lenient']):>10}"
            f" {_fmt(m['precision_strict']):>9} {m['pred_evaluable']:>5}"
            f" {_fmt(m['f1_strict']):>10} {m['excluded_operator_mismatch']:>8}"
            f" {m['excluded_compound_duration']:>8}"
        )
    neg = result["negation"]
    lines += ["", f"{'negation':<12} {'support':>7} {'P':>7} {'R':>7} {'F1':>7} {'P n':>5}"]
    for label, m in (
        ("entities", neg),
        ("cue targets", neg.get("cue_target")),
        ("cue+target", neg.get("cue_pair")),
    ):
        if m:
            lines.append(
                f"{label:<12} {m['support']:>7} {_fmt(m['precision']):>7}"
                f" {_fmt(m['recall']):>7} {_fmt(m['f1']):>7} {m['pred_evaluable']:>5}"
            )
    if neg.get("scope_accuracy") is not None:
        lines.append(
            f"cues found {_fmt(neg['cue_recall'])}; target right at shared cues"
            f" {_fmt(neg['scope_accuracy'])} (n={neg['shared_cues']})"
        )
    concepts = result.get("concepts")
    if concepts:
        lines += ["", f"{'concepts':<12} {'support':>7} {'R any':>7} {'R label':>8}"]
        for kind in CONCEPT_TYPES:
            m = concepts[kind]
            lines.append(
                f"{kind:<12} {m['support']:>7} {_fmt(m['recall']):>7}"
                f" {_fmt(m['recall_labelled']):>8}"
            )
        lines.append(
            f"labelled predictions on an annotation of their kind:"
            f" {_fmt(concepts['precision_labelled'])} (n={concepts['pred']})"
        )
    return "\n".join(lines)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluation.lct [--path P] [--limit N] [--json]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.lct", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--path", type=Path, default=None, help="LCT JSONL (default: lct_path())")
    parser.add_argument("--limit", type=int, default=None, help="score the first N documents")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--progress", action="store_true", help="report progress on stderr")
    parser.add_argument(
        "--mistakes",
        type=Path,
        default=None,
        help="write what each document gets wrong to this JSONL file (missed comparisons and"
        " windows, missed and extra negation pairs, each with its source line)",
    )
    args = parser.parse_args(argv)
    path = args.path or lct_path()
    if path is None or not Path(path).is_file():
        default = Path(__file__).resolve().parents[1].parent / "shared/lct/dev.jsonl"
        where = path or os.environ.get("LCT_PATH") or default
        print(f"LCT data not found: {where} (pass --path or set LCT_PATH)", file=sys.stderr)
        return 2
    try:
        parse = default_parse()
    except (ImportError, AttributeError) as exc:
        print(f"pipeline.parse is not available: {exc}", file=sys.stderr)
        return 2
    result = score_lct(
        path, parse=parse, limit=args.limit, progress=args.progress, mistakes=args.mistakes
    )
    command = " ".join(["python -m evaluation.lct", *map(shlex.quote, argv)])
    if args.json:
        print(json.dumps({"command": command, **result}, indent=2, ensure_ascii=False))
        return 0
    errors = len(result["errors"])
    print(f"LCT: {result['path']} ({result['documents']} documents, {errors} parse errors)")
    print(format_lct_table(result))
    print(f"\ncommand: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
