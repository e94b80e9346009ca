"""The annotators' HTML report: error classification, escaping, self-containment, and the page
as rendered by headless Chromium (skipped when /usr/bin/chromium is absent)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evaluation.report import KINDS, collect_errors, highlight, write_report
from pipeline.cli import main as cli_main

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EVIL = "<script>alert(1)</script>"
SOURCE = f"""Inclusion Criteria:
* ANC >= 1500/uL
* Platelets >= 100000/uL
* Hemoglobin >= 9 g/dL
* Creatinine <= 1.5 mg/dL
* Pregnant or breastfeeding
Exclusion Criteria:
* No prior {EVIL} therapy
* Any of the following:
* heart failure
"""


def span(sub: str) -> tuple[int, int]:
    start = SOURCE.index(sub)
    return start, start + len(sub)


def crit(cid: str, sub: str, section: str, **extra: Any) -> dict[str, Any]:
    start, end = span(sub)
    base = {"parent_id": None, "logic": None, "exception": False, "negated": False}
    return {"id": cid, "section": section, "text": sub, "start": start, "end": end,
            "thresholds": [], **base, **extra}  # fmt: skip


def thr(analyte_sub: str, whole_sub: str, comparator: str, value: Any, unit: str | None) -> dict:
    a0, a1 = span(analyte_sub)
    s0, s1 = span(whole_sub)
    return {"analyte": analyte_sub.lower(), "analyte_text": analyte_sub,
            "analyte_span": {"start": a0, "end": a1}, "comparator": comparator, "value": value,
            "unit": unit, "relative_to": None, "normalized": None,
            "start": s0, "end": s1}  # fmt: skip


def gold_trial() -> dict[str, Any]:
    return {
        "trial_id": "T1",
        "source": "seeds/T1.txt",
        "criteria": [
            crit("c1", "ANC >= 1500/uL", "inclusion",
                 thresholds=[thr("ANC", "ANC >= 1500/uL", ">=", 1500, "/uL")]),
            crit("c2", "Platelets >= 100000/uL", "inclusion",
                 thresholds=[thr("Platelets", "Platelets >= 100000/uL", ">=", 100000, "/uL")]),
            crit("c3", "Hemoglobin >= 9 g/dL", "inclusion",
                 thresholds=[thr("Hemoglobin", "Hemoglobin >= 9 g/dL", ">=", 9, "g/dL")]),
            crit("c4", "Creatinine <= 1.5 mg/dL", "inclusion",
                 thresholds=[thr("Creatinine", "Creatinine <= 1.5 mg/dL", "<=", 1.5, "mg/dL")]),
            crit("c5", "Pregnant or breastfeeding", "inclusion"),
            crit("c6", f"No prior {EVIL} therapy", "exclusion", negated=True),
            crit("c7", "Any of the following:", "exclusion", logic="or"),
            crit("c8", "heart failure", "exclusion", parent_id="c7"),
        ],
    }  # fmt: skip


def pred_trial() -> dict[str, Any]:
    therapy = span("therapy")
    return {
        "trial_id": "T1",
        "criteria": [
            crit("c1", "ANC >= 1500/uL", "inclusion",  # wrong comparator
                 thresholds=[thr("ANC", "ANC >= 1500/uL", ">", 1500, "/uL")]),
            crit("c2", "Platelets >= 100000/uL", "inclusion",  # wrong value
                 thresholds=[thr("Platelets", "Platelets >= 100000/uL", ">=", 10000, "/uL")]),
            crit("c3", "Hemoglobin >= 9 g/dL", "inclusion",  # wrong unit
                 thresholds=[thr("Hemoglobin", "Hemoglobin >= 9 g/dL", ">=", 9, "g/L")]),
            crit("c4", "Creatinine <= 1.5 mg/dL", "inclusion"),  # missed threshold
            crit("c5", "Pregnant or breastfeeding", "inclusion", parent_id="c7",  # parent, thr.
                 thresholds=[thr("Pregnant", "Pregnant or breastfeeding", ">=", 1, None)]),
            crit("c6", f"No prior {EVIL} therapy", "inclusion",  # wrong section + negation
                 entities=[{"text": "therapy", "label": "DRUG", "negated": True,
                            "start": therapy[0], "end": therapy[1]}]),
            crit("c7", "Any of the following:", "exclusion", logic="and"),  # wrong logic
            crit("c8", "Exclusion Criteria:", "exclusion"),  # spurious statement
            # "heart failure" is a missed statement
        ],
    }  # fmt: skip


EXPECTED = {
    "wrong-comparator": 1,
    "wrong-value": 1,
    "wrong-unit": 1,
    "missed": 2,  # the creatinine threshold and the "heart failure" statement
    "spurious": 2,  # the pregnancy threshold and the header statement
    "wrong-section": 1,
    "wrong-negation": 1,
    "wrong-logic": 1,
    "wrong-parent": 1,  # "Pregnant ..." hangs under "Any of the following:"
}


@pytest.fixture()
def report_inputs(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    (corpus / "seeds").mkdir(parents=True)
    (corpus / "gold").mkdir()
    (corpus / "seeds" / "T1.txt").write_text(SOURCE, encoding="utf-8")
    (corpus / "gold" / "T1.json").write_text(json.dumps(gold_trial()), encoding="utf-8")
    second = {**gold_trial(), "trial_id": "T2"}  # no prediction: everything is missed
    (corpus / "gold" / "T2.json").write_text(json.dumps(second), encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps(pred_trial()) + "\n", encoding="utf-8")
    return corpus / "gold", pred


def test_every_error_kind_is_classified_exactly() -> None:
    errors, rows = collect_errors("T1", gold_trial(), pred_trial())
    assert Counter(e.kind for e in errors) == EXPECTED
    assert set(EXPECTED) == set(KINDS)
    by_kind = {e.kind: e for e in errors}
    assert by_kind["wrong-value"].gold.endswith(">= 100000 /uL")
    assert by_kind["wrong-value"].pred.endswith(">= 10000 /uL")
    assert by_kind["wrong-section"].gold == "exclusion"
    assert (by_kind["wrong-parent"].gold, by_kind["wrong-parent"].pred) == ("—", "c7")
    assert [r.start for r in rows] == sorted(r.start for r in rows)
    flagged = {k for r in rows for k in r.kinds}
    assert flagged == set(EXPECTED)
    _, missed_rows = collect_errors("T2", gold_trial(), {"criteria": []})
    assert all(r.kinds == {"missed"} for r in missed_rows)  # every row, not only the first


def test_highlight_escapes_and_nests_marks() -> None:
    text = "a <b> c"
    out = highlight(text, 0, len(text), [(2, 5, "g-thr", "x"), (4, 7, "p-thr", "<y>")])
    assert out == (
        'a <mark class="g-thr" title="x">&lt;b</mark>'
        '<mark class="g-thr p-thr" title="x | &lt;y&gt;">&gt;</mark>'
        '<mark class="p-thr" title="&lt;y&gt;"> c</mark>'
    )


def test_report_is_self_contained_and_escaped(report_inputs: tuple[Path, Path], tmp_path) -> None:
    gold_dir, pred = report_inputs
    out = tmp_path / "report.html"
    assert cli_main(["report", "--gold", str(gold_dir), "--pred", str(pred), "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("<script>") == 1  # only the page's own filter code
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page and "src=" not in page
    assert "<svg" in page and 'id="summary-table"' in page
    for kind in KINDS:
        assert f'data-kind="{kind}"' in page


def _launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_report_in_chromium(report_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    gold_dir, pred = report_inputs
    out = write_report(gold_dir, pred, tmp_path / "report.html")
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = _launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(out.as_uri())
        assert page.locator("#summary-table").is_visible()
        assert page.locator("#summary-table tr").count() > 10
        assert page.locator("svg.chart").count() == 3
        for kind, label in KINDS.items():
            group = page.locator(f'section.kind-group[data-kind="{kind}"]')
            assert group.locator("h3").inner_text().startswith(label)
            assert group.locator("tr.err").first.is_visible()
        evil = page.locator("td.text", has_text="<script>alert(1)</script>").first
        assert evil.is_visible()  # shown as text, not run

        page.locator('.kind-filter[value="wrong-value"]').uncheck()
        assert page.locator('tr.err[data-kind="wrong-value"]').first.is_hidden()
        assert page.locator('tr.err[data-kind="missed"]').first.is_visible()
        only_value = page.locator('tr.crit[data-trial="T1"][data-kinds="wrong-value"]')
        assert only_value.is_hidden()

        page.select_option("#trial-filter", "T2")
        assert page.locator('section.trial[data-trial="T1"]').is_hidden()
        assert page.locator('section.trial[data-trial="T2"]').is_visible()
        assert page.locator('tr.err[data-trial="T1"]').first.is_hidden()
        spurious = page.locator('section.kind-group[data-kind="spurious"]')
        assert spurious.locator(".n").inner_text() == "0"  # T2 has no prediction
        assert spurious.locator("table").is_hidden()

        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert dialogs == []
    assert shot.stat().st_size > 10_000
