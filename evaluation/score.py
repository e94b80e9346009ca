"""Score predicted trials against the hand-written gold of ``corpus/gold``.

Both sides are ``Trial.to_dict()``-shaped dicts keyed by trial id (see ``evaluation.gold``).
Scoring counts per trial first (plain integer counters), then sums the counters for the
micro average, so a per-trial row and the overall row are computed by the same code.

Matching rules, and why:

* Statements are matched on text spans only. Exact ``(start, end)`` equality is the headline
  number; the lenient variant (overlap >= half of the longer span) separates "found the item
  with a slightly different boundary" from "missed the item". Structured criteria (``start``
  null or ``origin`` not ``"text"``) have no span and are left out on both sides.
* Section accuracy, tree and negation are measured over *aligned* statements (the lenient
  alignment, which contains every exact match), so a boundary slip does not also count as a
  wrong section or a wrong parent.
* Thresholds are matched across the whole trial, independently of statement alignment, so a
  threshold found inside a wrongly split statement still counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "align_statements",
    "as_trial_dict",
    "default_parse",
    "evaluate_corpus",
    "format_table",
    "predict_gold_sources",
    "score",
    "score_trial",
    "threshold_matches",
    "units_equal",
    "values_equal",
]

REL_TOL = 1e-3
SLOTS: tuple[str, ...] = ("analyte", "comparator", "value", "unit", "relative_to", "normalized")

Trial = Mapping[str, Any]
ParseFn = Callable[..., Any]


# --- public API -----------------------------------------------------------------------------


def score(gold: Mapping[str, Trial], pred: Mapping[str, Trial]) -> dict[str, Any]:
    """Micro-averaged metrics over the gold trials, plus one row per trial.

    A gold trial without a prediction is scored against an empty prediction (everything
    missed); predictions for trials not in the gold are ignored and listed under ``trials``.
    """
    total: Counter[str] = Counter()
    per_trial: dict[str, dict[str, Any]] = {}
    empty: dict[str, Any] = {"criteria": []}
    for trial_id in sorted(gold):
        counts = score_trial(gold[trial_id], pred.get(trial_id, empty))
        total.update(counts)
        per_trial[trial_id] = _metrics(counts)
    return {
        "micro": _metrics(total),
        "per_trial": per_trial,
        "trials": {
            "scored": sorted(gold),
            "missing_predictions": sorted(set(gold) - set(pred)),
            "extra_predictions": sorted(set(pred) - set(gold)),
        },
    }


def score_trial(gold: Trial, pred: Trial) -> Counter[str]:
    """Raw counts for one trial (keys like ``"stmt_exact.tp"``); sum these to micro-average."""
    g = _text_criteria(gold)
    p = _text_criteria(pred)
    counts: Counter[str] = Counter()
    counts.update(_prf_counts("stmt_exact", *_exact_counts(_spans(g), _spans(p))))
    alignment = align_statements(g, p)
    tp = len(alignment)
    counts.update(_prf_counts("stmt_lenient", tp, len(p) - tp, len(g) - tp))
    counts.update(
        _prf_counts("section_exact", *_exact_counts(_spans(g, "section"), _spans(p, "section")))
    )
    counts.update(_aligned_counts(g, p, alignment))
    counts.update(_threshold_counts(_thresholds(g), _thresholds(p)))
    return counts


def format_table(metrics: Mapping[str, Any], *, per_trial: bool = False) -> str:
    """A fixed-width text table of ``score()`` output (or of one ``micro``/per-trial block).

    With ``per_trial`` a second table gives the headline numbers of each trial.
    """
    block = metrics.get("micro", metrics)
    header = f"{'metric':<28} {'P':>6} {'R':>6} {'F1':>6} {'acc':>6} {'support':>8}"
    lines = [header, "-" * len(header)]
    lines += [_table_row(label, value) for label, value in _rows(block)]
    if per_trial and "per_trial" in metrics:
        lines += ["", _per_trial_table(metrics["per_trial"])]
    return "\n".join(lines)


def predict_gold_sources(
    gold: Mapping[str, Trial], corpus_dir: str | Path, *, parse: ParseFn | None = None
) -> dict[str, dict[str, Any]]:
    """Run ``parse`` on the source text of each gold trial (its ``source``, relative to
    ``corpus_dir``) and return ``trial_id -> Trial.to_dict()``.

    ``parse`` is injected so the scorer can be tested without the pipeline; by default it is
    ``pipeline.parse``, imported only when needed.
    """
    parse = parse or default_parse()
    out: dict[str, dict[str, Any]] = {}
    for trial_id, trial in gold.items():
        source = trial.get("source")
        if not source:
            raise ValueError(f"gold trial {trial_id!r} has no 'source' to parse")
        text = (Path(corpus_dir) / source).read_text(encoding="utf-8")
        out[trial_id] = as_trial_dict(parse(text, trial_id=trial_id))
    return out


def evaluate_corpus(
    gold_dir: str | Path = "corpus/gold", *, parse: ParseFn | None = None
) -> dict[str, Any]:
    """Load the gold, parse each seed with ``parse`` and score: the whole corpus evaluation."""
    from evaluation.gold import load_gold

    gold = load_gold(gold_dir)
    pred = predict_gold_sources(gold, Path(gold_dir).parent, parse=parse)
    return score(gold, pred)


def default_parse() -> ParseFn:
    """``pipeline.parse``, imported lazily: the pipeline may be absent while scorers are tested."""
    import pipeline

    return pipeline.parse  # type: ignore[attr-defined, no-any-return]


def as_trial_dict(result: Any) -> dict[str, Any]:
    """Accept what ``parse`` returns (a ``Trial`` or an already plain dict)."""
    if isinstance(result, dict):
        return result
    to_dict = getattr(result, "to_dict", None)
    if to_dict is None:
        raise TypeError(f"parse() returned {type(result).__name__}, not a Trial or dict")
    return to_dict()  # type: ignore[no-any-return]


# --- generic helpers ------------------------------------------------------------------------


def overlap(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> int:
    """Number of shared characters of two ``{start, end}`` spans (0 if either is missing)."""
    if not a or not b or a.get("start") is None or b.get("start") is None:
        return 0
    return max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def values_equal(a: Any, b: Any, rel_tol: float = REL_TOL) -> bool:
    """Numbers equal within ``rel_tol``; lists compared element-wise as sets (order and
    duplicates ignored), and a number equals a one-element list holding it."""
    if a is None or b is None:
        return a is None and b is None
    xs = sorted(set(a if isinstance(a, list) else [a]))
    ys = sorted(set(b if isinstance(b, list) else [b]))
    return len(xs) == len(ys) and all(
        math.isclose(x, y, rel_tol=rel_tol, abs_tol=1e-9) for x, y in zip(xs, ys, strict=True)
    )


def unit_text_key(unit: str | None) -> str:
    """Unit as written, compared case-insensitively without spaces (casefold maps µ to μ)."""
    return "".join((unit or "").casefold().split())


def normalized_equal(g: Mapping[str, Any] | None, p: Mapping[str, Any] | None) -> bool:
    """Both absent, or the same canonical value (within tolerance) in the same UCUM unit."""
    if not g or not p:
        return not g and not p
    same_unit = "".join(str(g.get("unit")).split()) == "".join(str(p.get("unit")).split())
    return same_unit and values_equal(g.get("value"), p.get("value"))


def units_equal(g: Mapping[str, Any], p: Mapping[str, Any]) -> bool:
    """Unit agreement of a gold and a predicted threshold.

    Where the gold gives a normalised value, that decides (so "50,000/µL" and "50 × 10^9/L"
    agree, and a wrong conversion is caught); otherwise the written units are compared. The
    reference (``relative_to``: ULN/LLN) must agree in both cases: "1 mg/dL above ULN" is not
    "1 mg/dL".
    """
    if (g.get("relative_to") or None) != (p.get("relative_to") or None):
        return False
    if g.get("normalized"):
        return normalized_equal(g.get("normalized"), p.get("normalized"))
    return unit_text_key(g.get("unit")) == unit_text_key(p.get("unit"))


def analyte_equal(g: Mapping[str, Any], p: Mapping[str, Any]) -> bool:
    """Same canonical analyte name (both present; case and outer spaces ignored)."""
    a, b = g.get("analyte"), p.get("analyte")
    return bool(a) and bool(b) and str(a).strip().casefold() == str(b).strip().casefold()


def threshold_matches(g: Mapping[str, Any], p: Mapping[str, Any]) -> bool:
    """A predicted threshold is right for a gold one: same analyte (canonical name or
    overlapping analyte words), comparator, value and unit."""
    same_analyte = analyte_equal(g, p) or overlap(g.get("analyte_span"), p.get("analyte_span"))
    return (
        bool(same_analyte)
        and g.get("comparator") == p.get("comparator")
        and values_equal(g.get("value"), p.get("value"))
        and units_equal(g, p)
    )


def greedy_pairs(
    scored: Iterable[tuple[tuple[float, ...], int, int]],
) -> list[tuple[int, int]]:
    """One-to-one pairing: take candidate pairs best score first, skipping used items."""
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, gi, pi in sorted(scored, key=lambda s: (tuple(-x for x in s[0]), s[1], s[2])):
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            pairs.append((gi, pi))
    return pairs


# --- statements -----------------------------------------------------------------------------


def _text_criteria(trial: Trial) -> list[Mapping[str, Any]]:
    """Criteria with a text span; structured ones (``minimumAge`` ...) have nothing to match."""
    return [
        c
        for c in trial.get("criteria", [])
        if c.get("start") is not None and c.get("origin", "text") == "text"
    ]


def _spans(criteria: list[Mapping[str, Any]], *extra: str) -> Counter[tuple[Any, ...]]:
    return Counter((c["start"], c["end"], *(c.get(k) for k in extra)) for c in criteria)


def _exact_counts(g: Counter[Any], p: Counter[Any]) -> tuple[int, int, int]:
    tp = sum((g & p).values())
    return tp, sum(p.values()) - tp, sum(g.values()) - tp


def align_statements(
    gold: list[Mapping[str, Any]], pred: list[Mapping[str, Any]]
) -> list[tuple[int, int]]:
    """Lenient one-to-one alignment: overlap >= 0.5 of the longer span, best overlap first
    (exact matches have ratio 1 and so are always kept)."""
    scored = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(pred):
            longer = max(g["end"] - g["start"], p["end"] - p["start"])
            shared = overlap(g, p)
            if longer > 0 and shared / longer >= 0.5:
                scored.append(((shared / longer,), gi, pi))
    return sorted(greedy_pairs(scored))


def _aligned_counts(
    gold: list[Mapping[str, Any]], pred: list[Mapping[str, Any]], alignment: list[tuple[int, int]]
) -> Counter[str]:
    """Section accuracy, tree and negation over aligned statements."""
    pred_to_gold = {pred[pi]["id"]: gold[gi]["id"] for gi, pi in alignment}
    counts: Counter[str] = Counter()
    for gi, pi in alignment:
        g, p = gold[gi], pred[pi]
        counts.update(_acc_counts("section_acc", g.get("section") == p.get("section")))
        g_parent, p_parent = g.get("parent_id"), p.get("parent_id")
        parent_ok = g_parent is None if p_parent is None else pred_to_gold.get(p_parent) == g_parent
        counts.update(_acc_counts("parent", parent_ok))
        logic_ok = (g.get("logic") or None) == (p.get("logic") or None)
        counts.update(_acc_counts("logic", logic_ok))
        if g.get("logic"):
            counts.update(_acc_counts("logic_parents", logic_ok))
        counts.update(_flag_counts("exception", bool(g.get("exception")), bool(p.get("exception"))))
        counts.update(_flag_counts("negation", bool(g.get("negated")), bool(p.get("negated"))))
    return counts


# --- thresholds -----------------------------------------------------------------------------


def _thresholds(criteria: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [t for c in criteria for t in c.get("thresholds", [])]


def _threshold_counts(gold: list[Mapping[str, Any]], pred: list[Mapping[str, Any]]) -> Counter[str]:
    """Full-match P/R/F1, then per-slot accuracy over pairs matched on analyte words alone."""
    full = [
        ((overlap(g.get("analyte_span"), p.get("analyte_span")), overlap(g, p)), gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(pred)
        if threshold_matches(g, p)
    ]
    tp = len(greedy_pairs(full))
    counts = _prf_counts("thresholds", tp, len(pred) - tp, len(gold) - tp)
    by_analyte = [
        ((shared, overlap(g, p)), gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(pred)
        if (shared := overlap(g.get("analyte_span"), p.get("analyte_span"))) > 0
    ]
    for gi, pi in greedy_pairs(by_analyte):
        for slot, ok in _slot_results(gold[gi], pred[pi]).items():
            counts.update(_acc_counts(f"slot_{slot}", ok))
    return counts


def _slot_results(g: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, bool]:
    return {
        "analyte": analyte_equal(g, p),
        "comparator": g.get("comparator") == p.get("comparator"),
        "value": values_equal(g.get("value"), p.get("value")),
        "unit": unit_text_key(g.get("unit")) == unit_text_key(p.get("unit")),
        "relative_to": (g.get("relative_to") or None) == (p.get("relative_to") or None),
        "normalized": normalized_equal(g.get("normalized"), p.get("normalized")),
    }


# --- counts -> metrics ----------------------------------------------------------------------


def _prf_counts(name: str, tp: int, fp: int, fn: int) -> Counter[str]:
    return Counter({f"{name}.tp": tp, f"{name}.fp": fp, f"{name}.fn": fn})


def _flag_counts(name: str, gold: bool, pred: bool) -> Counter[str]:
    return _prf_counts(name, int(gold and pred), int(pred and not gold), int(gold and not pred))


def _acc_counts(name: str, ok: bool) -> Counter[str]:
    return Counter({f"{name}.correct": int(ok), f"{name}.total": 1})


def ratio(num: int, den: int) -> float | None:
    """``num / den``, or None when undefined (nothing to measure is not a score of 0 or 1)."""
    return num / den if den else None


def prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Precision, recall and F1 with their counts; ``support`` is the gold count."""
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "support": tp + fn,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }


