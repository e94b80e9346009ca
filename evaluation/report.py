"""An HTML report annotators can work from: ``eligibility report --gold DIR --pred FILE -o X``.

One self-contained file (inline CSS, JS and SVG; no external URL, so it opens offline and can
be mailed): the micro metrics of ``evaluation.score.score`` with bar charts, every error
grouped by kind, and a section per trial with the criteria text highlighted (gold and
predicted thresholds, negated entities, sections, logic) and filters by error kind and trial.

Errors are classified here, with the scorer's own matching rules, so the report explains the
numbers instead of disagreeing with them: statements are aligned with
``score.align_statements``; thresholds that fully match (``score.threshold_matches``) are
right; the rest are paired on overlapping analyte words and each differing slot (comparator,
value, unit) is one error; what stays unpaired is missed (gold) or spurious (predicted).

Every piece of input text goes through ``html.escape`` (criteria text is untrusted: a
registry page can hold ``<script>``), and the page's only script is the static filter code.
"""

from __future__ import annotations

import argparse
import html
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.score import (
    align_statements,
    greedy_pairs,
    overlap,
    score,
    threshold_matches,
    units_equal,
    values_equal,
)

__all__ = ["KINDS", "ReportError", "build_report", "collect_errors", "register_report"]

KINDS: dict[str, str] = {
    "missed": "missed",
    "spurious": "spurious",
    "wrong-value": "wrong value",
    "wrong-unit": "wrong unit",
    "wrong-comparator": "wrong comparator",
    "wrong-section": "wrong section",
    "wrong-negation": "wrong negation",
    "wrong-logic": "wrong logic",
    "wrong-parent": "wrong parent",
}

Trial = Mapping[str, Any]


@dataclass(slots=True)
class ReportError:
    """One disagreement between gold and prediction, located in the source text."""

    trial_id: str
    kind: str
    level: str  # "statement" or "threshold"
    start: int | None
    end: int | None
    gold: str = ""
    pred: str = ""
    criterion: str = ""  # gold criterion id (or predicted, for a spurious one)


@dataclass(slots=True)
class Row:
    """A line of a trial's criteria table: an aligned gold/predicted pair or a lone one."""

    gold: Mapping[str, Any] | None
    pred: Mapping[str, Any] | None
    kinds: set[str] = field(default_factory=set)

    @property
    def start(self) -> int:
        return min(c["start"] for c in (self.gold, self.pred) if c is not None)

    @property
    def end(self) -> int:
        return max(c["end"] for c in (self.gold, self.pred) if c is not None)


# --- classification ---------------------------------------------------------------------------


def text_criteria(trial: Trial) -> list[Mapping[str, Any]]:
    """Criteria with a text span (as the scorer: structured fields have nothing to show)."""
    return [
        c
        for c in trial.get("criteria", [])
        if c.get("start") is not None and c.get("origin", "text") == "text"
    ]


def describe_threshold(t: Mapping[str, Any]) -> str:
    value = t.get("value")
    shown = ", ".join(map(_num, value)) if isinstance(value, list) else _num(value)
    unit = f" {t['unit']}" if t.get("unit") else ""
    ref = f" × {t['relative_to']}" if t.get("relative_to") and not t.get("unit") else ""
    ref = ref or (f" {t['relative_mode']} {t['relative_to']}" if t.get("relative_to") else "")
    name = t.get("analyte_text") or t.get("analyte") or "?"
    return f"{name} {t.get('comparator')} {shown}{unit}{ref}"


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def collect_errors(trial_id: str, gold: Trial, pred: Trial) -> tuple[list[ReportError], list[Row]]:
    """All errors of one trial and the criteria rows they belong to (text order)."""
    g, p = text_criteria(gold), text_criteria(pred)
    rows, errors = _statement_rows(trial_id, g, p)
    errors += _threshold_errors(trial_id, g, p)
    for err in errors:
        for row in rows:
            if err.start is not None and (
                row.start <= err.start < row.end or row.start == err.start
            ):
                row.kinds.add(err.kind)
                break
    return errors, rows


