"""Tests of ``evaluation.gold`` and ``evaluation.score`` on hand-built and perturbed gold.

Each perturbation changes one thing and checks that exactly the matching metric moves by
exactly the expected amount: that is what makes the scorer trustworthy as a yardstick.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from evaluation.gold import load_gold, load_predictions
from evaluation.score import (
    format_table,
    predict_gold_sources,
    score,
    threshold_matches,
    units_equal,
    values_equal,
)

GOLD_DIR = Path(__file__).resolve().parents[1] / "corpus" / "gold"


# --- builders -------------------------------------------------------------------------------


def thr(
    analyte: str = "platelet count",
    span: tuple[int, int] = (0, 9),
    comparator: str = ">=",
    value: Any = 50000,
    unit: str | None = "/µL",
    normalized: dict[str, Any] | None = None,
    relative_to: str | None = None,
) -> dict[str, Any]:
    return {
        "analyte": analyte,
        "analyte_text": analyte,
        "analyte_span": {"start": span[0], "end": span[1]},
        "comparator": comparator,
        "value": value,
        "unit": unit,
        "relative_to": relative_to,
        "normalized": normalized,
        "start": span[0],
        "end": span[1] + 12,
    }


def crit(cid: str, start: int | None, end: int | None, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": cid,
        "section": "inclusion",
        "text": "",
        "start": start,
        "end": end,
        "parent_id": None,
        "logic": None,
        "exception": False,
        "negated": False,
        "entities": [],
        "thresholds": [],
        "origin": "text",
        "temporal": [],
    }
    base.update(kw)
    return base


def trial(trial_id: str, criteria: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": "1.0", "trial_id": trial_id, "criteria": criteria, "warnings": []}


def hand_gold() -> dict[str, dict[str, Any]]:
    """Two small trials covering every scored field (tree, exception, negation, thresholds)."""
    t1 = trial(
        "T1",
        [
            crit("c1", 0, 40, parent_id=None, logic="or"),
            crit("c2", 41, 80, parent_id="c1", thresholds=[thr(span=(41, 50))]),
            crit("c3", 81, 120, parent_id="c1", exception=True),
            crit("c4", 121, 160, section="exclusion", negated=True),
        ],
    )
    t2 = trial(
        "T2",
        [
            crit(
                "c1",
                0,
                30,
                thresholds=[
                    thr("hemoglobin", (0, 10), ">=", 8, "g/dL", {"value": 80, "unit": "g/L"}),
                    thr("total bilirubin", (12, 21), "<=", 1.5, None, relative_to="ULN"),
                ],
            ),
            crit("c2", 31, 60, section="exclusion"),
        ],
    )
    return {"T1": t1, "T2": t2}


def real_gold() -> dict[str, dict[str, Any]]:
    if not GOLD_DIR.is_dir() or not any(GOLD_DIR.glob("*.json")):
        pytest.skip("no gold files in corpus/gold yet")
    return load_gold(GOLD_DIR)


def rates(tree: Any) -> list[tuple[str, float | None]]:
    """Every precision/recall/f1/accuracy in a metrics tree, with its path."""
    out: list[tuple[str, float | None]] = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key in {"precision", "recall", "f1", "accuracy"}:
                out.append((key, value))
            else:
                out += [(f"{key}.{k}", v) for k, v in rates(value)]
    return out


def n_text(gold: dict[str, dict[str, Any]]) -> int:
    return sum(c["start"] is not None for t in gold.values() for c in t["criteria"])


# --- identity -------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["hand", "corpus"])
def test_gold_against_itself_is_perfect(source: str) -> None:
    gold = hand_gold() if source == "hand" else real_gold()
    metrics = score(gold, copy.deepcopy(gold))
    values = rates(metrics["micro"]) + rates(metrics["per_trial"])
    assert values
    assert all(v == 1.0 for _, v in values if v is not None), [x for x in values if x[1] != 1.0]
    assert metrics["micro"]["statements"]["exact"]["support"] == n_text(gold)


# --- statements -----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["hand", "corpus"])
def test_dropped_criterion_lowers_recall_by_one_over_n(source: str) -> None:
    gold = hand_gold() if source == "hand" else real_gold()
    pred = copy.deepcopy(gold)
    first = sorted(pred)[0]
    leaf = next(c for c in reversed(pred[first]["criteria"]) if not c["thresholds"])
    pred[first]["criteria"].remove(leaf)
    stmts = score(gold, pred)["micro"]["statements"]
    n = n_text(gold)
    for variant in ("exact", "lenient"):
        assert stmts[variant]["recall"] == pytest.approx((n - 1) / n)
        assert stmts[variant]["precision"] == 1.0
        assert stmts[variant]["fn"] == 1


@pytest.mark.parametrize(
    ("shift", "exact_tp", "lenient_tp"),
    [
        ((0, -1), 5, 6),  # one character short: only the lenient match survives
        ((3, 0), 5, 6),
        ((0, -30), 5, 5),  # shrunk below half of the longer span: lost in both
    ],
)
def test_shifted_span(shift: tuple[int, int], exact_tp: int, lenient_tp: int) -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    c = pred["T1"]["criteria"][3]  # 121-160, no children
    c["start"] += shift[0]
    c["end"] += shift[1]
    m = score(gold, pred)["micro"]
    assert m["statements"]["exact"]["tp"] == exact_tp
    assert m["statements"]["exact"]["fp"] == 6 - exact_tp
    assert m["statements"]["lenient"]["tp"] == lenient_tp
    assert m["section"]["aligned"]["accuracy"] == 1.0  # a boundary slip is not a section error


def test_structured_criteria_are_ignored() -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    age = crit("s1", None, None, origin="minimumAge", thresholds=[thr("age", (0, 3), ">=", 18)])
    pred["T2"]["criteria"].append(age)
    gold["T2"]["criteria"].append(crit("s9", None, None, origin="maximumAge"))
    m = score(gold, pred)["micro"]
    assert m["statements"]["exact"]["fp"] == 0
    assert m["thresholds"]["match"]["fp"] == 0


# --- section, tree, negation ----------------------------------------------------------------


def test_wrong_section() -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    pred["T2"]["criteria"][1]["section"] = "inclusion"
    m = score(gold, pred)["micro"]
    assert m["statements"]["exact"]["f1"] == 1.0
    assert m["section"]["exact"]["tp"] == 5
    assert m["section"]["exact"]["recall"] == pytest.approx(5 / 6)
    assert m["section"]["aligned"]["accuracy"] == pytest.approx(5 / 6)


def test_parent_maps_through_statement_alignment() -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    for c in pred["T1"]["criteria"]:  # other ids, same structure: still all correct
        c["id"] = "p" + c["id"]
        c["parent_id"] = c["parent_id"] and "p" + c["parent_id"]
    assert score(gold, pred)["micro"]["tree"]["parent"]["accuracy"] == 1.0
    pred["T1"]["criteria"][2]["parent_id"] = None
    pred["T1"]["criteria"][3]["parent_id"] = "pc1"
    parent = score(gold, pred)["micro"]["tree"]["parent"]
    assert (parent["correct"], parent["total"]) == (4, 6)


@pytest.mark.parametrize(
    ("field", "index", "value", "metric", "expected"),
    [
        ("logic", 0, "and", ("tree", "logic"), 5 / 6),
        ("logic", 0, "and", ("tree", "logic_parents"), 0.0),
        ("exception", 1, True, ("tree", "exception"), {"tp": 1, "fp": 1, "fn": 0}),
        ("exception", 2, False, ("tree", "exception"), {"tp": 0, "fp": 0, "fn": 1}),
        ("negated", 3, False, ("negation",), {"tp": 0, "fp": 0, "fn": 1}),
        ("negated", 0, True, ("negation",), {"tp": 1, "fp": 1, "fn": 0}),
    ],
)
def test_flag_perturbations(
    field: str, index: int, value: Any, metric: tuple[str, ...], expected: Any
) -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    pred["T1"]["criteria"][index][field] = value
    result: Any = score(gold, pred)["micro"]
    for key in metric:
        result = result[key]
    if isinstance(expected, dict):
        assert {k: result[k] for k in expected} == expected
    else:
        assert result["accuracy"] == pytest.approx(expected)


# --- thresholds -----------------------------------------------------------------------------

PLT_NORM = {"value": 50, "unit": "10*9/L"}


@pytest.mark.parametrize(
    ("gold_t", "pred_t", "matches"),
    [
        (thr(), thr(), True),
        (thr(), thr(comparator=">"), False),
        (thr(), thr(value=50), False),
        (thr(), thr(unit="/μL"), True),  # micro sign vs Greek mu
        (thr(), thr(unit="/ µl"), True),  # case and spaces
        (thr(), thr(unit="/mL"), False),
        (thr(), thr(analyte="platelets", span=(3, 12)), True),  # words overlap
        (thr(), thr(span=(20, 29)), True),  # same canonical analyte elsewhere
        (thr(), thr(analyte="anc", span=(20, 29)), False),
        # normalized decides when the gold has it
        (thr(normalized=PLT_NORM), thr(normalized=PLT_NORM, unit="cells/mm3"), True),
        (thr(normalized=PLT_NORM), thr(normalized={"value": 50000, "unit": "10*9/L"}), False),
        (thr(normalized=PLT_NORM), thr(normalized=None), False),
        (thr(normalized=PLT_NORM), thr(value=50, unit="10^9/L", normalized=PLT_NORM), False),
        (thr(normalized=PLT_NORM), thr(normalized={"value": 50.01, "unit": "10*9/L"}), True),
        # references
        (
            thr(value=3, unit=None, relative_to="ULN"),
            thr(value=3, unit=None, relative_to="ULN"),
            True,
        ),
        (thr(value=3, unit=None, relative_to="ULN"), thr(value=3, unit=None), False),
        # sets
        (thr(comparator="in", value=[0, 1, 2]), thr(comparator="in", value=[2, 1, 0]), True),
        (thr(comparator="in", value=[0, 1, 2]), thr(comparator="in", value=[0, 1]), False),
    ],
)
def test_threshold_match_rules(gold_t: dict, pred_t: dict, matches: bool) -> None:
    assert threshold_matches(gold_t, pred_t) is matches


def test_value_50000_vs_50_with_normalized_mismatch_in_score() -> None:
    gold = {"T": trial("T", [crit("c1", 0, 40, thresholds=[thr(normalized=PLT_NORM)])])}
    pred = copy.deepcopy(gold)
    pred["T"]["criteria"][0]["thresholds"][0].update(
        value=50, unit="10^9/L", normalized={"value": 0.05, "unit": "10*9/L"}
    )
    m = score(gold, pred)["micro"]["thresholds"]
    assert (m["match"]["tp"], m["match"]["fp"], m["match"]["fn"]) == (0, 1, 1)
    slots = {k: v["accuracy"] for k, v in m["slots"].items()}
    assert slots == {
        "analyte": 1.0,
        "comparator": 1.0,
        "value": 0.0,
        "unit": 0.0,
        "relative_to": 1.0,
        "normalized": 0.0,
    }


def test_wrong_comparator_in_score() -> None:
    gold = hand_gold()
    pred = copy.deepcopy(gold)
    pred["T2"]["criteria"][0]["thresholds"][0]["comparator"] = ">"
    m = score(gold, pred)["micro"]["thresholds"]
    assert (m["match"]["tp"], m["match"]["fp"], m["match"]["fn"]) == (2, 1, 1)
    assert m["slots"]["comparator"]["accuracy"] == pytest.approx(2 / 3)
    assert m["slots"]["value"]["accuracy"] == 1.0


def test_thresholds_are_one_to_one() -> None:
    gold = {"T": trial("T", [crit("c1", 0, 40, thresholds=[thr()])])}
    pred = copy.deepcopy(gold)
    pred["T"]["criteria"][0]["thresholds"].append(thr())  # a duplicate is a false positive
    m = score(gold, pred)["micro"]["thresholds"]["match"]
    assert (m["tp"], m["fp"], m["fn"]) == (1, 1, 0)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (50, 50.0, True),
        (1.5, 1.5014, True),
        (1.5, 1.51, False),
        (0, 0.0, True),
        ([0, 1, 2], [2, 1, 0, 0], True),
        (3, [3], True),
        ([1, 2], [1, 3], False),
        (None, 1, False),
    ],
)
def test_values_equal(a: Any, b: Any, equal: bool) -> None:
    assert values_equal(a, b) is equal


def test_units_equal_requires_same_reference() -> None:
    g = thr(value=1, unit="mg/dL", relative_to="ULN")
    assert units_equal(g, thr(value=1, unit="mg/dl", relative_to="ULN"))
    assert not units_equal(g, thr(value=1, unit="mg/dL"))


# --- trials, table --------------------------------------------------------------------------


def test_missing_and_extra_trials() -> None:
    gold = hand_gold()
    pred = {"T1": copy.deepcopy(gold["T1"]), "X": trial("X", [crit("c1", 0, 5)])}
    metrics = score(gold, pred)
    assert metrics["trials"]["missing_predictions"] == ["T2"]
    assert metrics["trials"]["extra_predictions"] == ["X"]
    assert metrics["per_trial"]["T2"]["statements"]["exact"]["recall"] == 0.0
    assert metrics["per_trial"]["T1"]["statements"]["exact"]["recall"] == 1.0
    assert metrics["micro"]["statements"]["exact"]["fn"] == 2


def test_format_table_lists_every_metric() -> None:
    gold = hand_gold()
    text = format_table(score(gold, gold), per_trial=True)
    for label in ("statements exact", "section accuracy", "tree parent", "negation", "slot unit"):
        assert label in text
    assert "T1" in text and "T2" in text
    empty = format_table(score({"E": trial("E", [])}, {}))
    assert " - " in empty  # undefined ratios print as "-", not as 0 or 1


def test_predict_gold_sources_injects_parse(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("Inclusion: age >= 18", encoding="utf-8")
    gold = {"a": {**trial("a", []), "source": "seeds/a.txt"}}
    seen: list[tuple[str, str]] = []

    def fake_parse(text: str, *, trial_id: str) -> dict[str, Any]:
        seen.append((text, trial_id))
        return trial(trial_id, [])

    pred = predict_gold_sources(gold, tmp_path, parse=fake_parse)
    assert seen == [("Inclusion: age >= 18", "a")]
    assert pred["a"]["trial_id"] == "a"


# --- loading --------------------------------------------------------------------------------


def test_load_gold_and_predictions_round_trip(tmp_path: Path) -> None:
    gold = hand_gold()
    gold_dir = tmp_path / "gold"
    gold_dir.mkdir()
    for tid, t in gold.items():
        (gold_dir / f"{tid}.json").write_text(json.dumps(t), encoding="utf-8")
    assert load_gold(gold_dir) == gold
    jsonl = tmp_path / "pred.jsonl"
    jsonl.write_text("\n".join(json.dumps(t) for t in gold.values()) + "\n\n", encoding="utf-8")
    assert load_predictions(jsonl) == gold
    assert load_predictions(gold_dir) == gold


def test_load_gold_uses_file_stem_without_trial_id(tmp_path: Path) -> None:
    (tmp_path / "007_x.json").write_text(json.dumps({"criteria": []}), encoding="utf-8")
    assert list(load_gold(tmp_path)) == ["007_x"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", ":2: invalid JSON"),
        ('{"criteria": []}', ":2: 'trial_id'"),
        ('{"trial_id": "T9"}', ":2: 'criteria' must be a list"),
        (
            '{"trial_id": "T9", "criteria": [{"id": "c1", "section": "inclusion", "start": 5, '
            '"end": 2}]}',
            "criterion 0 (c1): bad offsets",
        ),
        ('{"trial_id": "T1", "criteria": []}', ":2: duplicate trial_id 'T1'"),
    ],
)
def test_load_predictions_errors_name_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "pred.jsonl"
    path.write_text(json.dumps(trial("T1", [])) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="pred.jsonl:2") as err:
        load_predictions(path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("threshold_patch", "message"),
    [
        ({"value": "50"}, "'value' must be a number"),
        ({"value": []}, "'value' must be a number"),
        ({"comparator": None}, "'comparator'"),
        ({"analyte_span": {"start": 5, "end": 2}}, "analyte_span: bad offsets"),
        ({"normalized": {"value": 1}}, "normalized.unit"),
    ],
)
def test_load_gold_rejects_bad_thresholds(
    tmp_path: Path, threshold_patch: dict[str, Any], message: str
) -> None:
    bad = trial("T", [crit("c1", 0, 40, thresholds=[{**thr(), **threshold_patch}])])
    (tmp_path / "T.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="T.json") as err:
        load_gold(tmp_path)
    assert message in str(err.value)
    assert "c1" in str(err.value)


def test_load_gold_rejects_duplicate_criterion_ids(tmp_path: Path) -> None:
    bad = trial("T", [crit("c1", 0, 4), crit("c1", 5, 9)])
    (tmp_path / "T.json").write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate criterion id 'c1'"):
        load_gold(tmp_path)


def test_load_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_predictions(tmp_path / "nope.jsonl")
    with pytest.raises(FileNotFoundError):
        load_gold(tmp_path / "nope")
