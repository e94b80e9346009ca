"""Threshold forms end to end (parse), hand-written in the shapes registries use."""

from __future__ import annotations

import pytest

import pipeline


def thresholds(line: str) -> list[tuple]:
    trial = pipeline.parse("Inclusion Criteria:\n* " + line + "\n")
    (c,) = trial.criteria
    return [(t.analyte, t.comparator, t.value, t.unit) for t in c.thresholds]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Age ≥ 18 and ≤ 90 years", [("age", ">=", 18, "years"), ("age", "<=", 90, "years")]),
        (
            "Age below 18 years or above 80 years",
            [("age", "<", 18, "years"), ("age", ">", 80, "years")],
        ),
        ("Between the ages of 18 and 65", [("age", ">=", 18, None), ("age", "<=", 65, None)]),
        ("18 and 65 years old", [("age", ">=", 18, "years"), ("age", "<=", 65, "years")]),
        ("Younger than 18 years", [("age", "<", 18, "years")]),
        ("Under the age of 18", [("age", "<", 18, None)]),
        ("Men or women, 40 years and older", [("age", ">=", 40, "years")]),
        ("Minimum Age: 18 Years", [("age", ">=", 18, "Years")]),
        ("18-35-year-old women", [("age", ">=", 18, "year"), ("age", "<=", 35, "year")]),
        ("Life expectancy of at least 3 months", [("life expectancy", ">=", 3, "months")]),
        (
            "Blood pressure < 140/90 mmHg",
            [
                ("systolic blood pressure", "<", 140, "mmHg"),
                ("diastolic blood pressure", "<", 90, "mmHg"),
            ],
        ),
        ("NYHA class III or IV", [("nyha class", "in", [3, 4], None)]),
        ("ECOG performance status 0, 1 or 2", [("ecog performance status", "in", [0, 1, 2], None)]),
        ("Peripheral neuropathy ≥ grade 2", [("ctcae grade", ">=", 2, None)]),
        ("Fasting glucose < 7,0 mmol/l", [("fasting glucose", "<", 7.0, "mmol/l")]),
        ("Serum creatinine > 1.5 × ULN", [("creatinine", ">", 1.5, None)]),
        (
            "AST/ALT ≤ 3 x ULN",
            [
                ("aspartate aminotransferase", "<=", 3, None),
                ("alanine aminotransferase", "<=", 3, None),
            ],
        ),
        ("At least 2 prior lines of therapy", [("prior lines of therapy", ">=", 2, None)]),
        (
            "1 to 3 prior lines of therapy",
            [("prior lines of therapy", ">=", 1, None), ("prior lines of therapy", "<=", 3, None)],
        ),
        (
            "Hemoglobin A1c between 7.0% and 10.5%",
            [("hemoglobin a1c", ">=", 7.0, "%"), ("hemoglobin a1c", "<=", 10.5, "%")],
        ),
        (
            "Body mass index 18.5 to 30 kg/m2",
            [("body mass index", ">=", 18.5, "kg/m2"), ("body mass index", "<=", 30, "kg/m2")],
        ),
    ],
)
def test_forms(line, expected):
    assert thresholds(line) == expected


def test_gilbert_alternative_carries_its_condition():
    trial = pipeline.parse(
        "Inclusion Criteria:\n* Total bilirubin < 1.5 × ULN, or < 3 × ULN in patients with "
        "Gilbert's syndrome\n"
    )
    got = [(t.value, t.relative_to, t.condition) for t in trial.criteria[0].thresholds]
    assert got == [(1.5, "ULN", None), (3, "ULN", "in patients with Gilbert's syndrome")]


def test_hba1c_mmol_per_mol_converts_by_the_master_equation():
    ((analyte, comparator, value, unit),) = thresholds("HbA1c ≤ 64 mmol/mol")
    trial = pipeline.parse("Inclusion Criteria:\n* HbA1c ≤ 64 mmol/mol\n")
    norm = trial.criteria[0].thresholds[0].normalized
    assert (analyte, norm.unit) == ("hemoglobin a1c", "%")
    assert norm.value == pytest.approx(0.09148 * 64 + 2.152, rel=1e-3)
    assert "IFCC" in norm.conversion or "0.09148" in norm.conversion


def test_value_without_comparator_is_kept_only_after_its_name_and_flagged():
    trial = pipeline.parse("Inclusion Criteria:\n* PSA 20 ng/ml\n* Take 10 mg of the drug\n")
    (psa,) = trial.criteria[0].thresholds
    assert (psa.analyte, psa.comparator, psa.value) == ("prostate-specific antigen", "==", 20)
    assert "no comparator" in psa.warnings[0]
    assert trial.criteria[1].thresholds == []


def test_a_space_lost_after_than():
    assert thresholds("Haemoglobin equal to or greater than100 g/L") == [
        ("hemoglobin", ">=", 100, "g/L")
    ]