def _statement_rows(
    trial_id: str, g: list[Mapping[str, Any]], p: list[Mapping[str, Any]]
) -> tuple[list[Row], list[ReportError]]:
    alignment = align_statements(g, p)
    rows = [Row(g[gi], p[pi]) for gi, pi in alignment]
    aligned_g = {gi for gi, _ in alignment}
    aligned_p = {pi for _, pi in alignment}
    rows += [Row(c, None) for i, c in enumerate(g) if i not in aligned_g]
    rows += [Row(None, c) for i, c in enumerate(p) if i not in aligned_p]
    rows.sort(key=lambda r: (r.start, r.end))
    pred_to_gold = {p[pi].get("id"): g[gi].get("id") for gi, pi in alignment}
    errors: list[ReportError] = []
    for row in rows:
        errors += _row_errors(trial_id, row, pred_to_gold)
    return rows, errors


def _row_errors(trial_id: str, row: Row, pred_to_gold: Mapping[Any, Any]) -> list[ReportError]:
    g, p = row.gold, row.pred
    if g is None or p is None:
        c = g or p
        assert c is not None
        kind = "missed" if g is not None else "spurious"
        text = _clip(c.get("text", ""))
        return [
            ReportError(
                trial_id,
                kind,
                "statement",
                c["start"],
                c["end"],
                gold=text if g else "",
                pred=text if p else "",
                criterion=c.get("id", ""),
            )
        ]
    checks = (
        ("wrong-section", g.get("section"), p.get("section")),
        ("wrong-negation", bool(g.get("negated")), bool(p.get("negated"))),
        ("wrong-logic", g.get("logic") or None, p.get("logic") or None),
        ("wrong-parent", g.get("parent_id"), _parent_in_gold(p, pred_to_gold)),
    )
    return [
        ReportError(
            trial_id,
            kind,
            "statement",
            g["start"],
            g["end"],
            gold=_shown(gv),
            pred=_shown(pv),
            criterion=g.get("id", ""),
        )
        for kind, gv, pv in checks
        if gv != pv
    ]


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)


def _parent_in_gold(pred: Mapping[str, Any], pred_to_gold: Mapping[Any, Any]) -> Any:
    """The predicted parent as a gold id (as the scorer compares them); an unaligned parent
    keeps its predicted id, marked, so it never equals a gold id by accident."""
    parent = pred.get("parent_id")
    if parent is None:
        return None
    return pred_to_gold.get(parent, f"{parent} (predicted, unaligned)")


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _thresholds(criteria: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    return [(c.get("id", ""), t) for c in criteria for t in c.get("thresholds", [])]


def _threshold_errors(
    trial_id: str, g: list[Mapping[str, Any]], p: list[Mapping[str, Any]]
) -> list[ReportError]:
    gold, pred = _thresholds(g), _thresholds(p)
    full = [
        ((overlap(gt.get("analyte_span"), pt.get("analyte_span")), overlap(gt, pt)), gi, pi)
        for gi, (_, gt) in enumerate(gold)
        for pi, (_, pt) in enumerate(pred)
        if threshold_matches(gt, pt)
    ]
    matched = greedy_pairs(full)
    left_g = [i for i in range(len(gold)) if i not in {gi for gi, _ in matched}]
    left_p = [i for i in range(len(pred)) if i not in {pi for _, pi in matched}]
    by_analyte = [
        ((shared, overlap(gold[gi][1], pred[pi][1])), gi, pi)
        for gi in left_g
        for pi in left_p
        if (shared := overlap(gold[gi][1].get("analyte_span"), pred[pi][1].get("analyte_span")))
    ]
    paired = greedy_pairs(by_analyte)
    errors = [e for gi, pi in paired for e in _slot_errors(trial_id, gold[gi], pred[pi])]
    paired_g, paired_p = {gi for gi, _ in paired}, {pi for _, pi in paired}
    for gi in (i for i in left_g if i not in paired_g):
        cid, t = gold[gi]
        errors.append(_thr_error(trial_id, "missed", t, cid, gold=describe_threshold(t)))
    for pi in (i for i in left_p if i not in paired_p):
        cid, t = pred[pi]
        errors.append(_thr_error(trial_id, "spurious", t, cid, pred=describe_threshold(t)))
    return errors


def _slot_errors(
    trial_id: str, gold: tuple[str, Mapping[str, Any]], pred: tuple[str, Mapping[str, Any]]
) -> list[ReportError]:
    (cid, g), (_, p) = gold, pred
    kinds = []
    if g.get("comparator") != p.get("comparator"):
        kinds.append("wrong-comparator")
    if not values_equal(g.get("value"), p.get("value")):
        kinds.append("wrong-value")
    if not units_equal(g, p):
        kinds.append("wrong-unit")
    gd, pd = describe_threshold(g), describe_threshold(p)
    if not kinds:  # same slots, different analyte name: report as a miss and a false alarm
        return [
            _thr_error(trial_id, "missed", g, cid, gold=gd),
            _thr_error(trial_id, "spurious", p, cid, pred=pd),
        ]
    return [_thr_error(trial_id, kind, g, cid, gold=gd, pred=pd) for kind in kinds]


def _thr_error(
    trial_id: str, kind: str, t: Mapping[str, Any], cid: str, *, gold: str = "", pred: str = ""
) -> ReportError:
    return ReportError(trial_id, kind, "threshold", t.get("start"), t.get("end"), gold, pred, cid)


# --- HTML pieces ------------------------------------------------------------------------------


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def highlight(source: str, start: int, end: int, marks: Sequence[tuple[int, int, str, str]]) -> str:
    """``source[start:end]`` escaped, with ``<mark>`` around each stretch covered by marks
    ``(start, end, css class, title)``; overlapping marks combine their classes."""
    cuts = {start, end}
    for s, e, _, _ in marks:
        cuts.update(x for x in (s, e) if start < x < end)
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:], strict=False):
        active = [m for m in marks if m[0] <= a and b <= m[1]]
        piece = esc(source[a:b])
        if not active:
            out.append(piece)
            continue
        classes = " ".join(sorted({m[2] for m in active}))
        title = " | ".join(dict.fromkeys(m[3] for m in active))
        out.append(f'<mark class="{esc(classes)}" title="{esc(title)}">{piece}</mark>')
    return "".join(out)


