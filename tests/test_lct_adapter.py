"""Tests of the LCT adapter (``evaluation.lct``): unit normalisation, matching, negation, and a
perfect predictor built from the real gold, which must score recall 1.0.

The real data is read from the shared folder (never copied into the project); tests that need
it skip when it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluation import lct
from evaluation.lct import (
    is_compound_duration,
    judge,
    lct_path,
    normalize_operator,
    normalize_time_unit,
    normalize_unit,
    read_records,
    score_lct,
    score_predictions,
    score_record,
    unit_reference,
    units_match,
)

# --- builders -------------------------------------------------------------------------------

OPS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=="}


def comparison(
    subject: tuple[int, int] = (0, 9),
    span: tuple[int, int] = (10, 20),
    operator: str | None = ">=",
    value: float | None = 100.0,
    value2: float | None = None,
    unit: str | None = None,
    *,
    subject_type: str = "Observation",
    lab_like: bool = True,
    issues: tuple[str, ...] = (),
) -> dict[str, Any]:
    """An LCT comparison item with the fields the adapter reads."""
    return {
        "id": "E1",
        "subject": {
            "text": "x",
            "start": subject[0],
            "end": subject[1],
            "type": subject_type,
            "subtype": "lab" if lab_like else None,
        },
        "span": {"start": span[0], "end": span[1], "text": "y"},
        "operator": operator,
        "value": value,
        "value2": value2,
        "unit_text": unit,
        "unit_alt_text": None,
        "lab_like": lab_like,
        "issues": list(issues),
    }


def pred_thr(
    span: tuple[int, int] = (0, 9),
    comparator: str = ">=",
    value: Any = 100.0,
    unit: str | None = None,
    relative_to: str | None = None,
    whole: tuple[int, int] | None = None,
) -> dict[str, Any]:
    whole = whole or (span[0], span[1] + 10)
    return {
        "analyte": "x",
        "analyte_text": "x",
        "analyte_span": {"start": span[0], "end": span[1]},
        "comparator": comparator,
        "value": value,
        "unit": unit,
        "relative_to": relative_to,
        "normalized": None,
        "start": whole[0],
        "end": whole[1],
    }


def prediction(
    thresholds: list[dict[str, Any]] | None = None,
    entities: list[dict[str, Any]] | None = None,
    temporal: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``Trial.to_dict()``-shaped prediction with everything in one criterion."""
    criterion = {
        "id": "c1",
        "section": "unknown",
        "text": "",
        "start": 0,
        "end": 1000,
        "thresholds": thresholds or [],
        "entities": entities or [],
        "temporal": temporal or [],
    }
    return {"trial_id": "NCT0", "criteria": [criterion]}


def perfect_prediction(record: dict[str, Any]) -> dict[str, Any]:
    """A fake predictor that restates the gold: thresholds from comparisons, temporal items,
    negated entities from negation targets."""
    thresholds = []
    for c in record["comparisons"]:
        if c["value"] is None:
            continue
        s = c["subject"]
        subject, whole = (s["start"], s["end"]), (c["span"]["start"], c["span"]["end"])
        if c["operator"] == "range" and c["value2"] is not None:
            thresholds.append(pred_thr(subject, ">=", c["value"], c["unit_text"], whole=whole))
            thresholds.append(pred_thr(subject, "<=", c["value2"], c["unit_text"], whole=whole))
        else:
            op = OPS.get(c["operator"], "==")
            thresholds.append(pred_thr(subject, op, c["value"], c["unit_text"], whole=whole))
    temporal = [
        {"start": c["span"]["start"], "end": c["span"]["end"], "value": v, "unit": c["unit_text"]}
        for c in record["temporal"]
        for v in (c["value"], c["value2"])
        if v is not None
    ]
    entities = [
        {**n["target"], "label": "x", "negated": True} for n in record["negations"] if n["target"]
    ]
    pred = prediction(thresholds, entities, temporal)
    pred["criteria"][0]["negations"] = [
        {"cue": n["cue"], "target": n["target"]} for n in record["negations"] if n["target"]
    ]
    return pred


