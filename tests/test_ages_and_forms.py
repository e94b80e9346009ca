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
        ("Younger than age of 13 years old or", [("age", "<", 13, "years")]),  # NCT03924037
        ("Men or women, 40 years and older", [("age", ">=", 40, "years")]),
        # NCT03928951: a years quantity right after who it applies to is an age
        (
            "Every patient more than 18 years who was administered antibiotherapy",
            [("age", ">", 18, "years")],
        ),
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


@pytest.mark.parametrize(
    "line, expected",
    [
        # a score stated without a bound, after "of" / ":" / "was"
        (
            "Normal cognition: Clinical Dementia Rating of 0 and MMSE score of 26",
            [
                ("clinical dementia rating", "==", 0, None),
                ("mini-mental state examination", "==", 26, None),
            ],
        ),
        # a bare number after a lab is no stated value (labs need a unit)
        ("Hemoglobin of 9", []),
        # durations that measure something: both bounds of a range, and "mins"
        (
            "Average menstrual cycle 21-35 days",
            [
                ("menstrual cycle length", ">=", 21, "days"),
                ("menstrual cycle length", "<=", 35, "days"),
            ],
        ),
        (
            "Less than 30 mins of morning stiffness",
            [("morning stiffness duration", "<", 30, "mins")],
        ),
        # a bracketed range before its unit, named by the words that start at the unit
        (
            "Pregnant women between (16-24) weeks of gestation",
            [("gestational age", ">=", 16, "weeks"), ("gestational age", "<=", 24, "weeks")],
        ),
        # ASA physical status under its usual names
        (
            "American Society of Anesthesiologists (ASA) category I or II",
            [("asa physical status", "in", [1, 2], None)],
        ),
        ("ASA score ≤ 2", [("asa physical status", "<=", 2, None)]),
        # a run-in list number after a class is no class value ("... 0 or 1 5. An adequate")
        (
            "ECOG performance status of 0 or 1 5. An adequate bone marrow",
            [("ecog performance status", "in", [0, 1], None)],
        ),
        # Roman numerals come from comparators.json, beyond V
        ("Tanner stage VI excluded", [("tanner stage", "==", 6, None)]),
        # a count whose counted thing carries a limit of its own
        (
            "At least 2 lymph nodes > 1 cm",
            [("lymph nodes", ">=", 2, None), ("lymph nodes", ">", 1, "cm")],
        ),
    ],
)
def test_stated_scores_durations_and_asa(line, expected):
    assert thresholds(line) == expected


def test_both_age_bounds_take_the_age_named_after_the_second():
    """ "> 18 and < 60 years of age": "years of age" names both bounds."""
    trial = pipeline.parse("Inclusion Criteria:\n* Male or female > 18 and < 60 years of age\n")
    (c,) = trial.criteria
    assert [(t.analyte_text, t.comparator, t.value) for t in c.thresholds] == [
        ("years of age", ">", 18),
        ("years of age", "<", 60),
    ]