def bar_chart(title: str, items: Sequence[tuple[str, float | None]], *, scale: float) -> str:
    """A horizontal inline-SVG bar chart (no library: the report must stay one file)."""
    width, label_w, bar_h, gap = 560, 210, 18, 6
    height = 28 + len(items) * (bar_h + gap)
    parts = [
        f'<svg class="chart" role="img" aria-label="{esc(title)}" width="{width}"'
        f' height="{height}" viewBox="0 0 {width} {height}">',
        f'<text x="0" y="16" class="chart-title">{esc(title)}</text>',
    ]
    for i, (label, value) in enumerate(items):
        y = 28 + i * (bar_h + gap)
        length = 0 if value is None or scale <= 0 else (width - label_w - 60) * value / scale
        shown = "–" if value is None else (f"{value:.3f}" if scale == 1 else f"{value:g}")
        parts += [
            f'<text x="0" y="{y + 13}" class="chart-label">{esc(label)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" class="bar"/>',
            f'<text x="{label_w + length + 4:.1f}" y="{y + 13}" class="chart-value">'
            f"{esc(shown)}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def _metric_rows(micro: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    rows = [
        ("statements exact", micro["statements"]["exact"]),
        ("statements lenient", micro["statements"]["lenient"]),
        ("section exact (span+section)", micro["section"]["exact"]),
        ("section accuracy (aligned)", micro["section"]["aligned"]),
        ("tree parent", micro["tree"]["parent"]),
        ("tree logic", micro["tree"]["logic"]),
        ("tree exception", micro["tree"]["exception"]),
        ("negation", micro["negation"]),
        ("thresholds", micro["thresholds"]["match"]),
    ]
    rows += [(f"slot {k}", v) for k, v in micro["thresholds"]["slots"].items()]
    return rows


def _headline(v: Mapping[str, Any]) -> float | None:
    return v["accuracy"] if "accuracy" in v else v["f1"]


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def summary_table(micro: Mapping[str, Any]) -> str:
    head = "<tr><th>metric</th><th>P</th><th>R</th><th>F1</th><th>acc</th><th>support</th></tr>"
    body = []
    for label, v in _metric_rows(micro):
        if "accuracy" in v:
            cells = ["", "", "", _fmt(v["accuracy"]), v["total"]]
        else:
            cells = [_fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), "", v["support"]]
        body.append(
            f"<tr><td>{esc(label)}</td>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>"
        )
    return f'<table id="summary-table" class="metrics">{head}{"".join(body)}</table>'