def real_path() -> Path:
    path = lct_path()
    if path is None:
        pytest.skip("LCT data not available (../shared/lct/dev.jsonl or $LCT_PATH)")
    return path


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x ULN", "upper limit of normal"),
        ("times the upper limit of normal", "ULN"),
        ("X institutional upper limit of normal", "uln"),
        ("maximum normal value", "× ULN"),
        ("upper limits of normal", "upper limit of normal (ULN)"),
        ("lower limit of normal", "x LLN"),
        ("µmol/L", "μmol/l"),  # micro sign vs Greek mu
        ("μmol / L", "umol/L"),
        ("mcg/mL", "µg/mL"),
        ("109/L", "10^9/L"),  # superscript lost in the flattened text
        ("x109/L", "10⁹/L"),
        ("×109/L", "10*9/L"),
        ("kg/m2", "kg/m²"),
        ("/mm3", "cells/mm³"),
        ("ml per minute", "mL/min"),
        ("mL/minute/1.73 m2", "ml/min/1.73m²"),
        ("mg/dl", "mg / dL"),
    ],
)
def test_units_normalise_to_the_same_key(a: str, b: str) -> None:
    assert normalize_unit(a) == normalize_unit(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("mg/dL", "g/dL"), ("g/L", "mg/L"), ("ULN", "LLN"), ("/mm3", "/mL"), ("109/L", "103/L")],
)
def test_different_units_stay_different(a: str, b: str) -> None:
    assert normalize_unit(a) != normalize_unit(b)


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("ULN", "ULN"),
        ("x ULN", "ULN"),
        ("times the upper limit of normal", "ULN"),
        ("institutional upper limit of normal", "ULN"),
        ("maximum normal value", "ULN"),
        ("normal", "ULN"),  # "twice higher than normal"
        ("lower limit of normal", "LLN"),
        ("mg/dL", None),
        (None, None),
    ],
)
def test_unit_reference(text: str | None, ref: str | None) -> None:
    assert unit_reference(text) == ref


@pytest.mark.parametrize(
    ("gold_unit", "pred", "ok"),
    [
        (None, pred_thr(unit="mg/dL"), True),  # no gold unit: units are not scored
        ("x ULN", pred_thr(unit=None, relative_to="ULN"), True),
        ("upper limit of normal", pred_thr(unit="x ULN"), True),
        ("times the upper limit of normal", pred_thr(unit=None, relative_to="LLN"), False),
        ("upper limit of normal", pred_thr(unit=None), False),
        ("µmol/L", pred_thr(unit="μmol/l"), True),
        ("109/L", pred_thr(unit="10^9/L"), True),
        ("mg/dL", pred_thr(unit="g/dL"), False),
        ("mg/dL", pred_thr(unit=None), False),
    ],
)
def test_units_match(gold_unit: str | None, pred: dict[str, Any], ok: bool) -> None:
    assert units_match(comparison(unit=gold_unit), pred) is ok


def test_unit_alt_text_counts() -> None:
    gold = {**comparison(unit="kilograms per square meter"), "unit_alt_text": "kg/m²"}
    assert units_match(gold, pred_thr(unit="kg/m2"))


@pytest.mark.parametrize(
    ("text", "name"),
    [("months", "months"), ("mo", "months"), ("wks", "weeks"), ("Year", "years"), ("h", "hours")],
)
def test_time_units(text: str, name: str) -> None:
    assert normalize_time_unit(text) == name


@pytest.mark.parametrize(("op", "norm"), [("≥", ">="), ("GTEQ", ">="), ("=", "=="), (None, None)])
def test_normalize_operator(op: str | None, norm: str | None) -> None:
    assert normalize_operator(op) == norm


# --- matching one comparison ----------------------------------------------------------------

GE = comparison(operator=">=", value=1.5, unit="x ULN")
RANGE = comparison(operator="range", value=18.0, value2=50.0, unit="years", subject_type="Age")


