"""The comparison grammar on real criteria text (no spaCy: pure functions)."""

from __future__ import annotations

import pytest

from pipeline.text import clean
from pipeline.thresholds import (
    Mention,
    expand,
    extract,
    find_comparisons,
    parse_comparator,
    parse_number,
)


def comparisons(text: str) -> list[tuple]:
    t = clean(text)
    return [
        (c.comparator, c.value, c.unit, c.relative_to, c.relative_mode)
        for c in expand(find_comparisons(t))
        if not c.temporal
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # seeds
        ("Serum M protein ≥ 0.5 g/dL (≥5 g/L).", [(">=", 0.5, "g/dL", None, None)]),
        ("Urine M protein ≥ 200 mg/24 hours.", [(">=", 200, "mg/24 hours", None, None)]),
        ("Platelets ≥50,000/µL (50 × 10\\^9/L)", [(">=", 50000, "/µL", None, None)]),
        ("direct bilirubin should be -≤5 mg/dL", [("<=", 5, "mg/dL", None, None)]),
        (
            "Alanine aminotransferase ≤3× upper limit of normal (ULN)",
            [("<=", 3, None, "ULN", "multiple")],
        ),
        ("Corrected serum calcium \\>1 mg/dL above the ULN", [(">", 1, "mg/dL", "ULN", "above")]),
        ("hemoglobin 2 g/dL below lower limit of normal", [("<=", 2, "g/dL", "LLN", "below")]),
        ("GFR \\<40 mL/min/1.73 m²", [("<", 40, "mL/min/1.73 m²", None, None)]),
        (
            "clonal bone marrow plasma cells (BMPCs) 10% to \\<60%",
            [(">=", 10, "%", None, None), ("<", 60, "%", None, None)],
        ),
        ("ECOG Performance Status 0 or 1 or 2", [("in", [0, 1, 2], None, None, None)]),
        ("ECOG PS 0, 1, or 2", [("in", [0, 1, 2], None, None, None)]),
        ("Participant must be above 18 years of age", [(">", 18, "years", None, None)]),
        (
            "Serum bilirubin values \\< 1.5 × ULN",
            [("<", 1.5, None, "ULN", None)][:0] + [("<", 1.5, None, "ULN", "multiple")],
        ),
        # forms from issue 4
        (
            "BMI between 18.5 and 30 kg/m2",
            [(">=", 18.5, "kg/m2", None, None), ("<=", 30, "kg/m2", None, None)],
        ),
        (
            "fasting glucose 100-126 mg/dl",
            [(">=", 100, "mg/dl", None, None), ("<=", 126, "mg/dl", None, None)],
        ),
        (
            "glucose 70~120 mg/dL",
            [(">=", 70, "mg/dL", None, None), ("<=", 120, "mg/dL", None, None)],
        ),
        (
            "HbA1c 6.1 to 7.0 mmol / L",
            [(">=", 6.1, "mmol / L", None, None), ("<=", 7.0, "mmol / L", None, None)],
        ),
        ("creatinine not more than 1.5 mg/dL", [("<=", 1.5, "mg/dL", None, None)]),
        ("hemoglobin not less than 9 g/dL", [(">=", 9, "g/dL", None, None)]),
        ("AST no greater than 3 x ULN", [("<=", 3, None, "ULN", "multiple")]),
        ("ANC >/= 1.5 x 10^9/L", [(">=", 1.5, "x 10^9/L", None, None)]),
        ("platelets => 100,000/mm3", [(">=", 100000, "/mm3", None, None)]),
        # "=<" is one symbol; "= <1" states the value as "< 1"
        ("creatinine =< 1.5 mg/dL", [("<=", 1.5, "mg/dL", None, None)]),
        ("item score = <1", [("<", 1, None, None, None)]),
        ("WBC ≧ 3000/mm³", [(">=", 3000, "/mm³", None, None)]),
        ("WBC ≥ 3.0 x109/L", [(">=", 3.0, "x109/L", None, None)]),
        ("bilirubin > twice the upper limit of normal", [(">", 2, None, "ULN", "multiple")]),
        ("ALT three times the upper limit of normal or less", [("<=", 3, None, "ULN", "multiple")]),
        ("aged 18 years or older", [(">=", 18, "years", None, None)]),
        ("18 years of age and older", [(">=", 18, "years", None, None)]),
        ("life expectancy of at least 3 months", [(">=", 3, "months", None, None)][:0]),
        ("at least 2 prior lines of therapy", [(">=", 2, None, None, None)]),
        ("blood pressure up to 140 mmHg", [("<=", 140, "mmHg", None, None)]),
        ("LVEF inferior to 40%", [("<", 40, "%", None, None)]),
    ],
)
def test_comparison_forms(text, expected):
    assert comparisons(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Prior anti-cancer therapy within 14 days.",
        "Allogeneic stem cell transplant \\<12 months prior to initiation of study treatment",
        "NCI-CTCAE v5.0 and anti-CD38 in Phase 3",
    ],
)
def test_time_windows_and_identifiers_are_not_thresholds(text):
    assert comparisons(text) == []