def _prf(counts: Counter[str], name: str) -> dict[str, Any]:
    return prf(counts[f"{name}.tp"], counts[f"{name}.fp"], counts[f"{name}.fn"])


def _acc(counts: Counter[str], name: str) -> dict[str, Any]:
    correct, total = counts[f"{name}.correct"], counts[f"{name}.total"]
    return {"correct": correct, "total": total, "accuracy": ratio(correct, total)}


def _metrics(c: Counter[str]) -> dict[str, Any]:
    return {
        "statements": {"exact": _prf(c, "stmt_exact"), "lenient": _prf(c, "stmt_lenient")},
        "section": {"exact": _prf(c, "section_exact"), "aligned": _acc(c, "section_acc")},
        "tree": {
            "parent": _acc(c, "parent"),
            "logic": _acc(c, "logic"),
            "logic_parents": _acc(c, "logic_parents"),
            "exception": _prf(c, "exception"),
        },
        "negation": _prf(c, "negation"),
        "thresholds": {
            "match": _prf(c, "thresholds"),
            "slots": {slot: _acc(c, f"slot_{slot}") for slot in SLOTS},
        },
    }


# --- table ----------------------------------------------------------------------------------


def _rows(m: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    rows = [
        ("statements exact", m["statements"]["exact"]),
        ("statements lenient (>=50%)", m["statements"]["lenient"]),
        ("section exact (span+section)", m["section"]["exact"]),
        ("section accuracy (aligned)", m["section"]["aligned"]),
        ("tree parent", m["tree"]["parent"]),
        ("tree logic", m["tree"]["logic"]),
        ("tree logic (gold parents)", m["tree"]["logic_parents"]),
        ("tree exception", m["tree"]["exception"]),
        ("negation (aligned)", m["negation"]),
        ("thresholds", m["thresholds"]["match"]),
    ]
    rows += [(f"  slot {slot}", acc) for slot, acc in m["thresholds"]["slots"].items()]
    return rows


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _table_row(label: str, v: Mapping[str, Any]) -> str:
    if "accuracy" in v:
        cells = ["", "", "", _fmt(v["accuracy"])]
        support = v["total"]
    else:
        cells = [_fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), ""]
        support = v["support"]
    return f"{label:<28} " + " ".join(f"{x:>6}" for x in cells) + f" {support:>8}"


def _per_trial_table(per_trial: Mapping[str, Mapping[str, Any]]) -> str:
    header = (
        f"{'trial':<24} {'stmt F1':>8} {'stmt n':>7} {'sect acc':>9} {'parent':>7}"
        f" {'neg F1':>7} {'thr F1':>7} {'thr n':>6}"
    )
    lines = [header, "-" * len(header)]
    for trial_id, m in per_trial.items():
        stmt, thr = m["statements"]["exact"], m["thresholds"]["match"]
        lines.append(
            f"{trial_id:<24} {_fmt(stmt['f1']):>8} {stmt['support']:>7}"
            f" {_fmt(m['section']['aligned']['accuracy']):>9}"
            f" {_fmt(m['tree']['parent']['accuracy']):>7} {_fmt(m['negation']['f1']):>7}"
            f" {_fmt(thr['f1']):>7} {thr['support']:>6}"
        )
    return "\n".join(lines)