@pytest.mark.parametrize(
    ("gold", "preds", "expected"),
    [
        (GE, [pred_thr(comparator=">=", value=1.5, relative_to="ULN")], (True, True, True)),
        (GE, [pred_thr(comparator=">", value=1.5, relative_to="ULN")], (False, True, True)),
        (GE, [pred_thr(comparator="<=", value=1.5, relative_to="ULN")], (False, False, True)),
        (GE, [pred_thr(comparator=">=", value=1.5, unit="mg/dL")], (False, False, True)),
        (GE, [pred_thr(comparator=">=", value=2.5, relative_to="ULN")], (False, False, False)),
        # analyte words elsewhere; the whole span on the comparison stands in
        (GE, [pred_thr((30, 35), ">=", 1.5, "ULN", whole=(12, 18))], (True, True, True)),
        (GE, [pred_thr((30, 35), ">=", 1.5, "ULN", whole=(40, 50))], (False, False, False)),
        # ranges: both bounds needed
        (
            RANGE,
            [
                pred_thr(comparator=">=", value=18, unit="years"),
                pred_thr(comparator="<=", value=50),
            ],
            (False, False, True),  # upper bound without its unit
        ),
        (
            RANGE,
            [
                pred_thr(comparator=">", value=18, unit="years"),
                pred_thr(comparator="<", value=50, unit="Years"),
            ],
            (True, True, True),
        ),
        (RANGE, [pred_thr(comparator=">=", value=18, unit="years")], (False, False, False)),
        (RANGE, [pred_thr(comparator="in", value=[18, 50], unit="years")], (True, True, True)),
        # no operator: value (and unit) only
        (comparison(operator=None, value=3.0), [pred_thr(comparator="<", value=3)], (True,) * 3),
        (comparison(operator="==", value=2.0), [pred_thr(comparator="in", value=[2])], (True,) * 3),
    ],
)
def test_judge(
    gold: dict[str, Any], preds: list[dict[str, Any]], expected: tuple[bool, bool, bool]
) -> None:
    cands = lct.candidates(gold, preds, temporal=False)
    found = judge(gold, cands)
    assert (found["strict"], found["direction"], found["lenient"]) == expected


def test_temporal_matching() -> None:
    gold = comparison(span=(10, 25), operator="<=", value=3.0, unit="months")
    ok = {"start": 12, "end": 25, "value": 3, "unit": "mo"}
    for preds, expected in [
        ([ok], (True, True)),
        ([{**ok, "unit": "weeks"}], (False, True)),
        ([{**ok, "start": 30, "end": 40}], (False, False)),
    ]:
        found = judge(gold, lct.candidates(gold, preds, temporal=True), temporal=True)
        assert (found["strict"], found["lenient"]) == expected


# --- a whole record -------------------------------------------------------------------------


def hand_record() -> dict[str, Any]:
    text = "Age 18-50 years. Bilirubin >= 1.5 x ULN. No history of stroke or seizure. " * 2
    return {
        "doc_id": "NCT0",
        "text": text,
        "comparisons": [
            comparison(
                (0, 3), (4, 15), "range", 18, 50, "years", subject_type="Age", lab_like=False
            ),
            comparison((17, 26), (27, 39), ">=", 1.5, "x ULN"),
            comparison(
                (17, 26), (27, 39), ">", 1.5, "x ULN", issues=("operator-annotation-mismatch",)
            ),
            comparison((17, 26), (27, 39), None, None, None),  # value not a number: skipped
        ],
        "temporal": [],
        "negations": [
            {"id": "E1", "cue": {"start": 41, "end": 43}, "target": {"start": 55, "end": 61}},
            {"id": "E2", "cue": {"start": 41, "end": 43}, "target": {"start": 65, "end": 72}},
            {"id": "E3", "cue": {"start": 41, "end": 43}, "target": None},
        ],
        "entities": [
            {"id": "T1", "type": "Condition", "start": 55, "end": 61},
            {"id": "T2", "type": "Condition", "start": 65, "end": 72},
            {"id": "T3", "type": "Observation", "start": 17, "end": 26},
        ],
    }


def test_record_comparisons_and_data_quality_exclusion() -> None:
    record = hand_record()
    pred = prediction(
        [
            pred_thr((0, 3), ">=", 18, "years"),
            pred_thr((0, 3), "<=", 50, "years"),
            pred_thr((17, 26), ">", 1.5, None, relative_to="ULN"),
        ]
    )
    result = score_predictions([record], {"NCT0": pred})
    all_ = result["comparisons"]["all"]
    assert all_["support"] == 3
    assert all_["skipped_no_value"] == 1
    assert all_["excluded_operator_mismatch"] == 1
    assert all_["support_operator"] == 2
    assert all_["found"] == {"strict": 1, "direction": 2, "lenient": 3}
    assert all_["recall_strict"] == 0.5
    # precision: the three predictions sit on annotated subjects; the ">" one is right for
    # the flagged gold item, so all three are right
    assert all_["pred_evaluable"] == 3
    assert all_["precision_strict"] == 1.0
    assert result["comparisons"]["age"]["recall_strict"] == 1.0
    lab = result["comparisons"]["lab_like"]
    assert (lab["support"], lab["support_operator"], lab["recall_direction"]) == (2, 1, 1.0)
    assert result["comparisons"]["temporal"]["support"] == 0
    assert result["comparisons"]["temporal"]["recall_strict"] is None


