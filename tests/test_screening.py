"""Screening patients against structured criteria: statuses, evidence, logic and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import pipeline
from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.schema import Criterion, Normalized, Threshold, Trial
from pipeline.screening import (
    ScreeningResult,
    decide,
    kleene_and,
    kleene_not,
    kleene_or,
    screen,
    threshold_plan,
    window_start,
)

ROOT = Path(__file__).resolve().parent.parent
PATIENTS = ROOT / "corpus" / "patients"
GOLD = ROOT / "corpus" / "gold"
EXPECTED = sorted(PATIENTS.glob("*.expected.json"))
ON = date(2025, 6, 1)
T001 = GOLD / "001_2342a196f04e89cb.json"


def gold_trial(stem: str) -> Trial:
    return Trial.from_dict(json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8")))


def threshold(
    analyte: str,
    comparator: str,
    value: float | list[float],
    unit: str | None = None,
    norm: tuple[float | list[float], str] | None = None,
    **extra: Any,
) -> Threshold:
    return Threshold(
        analyte=analyte,
        analyte_text=analyte,
        analyte_span={"start": 0, "end": 0},
        comparator=comparator,
        value=value,
        unit=unit,
        relative_to=extra.pop("relative_to", None),
        normalized=Normalized(norm[0], norm[1]) if norm else None,
        start=extra.pop("start", 0),
        end=extra.pop("end", 0),
        **extra,
    )


def criterion(cid: str, section: str, *thresholds: Threshold, text: str = "", **extra: Any):
    return Criterion(
        id=cid,
        section=section,
        text=text or cid,
        start=extra.pop("start", None),
        end=None,
        thresholds=list(thresholds),
        **extra,
    )


def lab(analyte: str, value: float, unit: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"analyte": analyte, "value": value, "unit": unit, "date": "2025-05-20", **extra}


def status_of(trial: Trial, patient: dict[str, Any], cid: str = "c1", on: date = ON) -> str:
    return screen(trial, patient, on=on).status(cid)


ANC = threshold("absolute neutrophil count", ">=", 1000, "/µL", (1, "10*9/L"))
CREATININE = threshold("creatinine", ">", 2, "mg/dL", (176.8, "umol/L"))
HEMOGLOBIN = threshold("hemoglobin", ">=", 8, "g/dL", (80, "g/L"))
ALT_ULN = threshold(
    "alanine aminotransferase", "<=", 3, relative_to="ULN", relative_mode="multiple"
)


# --- The synthetic patients -----------------------------------------------------------------------


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.stem.split(".")[0])
def test_synthetic_patients_give_their_hand_worked_outcomes(expected_path):
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    bundle = expected_path.with_name(expected_path.name.replace(".expected", ""))
    result = screen(gold_trial(expected["trial"]), bundle, on=date.fromisoformat(expected["on"]))
    got = {c.id: c.status for c in result.criteria}
    assert {cid: got[cid] for cid in expected["criteria"]} == expected["criteria"]
    assert result.eligible is expected["eligible"]


def test_the_corpus_covers_eligible_excluded_and_undecided_patients():
    outcomes = [json.loads(p.read_text(encoding="utf-8"))["eligible"] for p in EXPECTED]
    assert False in outcomes and None in outcomes


# --- Kleene logic ---------------------------------------------------------------------------------

T, F, U = True, False, None


@pytest.mark.parametrize(
    ("a", "b", "conjunction", "disjunction"),
    [
        (T, T, T, T),
        (T, F, F, T),
        (T, U, U, T),
        (F, T, F, T),
        (F, F, F, F),
        (F, U, F, U),
        (U, T, U, T),
        (U, F, F, U),
        (U, U, U, U),
    ],
)
def test_kleene_and_or_truth_table(a, b, conjunction, disjunction):
    assert kleene_and([a, b]) is conjunction
    assert kleene_or([a, b]) is disjunction


def test_kleene_not_and_empty_combinations():
    assert (kleene_not(T), kleene_not(F), kleene_not(U)) == (F, T, U)
    assert kleene_and([]) is True and kleene_or([]) is False


def test_trial_level_answer_is_three_valued():
    trial = Trial(
        "t",
        [criterion("c1", "inclusion", ANC), criterion("c2", "exclusion", CREATININE)],
    )
    eligible = {"labs": [lab("ANC", 1500, "/uL"), lab("creatinine", 80, "umol/L")]}
    excluded = {"labs": [lab("ANC", 1500, "/uL"), lab("creatinine", 250, "umol/L")]}
    failing = {"labs": [lab("ANC", 500, "/uL")]}
    missing = {"labs": [lab("ANC", 1500, "/uL")]}
    assert screen(trial, eligible, on=ON).eligible is True
    assert screen(trial, excluded, on=ON).eligible is False
    assert screen(trial, failing, on=ON).eligible is False  # c2 unknown cannot rescue it
    result = screen(trial, missing, on=ON)
    assert result.eligible is None and result.undecided == ["c2"]


def test_unknown_section_criteria_leave_eligibility_open():
    trial = Trial("t", [criterion("c1", "inclusion", ANC), criterion("c2", "unknown", ANC)])
    assert screen(trial, {"labs": [lab("ANC", 1500, "/uL")]}, on=ON).eligible is None


def test_or_parent_and_exceptions_combine_with_kleene_logic():
    parent = criterion("c1", "exclusion", text="any of:", logic="or")
    kids = [
        criterion("c2", "exclusion", CREATININE, parent_id="c1"),
        criterion("c3", "exclusion", HEMOGLOBIN, parent_id="c1"),
        criterion("c4", "exclusion", ANC, parent_id="c1", exception=True),
    ]
    trial = Trial("t", [parent, *kids])
    high_creatinine = [lab("creatinine", 2.5, "mg/dL")]
    # creatinine met -> the OR holds; the exception's ANC is unknown -> parent unknown
    assert status_of(trial, {"labs": high_creatinine}) == "unknown"
    # the exception is false -> the parent holds
    assert status_of(trial, {"labs": [*high_creatinine, lab("ANC", 500, "/uL")]}) == "met"
    # the exception holds -> it cancels the parent
    result = screen(trial, {"labs": [*high_creatinine, lab("ANC", 1500, "/uL")]}, on=ON)
    assert result.status("c1") == "not_met" and "exceptions: c4 met" in result.criteria[0].reason
    assert result.eligible is True


def test_negated_criteria_flip_their_statement():
    trial = Trial("t", [criterion("c1", "inclusion", ANC, negated=True)])
    assert status_of(trial, {"labs": [lab("ANC", 1500, "/uL")]}) == "not_met"
    assert status_of(trial, {"labs": []}) == "unknown"


# --- Units ----------------------------------------------------------------------------------------


def test_values_in_foreign_units_are_converted_with_the_conversion_recorded():
    trial = Trial(
        "t", [criterion("c1", "exclusion", CREATININE), criterion("c2", "inclusion", ANC)]
    )
    result = screen(
        trial,
        {"labs": [lab("creatinine", 2.5, "mg/dL"), lab("ANC", 800, "cells/uL")]},
        on=ON,
    )
    creatinine, anc = (r.evidence[0].to_dict() for r in result.criteria)
    assert result.status("c1") == "met" and result.status("c2") == "not_met"
    assert creatinine["recorded"]["value"] == 2.5 and creatinine["recorded"]["unit"] == "mg/dL"
    assert creatinine["converted"]["unit"] == "umol/L"
    assert creatinine["converted"]["value"] == pytest.approx(221.0, abs=0.1)
    assert "molar mass 113.12" in creatinine["conversion"]
    assert creatinine["threshold"] == {
        "written": "> 2 mg/dL",
        "comparator": ">",
        "value": 176.8,
        "unit": "umol/L",
    }
    assert anc["converted"] == {"value": 0.8, "unit": "10*9/L"} and "x 0.001" in anc["conversion"]


def test_hemoglobin_in_mmol_per_litre_converts_through_its_molar_mass():
    # 8.1 mmol/L x 16114.5 g/mol (per haem-bearing monomer) = 130.5 g/L
    trial = Trial("t", [criterion("c1", "inclusion", HEMOGLOBIN)])
    result = screen(trial, {"labs": [lab("hemoglobin", 8.1, "mmol/L")]}, on=ON)
    assert result.status("c1") == "met"


def test_inconvertible_units_give_unknown_with_a_reason():
    trial = Trial("t", [criterion("c1", "inclusion", HEMOGLOBIN)])
    result = screen(trial, {"labs": [lab("hemoglobin", 8.1, "%")]}, on=ON)
    assert result.status("c1") == "unknown"
    assert result.criteria[0].reason
    for unit in (None, "furlongs"):
        assert status_of(trial, {"labs": [lab("hemoglobin", 9, unit)]}) == "unknown"


# --- Missing data, dates and windows --------------------------------------------------------------


def test_missing_data_is_unknown_never_a_silent_decision():
    trial = gold_trial("003_af3fb4ef3103d3e2")
    result = screen(trial, {"labs": []}, on=ON)
    assert result.eligible is None
    assert {r.status for r in result.criteria} == {"unknown"}
    assert all(r.reason for r in result.criteria)


def test_the_most_recent_value_on_or_before_the_screening_date_counts():
    trial = Trial("t", [criterion("c1", "inclusion", ANC)])
    labs = [
        lab("ANC", 500, "/uL", date="2025-01-01"),
        lab("ANC", 1500, "/uL", date="2025-05-01"),
        lab("ANC", 400, "/uL", date="2025-07-01"),  # after the screening date
    ]
    assert status_of(trial, {"labs": labs}) == "met"
    assert status_of(trial, {"labs": labs}, on=date(2025, 3, 1)) == "not_met"


def test_a_time_window_ignores_older_values():
    windowed = criterion("c1", "inclusion", ANC, temporal=[{"iso": "P14D", "comparator": "=="}])
    trial = Trial("t", [windowed])
    old = {"labs": [lab("ANC", 1500, "/uL", date="2025-05-01")]}
    recent = {"labs": [lab("ANC", 1500, "/uL", date="2025-05-25")]}
    result = screen(trial, old, on=ON)
    assert result.status("c1") == "unknown" and "between 2025-05-18" in result.criteria[0].reason
    assert status_of(trial, recent) == "met"


def test_window_start_reads_iso_durations():
    assert window_start(date(2025, 6, 1), "P14D") == date(2025, 5, 18)
    assert window_start(date(2025, 3, 31), "P1M") == date(2025, 2, 28)
    assert window_start(date(2025, 6, 1), "P2W") == date(2025, 5, 18)
    assert window_start(date(2025, 6, 1), "P5Y") == date(2020, 6, 1)
    assert window_start(date(2025, 6, 1), "nonsense") is None


def test_age_is_taken_on_the_screening_date():
    trial = Trial(
        "t", [criterion("c1", "inclusion", threshold("age", ">=", 18, "years", (18, "a")))]
    )
    patient = {"birth_date": "2007-06-15"}
    assert status_of(trial, patient, on=date(2025, 6, 14)) == "not_met"
    assert status_of(trial, patient, on=date(2025, 6, 15)) == "met"
    # a birth year alone straddles the limit in 2025: undecidable
    assert status_of(trial, {"birth_date": "2007"}, on=date(2025, 6, 1)) == "unknown"
    assert status_of(trial, {"birth_date": "2007"}, on=date(2026, 1, 1)) == "met"
    assert status_of(trial, {"labs": []}) == "unknown"


def test_censored_values_decide_only_when_the_bound_does():
    trial = Trial("t", [criterion("c1", "exclusion", CREATININE)])
    below = {
        "resourceType": "Observation",
        "id": "o",
        "code": {"text": "Creatinine"},
        "valueQuantity": {
            "value": 50,
            "comparator": "<",
            "code": "umol/L",
            "system": "http://unitsofmeasure.org",
        },
    }
    above = {**below, "valueQuantity": {**below["valueQuantity"], "comparator": ">"}}
    bundle = {"resourceType": "Bundle", "entry": [{"resource": below}]}
    assert status_of(trial, bundle) == "not_met"
    assert status_of(trial, {"resourceType": "Bundle", "entry": [{"resource": above}]}) == "unknown"
    assert decide(1, 3, ">", 0) is True and decide(1, 3, ">", 2) is None
    assert decide(2, 2, "in", [1, 2]) is True and decide(1, 3, "==", 2) is None


# --- ULN / LLN ------------------------------------------------------------------------------------


def test_uln_limits_use_the_observations_own_reference_range():
    trial = Trial("t", [criterion("c1", "inclusion", ALT_ULN)])

    def alt(high: float | None) -> dict[str, Any]:
        return {"labs": [lab("ALT", 100, "U/L", low=5, high=high)]}

    assert status_of(trial, alt(35)) == "met"  # 100 <= 3 x 35
    assert status_of(trial, alt(30)) == "not_met"  # 100 > 3 x 30
    result = screen(trial, alt(None), on=ON)
    assert result.status("c1") == "unknown" and "no reference range" in result.criteria[0].reason
    evidence = screen(trial, alt(35), on=ON).criteria[0].evidence[0].to_dict()
    assert evidence["threshold"]["value"] == 105
    assert evidence["threshold"]["derivation"].startswith("3 x ULN 35 U/L")
    assert evidence["recorded"]["reference_range"] == {"low": 5, "high": 35, "unit": "U/L"}


def test_offsets_from_uln_and_lln_are_converted_into_the_range_unit():
    calcium = threshold(
        "corrected calcium",
        ">",
        1,
        "mg/dL",
        (0.249513448775, "mmol/L"),
        relative_to="ULN",
        relative_mode="above",
    )
    anemia = threshold(
        "hemoglobin", "<=", 2, "g/dL", (20, "g/L"), relative_to="LLN", relative_mode="below"
    )
    trial = Trial(
        "t", [criterion("c1", "exclusion", calcium), criterion("c2", "exclusion", anemia)]
    )
    high_calcium = lab("corrected calcium", 2.72, "mmol/L", low=2.15, high=2.45)
    low_hb = lab("hemoglobin", 10.0, "g/dL", low=12.5, high=16)
    result = screen(trial, {"labs": [high_calcium, low_hb]}, on=ON)
    assert (result.status("c1"), result.status("c2")) == ("met", "met")  # 10 <= 12.5 - 2
    normal = screen(trial, {"labs": [{**high_calcium, "high": 2.55}, {**low_hb, "low": 11}]}, on=ON)
    assert (normal.status("c1"), normal.status("c2")) == ("not_met", "not_met")


# --- How thresholds combine -----------------------------------------------------------------------


def test_thresholds_joined_by_or_are_alternatives():
    trial = gold_trial("001_2342a196f04e89cb")
    renal_gfr_only = {"labs": [lab("GFR", 30, "mL/min/{1.73_m2}"), lab("creatinine", 1, "mg/dL")]}
    assert status_of(trial, renal_gfr_only, "c10") == "met"
    plan = threshold_plan(next(c for c in trial.criteria if c.id == "c10"))
    assert plan is not None and plan.base is not None and plan.base.op == "or"
    # "involved FLC >= 10 mg/dL and an abnormal ratio (< 0.26 or > 1.65)"
    measurable = gold_trial("000_02f3b0dd42882d09")
    flc = next(c for c in measurable.criteria if c.id == "c8")
    base = threshold_plan(flc).base
    assert base.op == "and" and base.items[1].op == "or"
    patient = {"labs": [lab("involved FLC", 150, "mg/L"), lab("FLC ratio", 2.5)]}
    assert status_of(measurable, patient, "c8") == "met"
    assert (
        status_of(
            measurable, {"labs": [lab("involved FLC", 150, "mg/L"), lab("FLC ratio", 1)]}, "c8"
        )
        == "not_met"
    )


def test_conditional_limits_are_alternatives_that_need_the_condition_on_record():
    trial = gold_trial(
        "001_2342a196f04e89cb"
    )  # c6: total bilirubin <= 3 mg/dL, Gilbert: direct <= 5
    high_total = lab("total bilirubin", 4, "mg/dL")
    direct_ok = lab("direct bilirubin", 1, "mg/dL")
    gilbert = {"conditions": ["Gilbert's syndrome"]}
    assert status_of(trial, {"labs": [lab("total bilirubin", 1, "mg/dL")]}, "c6") == "met"
    assert status_of(trial, {"labs": [high_total, direct_ok]}, "c6") == "unknown"
    assert status_of(trial, {"labs": [high_total, direct_ok], **gilbert}, "c6") == "met"
    too_high = lab("direct bilirubin", 6, "mg/dL")
    assert status_of(trial, {"labs": [high_total, too_high], **gilbert}, "c6") == "not_met"


def test_example_limits_can_show_a_statement_holds_but_not_that_it_fails():
    trial = gold_trial("001_2342a196f04e89cb")  # c18: cardiac disease, e.g. ... LVEF < 40%
    assert threshold_plan(next(c for c in trial.criteria if c.id == "c18")).examples
    assert status_of(trial, {"labs": [lab("LVEF", 35, "%")]}, "c18") == "met"
    assert status_of(trial, {"labs": [lab("LVEF", 60, "%")]}, "c18") == "unknown"


def test_in_comparator_tests_membership():
    ecog = Trial(
        "t", [criterion("c1", "inclusion", threshold("ecog performance status", "in", [0, 1, 2]))]
    )
    assert status_of(ecog, {"labs": [lab("ECOG", 2)]}) == "met"
    assert status_of(ecog, {"labs": [lab("ECOG", 3)]}) == "not_met"


# --- Text evidence --------------------------------------------------------------------------------


def test_conditions_and_drugs_named_plainly_are_met_by_evidence():
    trial = gold_trial("004_52e4482ea3fe8426")
    patient = {
        "conditions": [{"text": "Multiple myeloma", "status": "active"}],
        "medications": [{"text": "Carfilzomib 60 MG Injection", "status": "completed"}],
    }
    result = screen(trial, patient, on=ON)
    assert (result.status("c1"), result.status("c12"), result.eligible) == ("met", "met", False)
    evidence = next(r for r in result.criteria if r.id == "c12").evidence[0].to_dict()
    assert evidence["matched"] == "Carfilzomib" and evidence["kind"] == "medication"
    # named only inside an allergy statement: not evidence
    assert result.status("c13") == "unknown"
    assert "allergy" in next(r for r in result.criteria if r.id == "c13").reason


@pytest.mark.parametrize(
    ("text", "record", "status"),
    [
        ("Uncontrolled hypertension", {"text": "Hypertension", "status": "active"}, "unknown"),
        ("Hypertension", {"text": "Essential hypertension", "status": "active"}, "unknown"),
        ("History of hypertension", {"text": "Hypertension", "status": "resolved"}, "met"),
        ("Active hypertension", {"text": "Hypertension", "status": "resolved"}, "unknown"),
        ("Active hypertension", {"text": "Hypertension", "status": "active"}, "met"),
        ("Hypertension within 6 months", {"text": "Hypertension", "date": "2025-05-01"}, "unknown"),
        ("No hypertension", {"text": "Hypertension"}, "unknown"),
        ("Stroke. Hypertension is allowed", {"text": "Hypertension"}, "unknown"),
        ("Vascular disease, e.g. Hypertension", {"text": "Hypertension"}, "met"),
        ("High-risk hypertension", {"text": "High-risk hypertension", "status": "active"}, "met"),
    ],
)
def test_mentions_count_only_as_plain_statements(text, record, status):
    trial = Trial("t", [criterion("c1", "exclusion", text=text)])
    assert status_of(trial, {"conditions": [record]}) == status


HYPERTENSION = {"text": "Hypertension", "status": "active"}


@pytest.mark.parametrize(
    ("text", "record", "because"),
    [
        ("Hypersensitivity to heparin", {"text": "Heparin"}, "after 'Hypersensitivity'"),
        ("Allergic to heparin", {"text": "Heparin"}, "after 'Allergic'"),
        ("Medication for hypertension", HYPERTENSION, "after 'for'"),
        ("Free of hypertension", HYPERTENSION, "after 'Free of'"),
        ("Poorly controlled hypertension", HYPERTENSION, "to be 'Poorly controlled'"),
        ("Hypertension, high risk", HYPERTENSION, "to be 'high risk'"),
        (
            "Currently treated hypertension",
            {"text": "Hypertension", "status": "resolved"},
            "current",
        ),
        ("Hypertension in the past 2 years", {"text": "Hypertension"}, "time window"),
    ],
)
def test_text_cues_of_the_rule_file_say_why_a_mention_is_not_evidence(text, record, because):
    trial = Trial("t", [criterion("c1", "exclusion", text=text)])
    (result,) = screen(trial, {"conditions": [record]}, on=ON).criteria
    assert result.status == "unknown" and because in result.reason


def test_a_negated_statement_naming_a_record_is_not_met():
    trial = Trial("t", [criterion("c1", "inclusion", text="No prior carfilzomib", negated=True)])
    patient = {"medications": [{"text": "carfilzomib", "status": "completed"}]}
    assert status_of(trial, patient) == "not_met"


def test_structured_time_windows_check_the_record_date():
    trial = Trial(
        "t",
        [
            criterion(
                "c1",
                "exclusion",
                text="Stroke within 6 months",
                temporal=[{"iso": "P6M", "comparator": "=="}],
            )
        ],
    )
    assert status_of(trial, {"conditions": [{"text": "Stroke", "date": "2025-03-01"}]}) == "met"
    assert status_of(trial, {"conditions": [{"text": "Stroke", "date": "2024-03-01"}]}) == "unknown"


def test_contradictory_limits_on_one_analyte_are_unknown_not_a_failure():
    # a permission misread as a requirement: "ANC >= 1000. Patients with ANC < 1000 can be ..."
    below = threshold("absolute neutrophil count", "<", 1000, "/µL", (1, "10*9/L"))
    trial = Trial("t", [criterion("c1", "inclusion", ANC, below)])
    result = screen(trial, {"labs": [lab("ANC", 1500, "/uL")]}, on=ON)
    assert result.status("c1") == "unknown" and "contradict" in result.criteria[0].reason
    ranged = threshold("absolute neutrophil count", "<", 3000, "/µL", (3, "10*9/L"))
    assert (
        status_of(
            Trial("t", [criterion("c1", "inclusion", ANC, ranged)]),
            {"labs": [lab("ANC", 1500, "/uL")]},
        )
        == "met"
    )


def test_structured_sex_field_is_checked_against_patient_gender():
    trial = Trial("t", [Criterion("c1", "inclusion", "sex: FEMALE", None, None, origin="sex")])
    assert status_of(trial, {"sex": "female"}) == "met"
    assert status_of(trial, {"sex": "male"}) == "not_met"
    assert status_of(trial, {"labs": []}) == "unknown"
    volunteers = Criterion("c1", "inclusion", "healthyVolunteers: True", None, None)
    volunteers.origin = "healthyVolunteers"
    assert status_of(Trial("t", [volunteers]), {"labs": []}) == "met"


# --- API ------------------------------------------------------------------------------------------


def test_result_to_dict_is_json_ready_and_has_the_documented_shape():
    result = screen(
        gold_trial("001_2342a196f04e89cb"), PATIENTS / "smm_low_anc_cells_001.json", on=ON
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["eligible"] is False and data["on"] == "2025-06-01"
    row = next(c for c in data["criteria"] if c["id"] == "c4")
    assert set(row) >= {"id", "status", "evidence", "reason"}
    assert row["status"] == "not_met" and row["evidence"][0]["recorded"]["unit"] == "{cells}/uL"
    assert {c["status"] for c in data["criteria"]} <= {"met", "not_met", "unknown"}


def test_screen_accepts_a_trial_dict_and_is_exposed_on_the_package():
    data = json.loads(T001.read_text(encoding="utf-8"))
    result = pipeline.screen(data, {"labs": [lab("ANC", 500, "/uL")]}, on=ON)
    assert isinstance(result, ScreeningResult) and result.status("c4") == "not_met"
    with pytest.raises(InputError):
        screen({"trial_id": "x"}, {"labs": []})


def test_importing_screening_does_not_import_spacy():
    code = (
        "import sys, pipeline.screening, pipeline.export, pipeline.patient;"
        "print('spacy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_parsed_trial_screens_end_to_end():
    text = (ROOT / "corpus" / "seeds" / "001_2342a196f04e89cb.txt").read_text(encoding="utf-8")
    trial = pipeline.parse(text, trial_id="001")
    result = screen(trial, PATIENTS / "smm_low_anc_cells_001.json", on=ON)
    anc = next(
        r
        for r in result.criteria
        if any(e.analyte == "absolute neutrophil count" for e in r.evidence)
    )
    assert anc.section == "inclusion" and anc.status == "not_met"
    assert anc.evidence[0].converted == {"value": 0.8, "unit": "10*9/L"}
    assert result.eligible is False


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_screen_prints_json(capsys):
    patient = PATIENTS / "smm_creatinine_umol_001.json"
    code = main(["screen", str(T001), str(patient), "--date", "2025-06-01", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["eligible"] is False
    assert next(c for c in data["criteria"] if c["id"] == "c10")["status"] == "met"


def test_cli_screen_prints_a_table(capsys):
    patient = PATIENTS / "smm_in_range_001.json"
    assert main(["screen", str(T001), str(patient), "--date", "2025-06-01"]) == 0
    out = capsys.readouterr().out
    assert "UNDECIDED (open: c3" in out
    assert any(line.split()[:3] == ["c9", "exclusion", "not_met"] for line in out.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["screen", str(T001), str(GOLD / "000_02f3b0dd42882d09.json")], "not a patient record"),
        (["screen", str(T001), "missing.json"], "no such file"),
        (
            ["screen", str(T001), str(PATIENTS / "smm_in_range_001.json"), "--date", "01/06/2025"],
            "--date",
        ),
        (["screen", "missing-trial.json", str(PATIENTS / "smm_in_range_001.json")], "no such file"),
    ],
)
def test_cli_screen_errors_are_one_line_with_a_non_zero_exit(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_screen_reports_a_bad_patient_file_from_a_subprocess(tmp_path):
    bad = tmp_path / "patient.json"
    bad.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "screen", str(T001), str(bad)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("error: ") and "invalid JSON" in run.stderr
    assert run.stderr.count("\n") == 1