def test_time_windows_are_temporal():
    found = find_comparisons(clean("Major surgery within 4 weeks prior to C1D1."))
    assert [(c.value, c.unit, c.temporal) for c in found] == [(4, "weeks", True)]


def test_parenthesised_equivalent_is_kept_not_duplicated():
    (c,) = find_comparisons(clean("Involved FLC assay ≥ 10 mg/dL (≥ 100 mg/L) and"))
    assert (c.value, c.unit) == (10, "mg/dL")
    unit_span = c.equivalent.pop("unit_span")
    assert c.equivalent == {"value": 100, "unit": "mg/L", "comparator": ">="}
    assert unit_span == (37, 41)  # where the restated unit is written


def test_alternative_in_parentheses_is_a_second_threshold_with_condition():
    text = clean("Serum M-protein ≥1 g/dL (≥0.5 g/dL in case of immunoglobulin A [IgA] disease)")
    mention = Mention(0, 15, "serum m-protein", "Serum M-protein")
    found = extract(text, [mention])
    assert [(f.comparison.value, f.comparison.condition) for f in found] == [
        (1, None),
        (0.5, "in case of immunoglobulin A [IgA] disease"),
    ]
    assert all(f.analyte.name == "serum m-protein" for f in found)


def test_shared_limit_gives_one_threshold_per_analyte():
    text = "AST and ALT ≤ 2.5 x ULN"
    mentions = [
        Mention(0, 3, "aspartate aminotransferase", "AST"),
        Mention(8, 11, "alanine aminotransferase", "ALT"),
    ]
    found = extract(text, mentions)
    assert [(f.analyte.name, f.comparison.value) for f in found] == [
        ("aspartate aminotransferase", 2.5),
        ("alanine aminotransferase", 2.5),
    ]


def test_condition_on_alternative_limit():
    text = "Serum bilirubin < 1.5 × ULN, or < 3 × ULN in patients with Gilbert's syndrome"
    found = extract(text, [Mention(0, 15, "total bilirubin", "Serum bilirubin")])
    assert [(f.comparison.value, f.comparison.condition) for f in found] == [
        (1.5, None),
        (3, "in patients with Gilbert's syndrome"),
    ]


def test_analyte_after_the_comparison():
    text = "≥ 1 bone lytic lesion"
    found = extract(text, [Mention(4, 21, "bone lesions", "bone lytic lesion")])
    assert [(f.analyte.name, f.comparison.comparator, f.comparison.value) for f in found] == [
        ("bone lesions", ">=", 1)
    ]


def test_unknown_analyte_falls_back_to_the_words_before():
    found = extract("Karnofsky-like frailty index ≥ 0.25", [])
    assert [(f.analyte.name, f.comparison.value) for f in found] == [
        ("karnofsky-like frailty index", 0.25)
    ]


@pytest.mark.parametrize(
    "text, symbol",
    [
        ("no more than", "<="),
        ("at least", ">="),
        ("inferior to", "<"),
        ("above", ">"),
        ("greater than or equal to", ">="),
        ("up to", "<="),
        ("or more", ">="),
        ("≤", "<="),
    ],
)
def test_parse_comparator(text, symbol):
    assert parse_comparator(text) == symbol


@pytest.mark.parametrize("text, value", [("50,000", 50000), ("1.5", 1.5), ("two", 2), ("x", None)])
def test_parse_number(text, value):
    assert parse_number(text) == value


def test_life_expectancy_is_a_threshold_not_a_window():
    text = "Life expectancy of at least 3 months"
    mention = Mention(0, 15, "life expectancy", "Life expectancy")
    found = extract(text, [mention], time_analytes=frozenset({"life expectancy"}))
    assert [(f.comparison.comparator, f.comparison.value, f.comparison.unit) for f in found] == [
        (">=", 3, "months")
    ]
    assert extract(text, [mention]) == []  # without the lexicon's say-so it is a window


def test_a_generic_score_takes_the_scale_named_after_it():
    text = "a score of 3 or 4 on the Wrinkle Severity Rating Scale (WSRS) at baseline"
    found = extract(text, [])
    assert [(f.analyte.text, f.comparison.comparator, f.comparison.value) for f in found] == [
        ("Wrinkle Severity Rating Scale (WSRS)", "in", [3, 4])
    ]


def test_a_count_takes_the_words_after_it():
    found = extract(
        "Aged 3.5 years (42 months), with at least 2 fully erupted teeth and enrolled", []
    )
    assert [(f.analyte.text, f.comparison.comparator, f.comparison.value) for f in found] == [
        ("fully erupted teeth", ">=", 2)
    ]