def test_negation_matching_on_hand_record() -> None:
    record = hand_record()
    entities = [
        {"text": "stroke", "label": "x", "start": 55, "end": 61, "negated": True},  # TP
        {"text": "Bilirubin", "label": "x", "start": 17, "end": 26, "negated": True},  # FP
        {
            "text": "Age",
            "label": "x",
            "start": 100,
            "end": 103,
            "negated": True,
        },  # no gold: ignored
        {"text": "seizure", "label": "x", "start": 65, "end": 72, "negated": False},  # not negated
    ]
    counts = score_record(record, prediction(entities=entities))
    assert counts["negation.support"] == 2  # the null target is skipped
    assert counts["negation.found"] == 1
    assert counts["negation.pred_evaluable"] == 2
    assert counts["negation.pred_right"] == 1
    neg = score_predictions([record], {"NCT0": prediction(entities=entities)})["negation"]
    assert (neg["precision"], neg["recall"], neg["f1"]) == (0.5, 0.5, 0.5)


def test_an_item_under_a_negated_introduction_counts_as_negated() -> None:
    """ "Absence of: - stroke": the item's entity keeps ``negated`` false (its requirement
    carries the negation) and its pair names the introduction with ``via``; the entity
    reading counts it as negated, and only through that pair."""
    record = hand_record()
    stroke = {"text": "stroke", "label": "x", "start": 55, "end": 61, "negated": False}
    plain = prediction(entities=[stroke])
    assert score_record(record, plain)["negation.found"] == 0
    introduced = prediction(entities=[stroke])
    introduced["criteria"][0]["negations"] = [
        {
            "cue": {"text": "absence of", "start": 0, "end": 10},
            "target": {k: stroke[k] for k in ("text", "start", "end")},
            "via": "c0",
        }
    ]
    assert score_record(record, introduced)["negation.found"] == 1


def test_cue_target_pairs_score_one_target_per_cue() -> None:
    """ "No history of stroke or seizure": LCT links the cue to both targets here, so a cue
    whose target is "stroke" finds one of two; a pair whose cue is elsewhere is a
    cue+target miss but still a target hit."""
    record = hand_record()
    pred = prediction()
    pred["criteria"][0]["negations"] = [
        {"cue": {"start": 41, "end": 54}, "target": {"start": 55, "end": 61}},  # right
        {"cue": {"start": 0, "end": 3}, "target": {"start": 65, "end": 72}},  # wrong cue
        {"cue": {"start": 41, "end": 54}, "target": {"start": 17, "end": 26}},  # wrong target
    ]
    neg = score_predictions([record], {"NCT0": pred})["negation"]
    target, pair = neg["cue_target"], neg["cue_pair"]
    assert (target["found"], target["pred_evaluable"], target["pred_right"]) == (2, 3, 2)
    assert (pair["found"], pair["pred_evaluable"], pair["pred_right"]) == (1, 3, 1)
    assert neg["found"] == 0  # no entity is flagged negated: the entity reading is separate
    # both gold pairs share the found cue (41-43); the wrong-cue pair is not at a gold cue;
    # of the two pairs at it, one target is right
    assert neg["cue_recall"] == 1.0
    assert (neg["shared_cues"], neg["scope_accuracy"]) == (2, 0.5)


def test_missing_prediction_counts_as_empty() -> None:
    result = score_predictions([hand_record()], {})
    assert result["comparisons"]["all"]["recall_lenient"] == 0.0
    assert result["negation"]["recall"] == 0.0
    assert result["negation"]["precision"] is None


# --- running --------------------------------------------------------------------------------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_score_lct_injects_parse_and_collects_errors(tmp_path: Path) -> None:
    good, bad = hand_record(), {**hand_record(), "doc_id": "NCT1"}
    path = write_jsonl(tmp_path / "lct.jsonl", [good, bad])
    calls: list[str] = []

    def parse(text: str, *, trial_id: str) -> dict[str, Any]:
        calls.append(trial_id)
        if trial_id == "NCT1":
            raise RuntimeError("boom")
        return perfect_prediction(good)

    result = score_lct(path, parse=parse)
    assert calls == ["NCT0", "NCT1"]
    assert result["documents"] == 2
    assert result["errors"] == [{"doc_id": "NCT1", "error": "RuntimeError: boom"}]
    assert result["comparisons"]["all"]["recall_lenient"] == 0.5
    assert score_lct(path, parse=parse, limit=1)["documents"] == 1


