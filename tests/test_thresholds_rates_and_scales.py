"""Thresholds on rates, scores out of a scale, and measures named after the value (issue 4).

Hand-written criteria in the style of the seeds; pure functions, no spaCy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import PatternError
from pipeline.text import clean
from pipeline.thresholds import (
    Mention,
    expand,
    extract,
    find_comparisons,
    load_comparator_rules,
)
from pipeline.units import rate_words, same_unit

PATTERNS = Path(__file__).resolve().parents[1] / "patterns"


def comparisons(text: str) -> list[tuple]:
    """(comparator, value, unit, temporal) of every comparison, ranges split."""
    return [
        (c.comparator, c.value, c.unit, c.temporal) for c in expand(find_comparisons(clean(text)))
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # a time unit with a denominator is a rate, not a window
        ("Exercise for more than 5 hours per week", [(">", 5, "hours per week", False)]),
        ("Heartburn on at least 3 days a week", [(">=", 3, "days a week", False)]),
        (
            "Moderate activity 2 to 4 h per week",
            [(">=", 2, "h per week", False), ("<=", 4, "h per week", False)],
        ),
        ("Surgery within 4 weeks", [("==", 4, "weeks", True)]),
        # counted things in a rate, with one qualifying word
        (
            "Consumes more than 3 alcoholic drinks per day",
            [(">", 3, "alcoholic drinks per day", False)],
        ),
        ("Smokes at least 10 cigarettes a day", [(">=", 10, "cigarettes a day", False)]),
        ("More than 4 seizures in a month", [(">", 4, "seizures in a month", False)]),
        ("Headaches more than two times per month", [(">", 2, "times per month", False)]),
        # a score out of a scale keeps the scale as its unit; a blood pressure does not
        ("Average pain ≥ 4/10", [(">=", 4, "/10", False)]),
        ("Dyspnoea score of at least 30/100", [(">=", 30, "/100", False)]),
        ("Systolic BP ≥140/100", [(">=", 140, None, False)]),
        # time units behind a qualifier; a capital D is a dioptre, not a day
        ("Delivery ≥ 34 gestational weeks", [(">=", 34, "weeks", True)]),
        ("Lens power 16 to 25 D", [(">=", 16, "D", False), ("<=", 25, "D", False)]),
        ("Symptoms for more than 3 d", [(">", 3, "d", True)]),
        # units written with a space or an exponent, seconds and standard deviations
        ("PEEP <10 cm H2O", [("<", 10, "cm H2O", False)]),
        ("Nodule volume greater than 1.5 cm3", [(">", 1.5, "cm3", False)]),
        ("Time to peak >8s", [(">", 8, "s", False)]),
        ("Bone density T-score ≤ -2.5 SD", [("<=", -2.5, "SD", False)]),
        # "beyond" is a bound; a set takes the unit after its last member
        ("Mouth opening beyond 40 mm", [(">", 40, "mm", False)]),
        ("Thresholds at 500, 1000 and 2000 Hz", [("in", [500, 1000, 2000], "Hz", False)]),
    ],
)
def test_rate_scale_and_unit_forms(text, expected):
    assert comparisons(text) == expected


def names(text: str, mentions: list[Mention] | None = None, **kw) -> list[tuple]:
    """(analyte text, comparator, value) of every threshold found in ``text``."""
    return [
        (f.analyte.text, f.comparison.comparator, f.comparison.value)
        for f in extract(clean(text), mentions or [], **kw)
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # an instrument named after the value measures it
        (
            "Depressive symptoms with a score of ≥ 18 on the Hamilton depression rating scale",
            [("Hamilton depression rating scale", ">=", 18)],
        ),
        (
            "Fatigue ≥ 5/10 on the Brief Fatigue Inventory (BFI) at screening",
            [("Brief Fatigue Inventory (BFI)", ">=", 5)],
        ),
        (
            "At least 60% word recognition in the Hearing In Noise Test in quiet",
            [("Hearing In Noise Test", ">=", 60)],
        ),
        # ... but never instead of a named age or lexicon analyte
        ("Age ≥ 18 years on the day of the screening test", [("≥ 18 years", ">=", 18)]),
        # a measure with a unit and no name before it takes the words after it
        ("At least 5 mm pocket depth at two sites", [("pocket depth", ">=", 5)]),
        ("≥ 75% pill count adherence", [("pill count adherence", ">=", 75)]),
        # a scale whose range is given in parentheses keeps its name for both
        (
            "MADRS total score (range 0-60) ≥ 22 at screening",
            [("MADRS", ">=", 0), ("MADRS", "<=", 60), ("MADRS", ">=", 22)],
        ),
        # a bare bound after only whom it applies to is an age
        ("Participants < 16", [("< 16", "<", 16)]),
        (
            "serum FLC ratio (<0.26 or >1.65)",
            [("serum FLC ratio", "<", 0.26), ("serum FLC ratio", ">", 1.65)],
        ),
        # words that only join a limit are not its name
        ("Have less than 6 g/dL hemoglobin", [("hemoglobin", "<", 6)]),
    ],
)
def test_measure_names(text, expected):
    assert names(text) == expected


def test_a_name_with_its_own_limit_is_not_taken_by_the_limit_before_it():
    text = "more than 0.1 ug/kg/min and lactate > 2 mmol/L"
    lactate = Mention(text.index("lactate"), text.index("lactate") + 7, "lactate", "lactate")
    assert names(text, [lactate]) == [("lactate", ">", 2)]


@pytest.mark.parametrize(
    "text, mention",
    [
        ("A minimum life expectancy of 12 weeks", ("life expectancy", "life expectancy")),
        ("Delivery ≥ 34 gestational weeks", ("gestational weeks", "gestational age")),
    ],
)
def test_a_time_measure_named_inside_the_comparison_is_a_threshold(text, mention):
    words, name = mention
    start = text.index(words)
    m = Mention(start, start + len(words), name, words)
    found = extract(text, [m], time_analytes=frozenset({name}))
    assert [(f.analyte.name, f.comparison.unit) for f in found] == [
        (name, "weeks" if "weeks" in text else None)
    ]
    assert extract(text, [m]) == []  # without the lexicon's say-so it stays a window


@pytest.mark.parametrize(
    "unit_a, unit_b, same",
    [
        ("cigarettes/day", "cigarettes a day", True),
        ("cigarettes/day", "cigarettes in a day", True),
        ("/week", "times per week", True),
        ("/week", "times a week", True),
        ("days/week", "days a week", True),
        ("mg/day", "mg daily", True),
        ("servings/day", "servings per day", True),
        ("drinks/week", "drinks weekly", True),
        ("/week", "/month", False),
        ("cigarettes/day", "cigarettes/week", False),
    ],
)
def test_rates_written_in_words_are_the_same_unit(unit_a, unit_b, same):
    assert same_unit(unit_a, unit_b) is same


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda body: body.pop("daily_sample"), "daily_sample"),
        (lambda body: body.__setitem__("daily_sample", "24 (h"), "daily_sample"),
        (lambda body: body["units"].pop("score_scale"), "score_scale"),
        (lambda body: body["units"].__setitem__("counted", ["drinks", "("]), "units.counted"),
    ],
)
def test_bad_comparator_rules_are_named(edited_rule_file, edit, message):
    path = edited_rule_file("comparators.json", edit)
    with pytest.raises(PatternError, match=message) as err:
        load_comparator_rules(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda body: body["units"].pop("rate_words"), r"units\.rate_words"),
        (lambda body: body["units"]["rate_words"][0].pop("replacement"), "replacement"),
        (
            lambda body: body["units"]["rate_words"][0].__setitem__("pattern", "a (day"),
            r"units\.rate_words\[0\]",
        ),
    ],
)
def test_bad_rate_words_are_named(edited_rule_file, edit, message):
    path = edited_rule_file("comparators.json", edit)
    with pytest.raises(PatternError, match=message) as err:
        rate_words(path)
    assert str(path) in str(err.value)


def test_a_24_hour_sample_is_read_from_the_rules():
    text = "Urine protein ≥ 200 mg in a 24 hour collection"
    (c,) = find_comparisons(text)
    assert c.daily_sample
    (c,) = find_comparisons("Urine protein ≥ 200 mg in a spot sample")
    assert not c.daily_sample