def filters_html(trial_ids: Sequence[str], counts: Counter[str]) -> str:
    boxes = "".join(
        f'<label class="kind-label"><input type="checkbox" class="kind-filter" value="{k}"'
        f' checked> <span class="badge {k}">{esc(label)}</span> ({counts[k]})</label>'
        for k, label in KINDS.items()
    )
    options = "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in trial_ids)
    return (
        '<div id="filters" class="filters"><strong>Error kinds:</strong> '
        f"{boxes}"
        '<label>Trial: <select id="trial-filter"><option value="">all trials</option>'
        f"{options}</select></label>"
        '<label><input type="checkbox" id="only-errors"> only criteria with errors</label>'
        "</div>"
    )


def error_groups(errors: Sequence[ReportError], anchors: Mapping[str, str]) -> str:
    groups = []
    for kind, label in KINDS.items():
        rows = [e for e in errors if e.kind == kind]
        body = "".join(
            f'<tr class="err" data-kind="{kind}" data-trial="{esc(e.trial_id)}">'
            f'<td><a href="#{anchors[e.trial_id]}">{esc(e.trial_id)}</a></td>'
            f"<td>{esc(e.level)}</td><td>{esc(e.criterion)}</td>"
            f"<td>{esc(e.start)}–{esc(e.end)}</td>"
            f'<td class="gold">{esc(e.gold)}</td><td class="pred">{esc(e.pred)}</td></tr>'
            for e in rows
        )
        empty = "" if rows else '<p class="none">none</p>'
        groups.append(
            f'<section class="kind-group" data-kind="{kind}">'
            f'<h3><span class="badge {kind}">{esc(label)}</span> <span class="n">{len(rows)}</span>'
            f"</h3>{empty}"
            '<table class="errors"><tr><th>trial</th><th>level</th><th>criterion</th>'
            f"<th>offsets</th><th>gold</th><th>predicted</th></tr>{body}</table></section>"
        )
    return "".join(groups)


def _marks(row: Row) -> list[tuple[int, int, str, str]]:
    marks: list[tuple[int, int, str, str]] = []
    for cls, c in (("g", row.gold), ("p", row.pred)):
        if c is None:
            continue
        who = "gold" if cls == "g" else "predicted"
        for t in c.get("thresholds", []):
            if t.get("start") is not None:
                marks.append(
                    (t["start"], t["end"], f"{cls}-thr", f"{who}: {describe_threshold(t)}")
                )
        for e in c.get("entities", []):
            if e.get("negated") and e.get("start") is not None:
                marks.append(
                    (e["start"], e["end"], f"{cls}-neg", f"{who} negated: {e.get('text')}")
                )
    return marks


def _flags(c: Mapping[str, Any] | None) -> str:
    if c is None:
        return '<span class="absent">—</span>'
    bits = [f'<span class="sec {esc(c.get("section"))}">{esc(c.get("section"))}</span>']
    if c.get("logic"):
        bits.append(f'<span class="logic">logic: {esc(c["logic"])}</span>')
    if c.get("negated"):
        bits.append('<span class="negflag">negated</span>')
    if c.get("parent_id"):
        bits.append(f'<span class="parent">↳ {esc(c["parent_id"])}</span>')
    if c.get("exception"):
        bits.append('<span class="exc">exception</span>')
    return f"{esc(c.get('id'))} " + " ".join(bits)


def trial_section(
    trial_id: str,
    anchor: str,
    rows: Sequence[Row],
    source: str | None,
    metrics: Mapping[str, Any],
) -> str:
    body = []
    for row in rows:
        kinds = " ".join(sorted(row.kinds))
        badges = " ".join(
            f'<span class="badge {k}">{esc(KINDS[k])}</span>' for k in sorted(row.kinds)
        )
        body.append(
            f'<tr class="crit" data-trial="{esc(trial_id)}" data-kinds="{kinds}">'
            f"<td>{_flags(row.gold)}</td><td>{_flags(row.pred)}</td>"
            f'<td class="text">{_row_text(row, source)}</td><td>{badges}</td></tr>'
        )
    stmt, thr = metrics["statements"]["exact"], metrics["thresholds"]["match"]
    stats = (
        f"statements F1 {_fmt(stmt['f1'])} (gold {stmt['support']}) · section acc "
        f"{_fmt(metrics['section']['aligned']['accuracy'])} · negation F1 "
        f"{_fmt(metrics['negation']['f1'])} · thresholds F1 {_fmt(thr['f1'])} "
        f"(gold {thr['support']})"
    )
    return (
        f'<section class="trial" id="{anchor}" data-trial="{esc(trial_id)}">'
        f"<h2>{esc(trial_id)}</h2><p class='stats'>{esc(stats)}</p>"
        '<table class="criteria"><tr><th>gold</th><th>predicted</th><th>text</th>'
        f"<th>errors</th></tr>{''.join(body)}</table></section>"
    )