def test_read_records_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "lct.jsonl"
    path.write_text(json.dumps(hand_record()) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lct\.jsonl:2: invalid JSON"):
        list(read_records(path))


def test_lct_path_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jsonl(tmp_path / "dev.jsonl", [])
    monkeypatch.setenv("LCT_PATH", str(path))
    assert lct_path() == path
    monkeypatch.setenv("LCT_PATH", str(tmp_path / "absent.jsonl"))
    assert lct_path() is None


def test_main_exits_2_when_data_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LCT_PATH", str(tmp_path / "absent.jsonl"))
    assert lct.main([]) == 2
    assert "LCT data not found" in capsys.readouterr().err
    assert lct.main(["--path", str(tmp_path / "nope.jsonl")]) == 2


@pytest.mark.parametrize("as_json", [False, True])
def test_main_prints_table_and_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    as_json: bool,
) -> None:
    record = hand_record()
    path = write_jsonl(tmp_path / "lct.jsonl", [record])
    monkeypatch.setattr(
        lct, "default_parse", lambda: lambda text, trial_id: perfect_prediction(record)
    )
    argv = ["--path", str(path), "--limit", "1"] + (["--json"] if as_json else [])
    assert lct.main(argv) == 0
    out = capsys.readouterr().out
    command = f"python -m evaluation.lct --path {path} --limit 1"
    if as_json:
        data = json.loads(out)
        assert data["command"].startswith(command)
        assert data["comparisons"]["all"]["recall_strict"] == 1.0
    else:
        assert "lab_like" in out and "temporal" in out and "entities" in out
        assert f"command: {command}" in out


# --- real data ------------------------------------------------------------------------------


def test_perfect_fake_predictor_on_real_records() -> None:
    path = real_path()
    records = {r["doc_id"]: r for r in read_records(path)}
    result = score_lct(path, parse=lambda text, trial_id: perfect_prediction(records[trial_id]))
    assert result["documents"] == len(records) > 0
    assert result["errors"] == []
    for cat, m in result["comparisons"].items():
        assert m["support"] > 0, cat
        for key in ("recall_strict", "recall_direction", "recall_lenient", "precision_strict"):
            assert m[key] == 1.0, (cat, key)
    for neg in (result["negation"], result["negation"]["cue_target"]):
        assert neg["recall"] == neg["precision"] == 1.0
    assert result["negation"]["cue_pair"]["recall"] == 1.0
    assert result["negation"]["cue_recall"] == result["negation"]["scope_accuracy"] == 1.0


def test_real_records_penalise_a_dropped_unit() -> None:
    """Dropping every unit must cost strict recall exactly the items that have a gold unit
    (ULN-type units survive only through relative_to, which this predictor does not set)."""
    path = real_path()
    records = list(read_records(path, limit=200))
    preds = {}
    for r in records:
        p = perfect_prediction(r)
        for t in p["criteria"][0]["thresholds"]:
            t["unit"] = None
        preds[r["doc_id"]] = p
    m = score_predictions(records, preds)["comparisons"]["all"]
    with_unit = sum(
        1
        for r in records
        for c in r["comparisons"]
        if c["value"] is not None
        and any(
            u and lct.normalize_unit(u) not in lct.NOT_UNITS
            for u in (c["unit_text"], c["unit_alt_text"])
        )
        and not lct.is_operator_mismatch(c)
        and not lct.is_compound_duration(c)
    )
    assert with_unit > 0
    assert m["found"]["strict"] == m["support_operator"] - with_unit
    assert m["recall_lenient"] == 1.0


def test_scale_words_are_not_units():
    """'MMSE score < 4': LCT tags 'score' as a unit; a unitless prediction states it fully."""
    from evaluation.lct import units_match

    gold = {"unit_text": "score", "unit_alt_text": None}
    assert units_match(gold, {"unit": None, "relative_to": None})
    assert not units_match({"unit_text": "mg/dL", "unit_alt_text": None}, {"unit": None})


def _with_parts(item: dict[str, Any], *parts: tuple[str, str]) -> dict[str, Any]:
    item["unit_parts"] = [{"role": role, "text": text} for role, text in parts]
    return item


def test_compound_duration_is_counted_and_left_out_of_strict_scores() -> None:
    """ "13 weeks 6 days" comes out of the LCT converter as range(6, 13) "weeks days"."""
    record = hand_record()
    compound = _with_parts(
        comparison((0, 3), (4, 15), "range", 6, 13, "weeks days", lab_like=False),
        ("Temporal-Unit", "weeks"),
        ("Temporal-Unit", "days"),
    )
    record["comparisons"] = [compound]
    assert is_compound_duration(compound)
    pred = prediction([pred_thr((0, 3), "==", 6, "days")])
    obs = score_predictions([record], {"NCT0": pred})["comparisons"]["observation"]
    assert (obs["support"], obs["excluded_compound_duration"], obs["support_operator"]) == (1, 1, 0)
    assert obs["pred_evaluable"] == 0  # no precision verdict against an unscorable item
    # a rate ("days/week") and one unit are not compound durations
    rate = _with_parts(comparison(), ("Temporal-Unit", "days"), ("Per", "week"))
    assert not is_compound_duration(rate)
    assert not is_compound_duration(comparison(unit="weeks"))


def test_a_unit_annotated_once_per_bound_is_one_unit() -> None:
    """ "between 37week and 42 weeks": LCT rebuilds the unit as "week weeks"."""
    gold = _with_parts(
        comparison(operator="range", value=37, value2=42, unit="week weeks"),
        ("Temporal-Unit", "week"),
        ("Temporal-Unit", "weeks"),
    )
    assert units_match(gold, {"unit": "weeks"})
    assert not units_match(gold, {"unit": "days"})
    mixed = _with_parts(
        comparison(unit="mm negative control"), ("Unit", "mm"), ("Unit", "negative control")
    )
    assert not units_match(mixed, {"unit": "negative control"})  # different parts: not one
    assert units_match(mixed, {"unit": "mm negative control"})


def test_concept_recognition_on_hand_record() -> None:
    record = hand_record()
    entities = [
        {"text": "stroke", "label": "CONDITION", "start": 55, "end": 61},  # right kind
        {"text": "Bilirubin", "label": "DRUG", "start": 17, "end": 26},  # on an observation
        {"text": "seizure", "label": "CONCEPT", "start": 65, "end": 72},  # fallback: not scored
    ]
    concepts = score_predictions([record], {"NCT0": prediction(entities=entities)})["concepts"]
    assert concepts["Condition"] == {"support": 2, "recall": 1.0, "recall_labelled": 0.5}
    assert concepts["Observation"] == {"support": 1, "recall": 1.0, "recall_labelled": 0.0}
    assert concepts["Drug"]["recall"] is None  # nothing annotated
    assert (concepts["pred"], concepts["precision_labelled"]) == (2, 0.5)


def test_record_errors_list_what_a_record_gets_wrong() -> None:
    """The listing an annotator reads: the comparison not found strictly (the ">" one is
    flagged as an operator mismatch but still listed, being unfound), the gold pair no
    prediction names, and the predicted pair on an annotated concept no gold pair names."""
    record = hand_record()
    pred = prediction([pred_thr((0, 3), ">=", 18, "years"), pred_thr((0, 3), "<=", 50, "years")])
    pred["criteria"][0]["negations"] = [
        {
            "cue": {"start": 41, "end": 54, "rule": "no history of"},
            "target": {"start": 55, "end": 61},
        },
        {
            "cue": {"start": 41, "end": 54, "rule": "no history of"},
            "target": {"start": 17, "end": 26},
        },
    ]
    mistakes = lct.record_errors(record, pred)
    kinds = [m["kind"] for m in mistakes]
    assert kinds == ["comparison_missed", "comparison_missed", "negation_missed", "negation_extra"]
    assert {m["gold"]["operator"] for m in mistakes[:2]} == {">=", ">"}
    missed, extra = mistakes[2], mistakes[3]
    assert (missed["target"]["start"], missed["cue_found"]) == (65, True)
    assert missed["predicted_at_cue"] == [
        {"text": None, "start": 55, "end": 61},
        {"text": None, "start": 17, "end": 26},
    ]
    assert (extra["target"]["start"], extra["cue_annotated"]) == (17, True)
    assert extra["line"].startswith("Age 18-50 years. Bilirubin")


def test_mistakes_file_from_the_command(tmp_path, monkeypatch) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(hand_record()) + "\n", encoding="utf-8")
    out = tmp_path / "mistakes.jsonl"
    monkeypatch.setattr(lct, "default_parse", lambda: lambda text, trial_id: prediction())
    assert lct.main(["--path", str(path), "--mistakes", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["doc_id"] for r in rows} == {"NCT0"}
    assert sum(r["kind"] == "negation_missed" for r in rows) == 2