def _row_text(row: Row, source: str | None) -> str:
    if source is not None and row.end <= len(source):
        return highlight(source, row.start, row.end, _marks(row))
    c = row.gold or row.pred
    return esc(c.get("text", "") if c else "")


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 2rem 4rem;color:#222}
h1{margin-top:1rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
th{background:#f4f4f4}.metrics td:nth-child(n+2){text-align:right;font-variant-numeric:tabular-nums}
.filters{position:sticky;top:0;background:#fff;padding:.5rem 0;z-index:2;
 border-bottom:1px solid #ccc}
.filters label{margin-right:.8rem;white-space:nowrap}
.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:12px;color:#fff;
 background:#777}
.badge.missed{background:#c0392b}.badge.spurious{background:#8e44ad}
.badge.wrong-value{background:#d35400}.badge.wrong-unit{background:#b7950b}
.badge.wrong-comparator{background:#2874a6}.badge.wrong-section{background:#117a65}
.badge.wrong-negation{background:#6e2c00}.badge.wrong-logic{background:#1c2833}
.badge.wrong-parent{background:#5b2c6f}
td.text{white-space:pre-wrap;max-width:60em}
mark{background:none;padding:0}
mark.g-thr{border-bottom:3px solid #1e8449}mark.p-thr{background:#fcf3cf}
mark.g-thr.p-thr{background:#d5f5e3}mark.p-neg,mark.g-neg{text-decoration:underline wavy #c0392b}
.sec{font-weight:600}.sec.inclusion{color:#1e8449}.sec.exclusion{color:#c0392b}
.logic,.negflag,.parent,.exc{font-size:12px;color:#555;margin-left:3px}
.chart .bar{fill:#5d8aa8}.chart text{font-size:12px}.chart-title{font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.legend mark{margin-right:1rem}
td.gold{color:#1e8449}td.pred{color:#7d3c98}
"""

SCRIPT = """
(function () {
  function apply() {
    var kinds = {};
    document.querySelectorAll('.kind-filter').forEach(function (c) { kinds[c.value] = c.checked; });
    var trial = document.getElementById('trial-filter').value;
    var only = document.getElementById('only-errors').checked;
    document.querySelectorAll('tr.err').forEach(function (r) {
      r.hidden = !(kinds[r.dataset.kind] && (trial === '' || r.dataset.trial === trial));
    });
    document.querySelectorAll('section.kind-group').forEach(function (g) {
      var shown = g.querySelectorAll('tr.err:not([hidden])').length;
      g.querySelector('.n').textContent = shown;
      g.querySelector('table').hidden = shown === 0;
      g.hidden = !kinds[g.dataset.kind];
    });
    document.querySelectorAll('section.trial').forEach(function (s) {
      s.hidden = trial !== '' && s.dataset.trial !== trial;
    });
    document.querySelectorAll('tr.crit').forEach(function (r) {
      var ks = r.dataset.kinds ? r.dataset.kinds.split(' ') : [];
      var shown = ks.some(function (k) { return kinds[k]; });
      r.hidden = only ? !shown : (ks.length > 0 && !shown);
    });
  }
  document.querySelectorAll('#filters input, #filters select').forEach(function (el) {
    el.addEventListener('change', apply);
  });
  apply();
})();
"""


# --- the page ---------------------------------------------------------------------------------


def build_report(
    gold: Mapping[str, Trial],
    pred: Mapping[str, Trial],
    sources: Mapping[str, str | None],
    *,
    title: str = "Eligibility pipeline: evaluation report",
) -> str:
    """The whole HTML page. ``sources`` maps trial id to its source text (None: unknown,
    then each criterion's own ``text`` is shown, without highlights)."""
    metrics = score(gold, pred)
    trial_ids = sorted(gold)
    anchors = {t: f"trial-{i}" for i, t in enumerate(trial_ids, start=1)}
    empty: Trial = {"criteria": []}
    errors: list[ReportError] = []
    sections = []
    for trial_id in trial_ids:
        errs, rows = collect_errors(trial_id, gold[trial_id], pred.get(trial_id, empty))
        errors += errs
        sections.append(
            trial_section(
                trial_id,
                anchors[trial_id],
                rows,
                sources.get(trial_id),
                metrics["per_trial"][trial_id],
            )
        )
    counts = Counter(e.kind for e in errors)
    return _page(title, metrics, errors, counts, trial_ids, anchors, sections)


def _page(
    title: str,
    metrics: Mapping[str, Any],
    errors: Sequence[ReportError],
    counts: Counter[str],
    trial_ids: Sequence[str],
    anchors: Mapping[str, str],
    sections: Sequence[str],
) -> str:
    micro = metrics["micro"]
    scores = [(label, _headline(v)) for label, v in _metric_rows(micro)[:9]]
    slots = [(f"slot {k}", v["accuracy"]) for k, v in micro["thresholds"]["slots"].items()]
    kinds = [(label, float(counts[k])) for k, label in KINDS.items()]
    missing = metrics["trials"]["missing_predictions"]
    toc = "".join(f'<li><a href="#{anchors[t]}">{esc(t)}</a></li>' for t in trial_ids)
    legend = (
        '<p class="legend"><mark class="g-thr">gold threshold</mark>'
        '<mark class="p-thr">predicted threshold</mark><mark class="g-thr p-thr">both</mark>'
        '<mark class="p-neg">negated entity</mark></p>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f"<p>{len(trial_ids)} gold trials; {len(errors)} errors; predictions missing for "
        f"{len(missing)}: {esc(', '.join(missing) or 'none')}.</p>"
        f'<section id="summary"><h2>Summary (micro average)</h2>{summary_table(micro)}'
        '<div class="charts">'
        f"{bar_chart('F1 / accuracy', scores, scale=1)}"
        f"{bar_chart('Threshold slot accuracy', slots, scale=1)}"
        f"{bar_chart('Errors by kind', kinds, scale=max([1.0, *(v for _, v in kinds)]))}"
        "</div></section>"
        f"{filters_html(trial_ids, counts)}"
        f'<section id="errors"><h2>Errors by kind</h2>{error_groups(errors, anchors)}</section>'
        f'<section id="trials"><h2>Trials</h2><ul class="toc">{toc}</ul>{legend}'
        f"{''.join(sections)}</section>"
        f"<script>{SCRIPT}</script></body></html>"
    )


def load_sources(
    gold: Mapping[str, Trial], corpus_dir: Path, pred: Mapping[str, Trial]
) -> dict[str, str | None]:
    """Each gold trial's source text: ``corpus_dir / gold["source"]``, else the prediction's
    ``source_text`` (present only when written with ``include_text``), else None."""
    out: dict[str, str | None] = {}
    for trial_id, trial in gold.items():
        path = corpus_dir / str(trial.get("source", "")) if trial.get("source") else None
        if path is not None and path.is_file():
            out[trial_id] = path.read_text(encoding="utf-8")
        else:
            out[trial_id] = pred.get(trial_id, {}).get("source_text") or None
    return out


def write_report(
    gold_dir: str | Path,
    pred_path: str | Path,
    out: str | Path,
    *,
    corpus_dir: str | Path | None = None,
) -> Path:
    """Load gold and predictions, build the page and write it; returns the output path."""
    from evaluation.gold import load_gold, load_predictions

    gold = load_gold(gold_dir)
    pred = load_predictions(pred_path)
    root = Path(corpus_dir) if corpus_dir else _default_corpus(Path(gold_dir))
    html_text = build_report(gold, pred, load_sources(gold, root, pred))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_text, encoding="utf-8")
    return out


def _default_corpus(gold_dir: Path) -> Path:
    """Gold ``source`` paths are relative to the corpus folder, the gold folder's parent."""
    return gold_dir.parent if gold_dir.is_dir() else gold_dir.parent.parent


# --- CLI --------------------------------------------------------------------------------------


def register_report(sub: Any) -> None:
    p = sub.add_parser("report", help="write an HTML report of gold vs predictions")
    p.add_argument("--gold", required=True, help="gold folder or file (corpus/gold)")
    p.add_argument("--pred", required=True, help="predictions JSONL (from `eligibility batch`)")
    p.add_argument("-o", "--output", required=True, help="output HTML file")
    p.add_argument("--corpus", help="folder the gold 'source' paths are relative to")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from evaluation.gold import load_gold

    try:
        if not load_gold(args.gold):
            print(f"error: no gold files in {args.gold}", file=sys.stderr)
            return 2
        out = write_report(args.gold, args.pred, args.output, corpus_dir=args.corpus)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {out}", file=sys.stderr)
    return 0
