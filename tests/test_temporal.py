"""Temporal windows as ISO 8601 durations with direction and anchor (pure functions, no spaCy).

Numeric windows come from the threshold grammar (``find_comparisons``, ``temporal`` True) and
are described with ``temporal.describe``; windows without a number come from ``find_windows``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from pipeline import temporal
from pipeline.errors import PatternError
from pipeline.rules import PATTERNS_DIR, load_rule_file
from pipeline.temporal import (
    describe,
    find_windows,
    iso_duration,
    load_temporal_rules,
    shifted,
    unit_of,
)
from pipeline.text import clean
from pipeline.thresholds import find_comparisons

KEYS = ("iso", "direction", "anchor", "anchor_text", "relation")


def described(text: str) -> dict[str, dict[str, Any]]:
    """Every numeric window of a statement, keyed by the quantity as written."""
    t = clean(text)
    return {
        text[c.start : c.end]: describe(t, c.start, c.end, c.value, c.unit or "", c.comparator)
        for c in find_comparisons(t)
        if c.temporal
    }


def picked(window: dict[str, Any], keys: tuple[str, ...] = KEYS) -> tuple[Any, ...]:
    return tuple(window[k] for k in keys)


# --- numeric windows on real seed criteria --------------------------------------------------


@pytest.mark.parametrize(
    "text, quantity, expected",
    [
        # a "<" on a time before an anchor is a "within" window
        (
            "Allogeneic stem cell transplant \\<12 months prior to initiation of study treatment "
            "and who have not discontinued immunosuppressive treatment for at least four weeks "
            "prior to initiation of study treatment",
            "<12 months",
            (
                "P12M",
                "before",
                "start of study treatment",
                "initiation of study treatment",
                "within",
            ),
        ),
        (
            "Allogeneic stem cell transplant \\<12 months prior to initiation of study treatment "
            "and who have not discontinued immunosuppressive treatment for at least four weeks "
            "prior to initiation of study treatment",
            "at least four weeks",
            (
                "P4W",
                "before",
                "start of study treatment",
                "initiation of study treatment",
                "at_least",
            ),
        ),
        (
            "Autologous stem cell transplant \\<6 months prior to start of treatment",
            "<6 months",
            ("P6M", "before", "start of study treatment", "start of treatment", "within"),
        ),
        (
            "Major surgery within 4 weeks prior to C1D1.",
            "4 weeks",
            ("P4W", "before", "start of study treatment", "C1D1", "within"),
        ),
        (
            "Uncontrolled infection within 28 days prior to randomization in Phase 3 or first "
            "study intervention administration in safety run-in",
            "28 days",
            ("P28D", "before", "randomization", "randomization", "within"),
        ),
        (
            "Plasmapheresis within seven days prior to start of study treatment.",
            "seven days",
            ("P7D", "before", "start of study treatment", "start of study treatment", "within"),
        ),
        (
            "Malignancy within 3 years prior to enrollment.",
            "3 years",
            ("P3Y", "before", "enrollment", "enrollment", "within"),
        ),
        (
            "Vaccination with a live vaccine 4 weeks before the start of the study drug.",
            "4 weeks",
            ("P4W", "before", "start of study treatment", "start of the study drug", "within"),
        ),
        (
            "Has received a live-virus vaccination within 30 days of planned treatment start.",
            "30 days",
            ("P30D", "before", "start of study treatment", "treatment start", "within"),
        ),
        (
            "have a negative highly sensitive serum pregnancy test within 72 hours before the "
            "first dose of study intervention",
            "72 hours",
            ("PT72H", "before", "first dose", "first dose of study intervention", "within"),
        ),
        (
            "Progression after initial response on anti-CD38 therapy with a washout period "
            "inferior to 9 months before the first dose of isatuximab SC or IV.",
            "inferior to 9 months",
            ("P9M", "before", "first dose", "first dose", "within"),
        ),
        (
            "G-CSF is not permitted within 14 days of screening.",
            "14 days",
            ("P14D", "before", "screening", "screening", "within"),
        ),
        # "within N of" a past clinical event: after it
        (
            "Disease progression on or within 60 days of completion of last therapy.",
            "60 days",
            ("P60D", "after", "end of treatment", "completion of last therapy", "within"),
        ),
        (
            "refractory to anti-CD38 treatment defined as progression on or within 60 days of the "
            "last dose of the anti-CD38",
            "60 days",
            ("P60D", "after", "last dose", "last dose", "within"),
        ),
        # a state held for the whole window after the anchor
        (
            "agree to use a highly effective method of contraception during the study and for 4 "
            "months after the last dose of belantamab mafodotin",
            "4 months",
            ("P4M", "after", "last dose", "last dose", "throughout"),
        ),
        (
            "Male participants must refrain from donating sperm for 6 months after the last dose "
            "of study drug.",
            "6 months",
            ("P6M", "after", "last dose", "last dose", "throughout"),
        ),
        (
            "spermicidal foam/gel/film/cream/suppository for 6 months after receiving the last "
            "dose of study drug.",
            "6 months",
            ("P6M", "after", "last dose", "last dose", "throughout"),
        ),
        (
            "use approved contraception methods while receiving study treatment, during dose "
            "interruptions and at least 5 months following study treatment discontinuation",
            "at least 5 months",
            ("P5M", "after", "end of treatment", "study treatment discontinuation", "at_least"),
        ),
        (
            "defined as aviremia at least 12 weeks after completion of antiviral therapy)",
            "at least 12 weeks",
            ("P12W", "after", "end of treatment", "completion of antiviral therapy", "at_least"),
        ),
        # deictic windows: counted back from the eligibility assessment (implied screening)
        (
            "Prior therapy with anti-CD38 monoclonal antibody within six months.",
            "six months",
            ("P6M", "before", "screening", None, "within"),
        ),
        (
            "Prior anti-cancer therapy within 14 days.",
            "14 days",
            ("P14D", "before", "screening", None, "within"),
        ),
        (
            "Recent (within the preceding 6 months) myocardial infarction or stroke",
            "6 months",
            ("P6M", "before", "screening", None, "within"),
        ),
        (
            "Diabetes mellitus with \\> 2 episodes of ketoacidosis in the preceding 12 months",
            "12 months",
            ("P12M", "before", "screening", None, "within"),
        ),
        (
            "Participants who are diagnosed within 5 years with SMM",
            "5 years",
            ("P5Y", "before", "screening", None, "within"),
        ),
        (
            "those who have not recovered from adverse events due to agents administered more than "
            "2 weeks earlier.",
            "more than 2 weeks",
            ("P2W", "before", "screening", None, "at_least"),
        ),
        # "in the last 2 months" with a written anchor after it
        (
            "being under immunosuppressive therapy in the last 2 months previously to the "
            "inclusion in the trial.",
            "2 months",
            ("P2M", "before", "enrollment", "inclusion in the trial", "within"),
        ),
        # durations with no anchor
        (
            "Patients who have been amenorrhoeic for \\< 2 years without history of a hysterectomy",
            "< 2 years",
            ("P2Y", None, None, None, "at_most"),
        ),
        (
            "has been free of the disease for ≥ 3 years.",
            "≥ 3 years",
            ("P3Y", None, None, None, "at_least"),
        ),
        (
            "≥ 200 mg of monoclonal protein in the urine on 24 hour electrophoresis",
            "24 hour",
            ("PT24H", None, None, None, "exactly"),
        ),
    ],
)
def test_seed_windows(text, quantity, expected):
    assert picked(described(text)[quantity]) == expected


def test_in_the_last_two_months_alone_is_before_implied_screening():
    got = described("under immunosuppressive therapy in the last 2 months")["2 months"]
    assert picked(got) == ("P2M", "before", "screening", None, "within")


def test_whichever_is_longer_keeps_both_windows_and_takes_the_max():
    text = (
        "Received any investigational drug within 14 days or 5 half-lives of the investigational "
        "drug, whichever is longer."
    )
    got = described(text)["14 days"]
    assert picked(got) == ("P14D", "before", "screening", None, "within")
    assert got["combine"] == "max"
    [alt] = got["alternatives"]
    assert (alt["text"], alt["iso"], alt["value"], alt["unit"]) == (
        "5 half-lives",
        None,
        5,
        "half-life",
    )
    assert text[alt["start"] : alt["end"]] == "5 half-lives"
    assert (alt["direction"], alt["relation"]) == ("before", "within")


def test_half_lives_first_whichever_is_shorter_then_anchor():
    text = (
        "Investigational agent within 5 half-lives or 28 days, whichever is shorter, prior to "
        "the first dose"
    )
    got = described(text)["28 days"]
    assert picked(got) == ("P28D", "before", "first dose", "first dose", "within")
    assert got["combine"] == "min"
    assert [(a["value"], a["unit"]) for a in got["alternatives"]] == [(5, "half-life")]
    assert find_windows(clean(text)) == []  # the half-life window is the alternative, not a new one


def test_or_without_a_combination_rule():
    got = described("No investigational agent within 4 weeks or 5 PK half-lives")["4 weeks"]
    assert got["combine"] is None
    assert [(a["text"], a["unit"]) for a in got["alternatives"]] == [
        ("5 PK half-lives", "half-life")
    ]


# --- hand-written edge cases ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, quantity, expected",
    [
        (
            "Stroke within 6 months of diagnosis",
            "6 months",
            ("P6M", "after", "diagnosis", "diagnosis", "within"),
        ),
        (
            "≤ 4 weeks from major surgery",
            "≤ 4 weeks",
            ("P4W", "after", "surgery", "major surgery", "within"),
        ),
        (
            "relapse within 1.5 years of transplant",
            "1.5 years",
            ("P1.5Y", "after", "transplant", "transplant", "within"),
        ),
        (
            "30 minutes before randomisation",
            "30 minutes",
            ("PT30M", "before", "randomization", "randomisation", "within"),
        ),
        (
            "ICH within the first 48 hours of admission",
            "48 hours",
            ("PT48H", "after", "admission", "admission", "within"),
        ),
        (
            "steroids in the past 30 days",
            "30 days",
            ("P30D", "before", "screening", None, "within"),
        ),
        (
            "Antibiotic treatment the prior 3 months",
            "3 months",
            ("P3M", "before", "screening", None, "within"),
        ),
        ("weight loss 2 years ago", "2 years", ("P2Y", "before", "screening", None, "within")),
        (
            "signed consent no more than 28 days before enrolment",
            "no more than 28 days",
            ("P28D", "before", "enrollment", "enrolment", "within"),
        ),
        (
            "stable dose for 4 weeks prior to screening",
            "4 weeks",
            ("P4W", "before", "screening", "screening", "throughout"),
        ),
        (
            "exercise program for at least six months prior to the start of this project",
            "at least six months",
            ("P6M", "before", None, "the start of this project", "at_least"),
        ),
        # "within N of" an event the rules do not know: written, but no direction is guessed
        (
            "Within 2 weeks of cardiac catheterization",
            "2 weeks",
            ("P2W", None, None, "cardiac catheterization", "within"),
        ),
        # durations of treatment: "of" is not an anchor link without "within"
        ("≥2 months of treatment", "≥2 months", ("P2M", None, None, None, "at_least")),
        (
            "surgery lasting less than one hour",
            "less than one hour",
            ("PT1H", None, None, None, "at_most"),
        ),
    ],
)
def test_edge_cases(text, quantity, expected):
    assert picked(described(text)[quantity]) == expected


def test_describe_reads_units_as_written():
    got = describe("within 2 wks", 7, 12, 2, "wks", "==")
    assert (got["iso"], got["unit"], got["value"]) == ("P2W", "week", 2)
    got = describe("5 half-lives prior to C1D1", 0, 12, 5, "half-lives", "==")
    assert (got["iso"], got["unit"], got["anchor"]) == (
        None,
        "half-life",
        "start of study treatment",
    )


def test_shifted_moves_window_and_alternatives_to_document_offsets():
    got = described("within 14 days or 5 half-lives, whichever is longer")["14 days"]
    moved = shifted({**got, "start": 7, "end": 14}, 100)
    assert (moved["start"], moved["end"]) == (107, 114)
    assert (moved["alternatives"][0]["start"], moved["alternatives"][0]["end"]) == (118, 130)
    assert got["alternatives"][0]["start"] == 18  # the input is not changed


# --- windows without a number ------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Participant must be ≥18 years of age, at the time of signing the informed consent.",
            [("at the time of signing the informed consent", "at", "informed consent")],
        ),
        (
            "agree to use a highly effective method of contraception during the study and for 4 "
            "months after the last dose of belantamab mafodotin",
            [("during the study", "during", "study period")],
        ),
        (
            "The antiviral therapy for HCV should continue throughout the treatment period until "
            "seroconversion.",
            [("throughout the treatment period", "during", "treatment period")],
        ),
        (
            "use approved contraception methods while receiving study treatment, during dose "
            "interruptions and at least 5 months following study treatment discontinuation",
            [("while receiving study treatment", "during", "treatment period")],
        ),
        (
            "Participants with resolved HBV infection must be treated before initiation of IMP, "
            "the anti-HBV therapy and monitoring should continue throughout the study "
            "treatment period.",
            [
                ("before initiation of IMP", "before", "start of study treatment"),
                ("throughout the study treatment period", "during", "treatment period"),
            ],
        ),
        ("Negative pregnancy test at screening", [("at screening", "at", "screening")]),
        (
            "Relapse after autologous stem cell transplant",
            [("after autologous stem cell transplant", "after", "transplant")],
        ),
        # numeric windows are left to describe(): no second, number-less window
        ("Major surgery within 4 weeks prior to C1D1.", []),
        ("Uncontrolled infection within 28 days prior to randomization", []),
        ("Age at least 18 years", []),
    ],
)
def test_find_windows(text, expected):
    got = find_windows(clean(text))
    assert [(w["text"], w["direction"], w["anchor"]) for w in got] == expected
    for w in got:
        assert text[w["start"] : w["end"]] == w["text"]
        assert w["iso"] is None and w["value"] is None


def test_a_half_life_washout_on_its_own_is_a_window():
    text = "No investigational drug within 5 half-lives prior to the first dose of study drug"
    [w] = find_windows(clean(text))
    assert (w["text"], w["iso"], w["value"], w["unit"]) == (
        "5 half-lives prior to the first dose of study drug",
        None,
        5,
        "half-life",
    )
    assert picked(w) == (None, "before", "first dose", "first dose of study drug", "within")


# --- units and ISO 8601 ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, unit, iso",
    [
        (14, "days", "P14D"),
        (14, "Days", "P14D"),
        (72, "hours", "PT72H"),
        (24, "h", "PT24H"),
        (30, "min", "PT30M"),
        (2, "wks", "P2W"),
        (6, "mos", "P6M"),
        (3, "yrs", "P3Y"),
        (1.5, "years", "P1.5Y"),
        (5, "half-lives", None),
        (3, "cycles", None),
    ],
)
def test_iso_duration(value, unit, iso):
    assert iso_duration(value, unit) == iso


def test_unit_names():
    forms = ("minutes", "hr", "d", "weeks", "months", "y", "half-life")
    names = ["minute", "hour", "day", "week", "month", "year", "half-life"]
    assert [unit_of(u).name for u in forms] == names
    assert unit_of("mg") is None


# --- every window the pipeline finds in the seeds is well formed --------------------------

ISO = re.compile(r"PT?\d+(?:\.\d+)?[YMWDHS]")


def test_every_seed_window_is_well_formed(seed_texts):
    seen = 0
    for raw in seed_texts.values():
        for line in clean(raw).splitlines():
            for c in find_comparisons(line):
                if not c.temporal:
                    continue
                got = describe(line, c.start, c.end, c.value, c.unit or "", c.comparator)
                seen += 1
                assert got["iso"] is None or ISO.fullmatch(got["iso"]), got
                assert got["direction"] in {None, "before", "after", "during"}
                assert got["relation"] in temporal.RELATIONS
            for w in find_windows(line):
                assert w["direction"] in temporal.DIRECTIONS and w["anchor"]
    assert seen >= 40


def test_lct_temporal_items_get_directions(lct_records):
    """A floor, not a target: share of LCT "Temporality" items (by line) given a direction."""
    total = directed = 0
    for record in lct_records:
        text = clean(record["text"])
        for gold in record["temporal"]:
            if gold["role"] != "Temporality":
                continue
            start = text.rfind("\n", 0, gold["span"]["start"]) + 1
            end = text.find("\n", gold["span"]["end"])
            line = text[start : end if end >= 0 else len(text)]
            gs, ge = gold["span"]["start"] - start, gold["span"]["end"] - start
            hits = [c for c in find_comparisons(line) if c.temporal and c.start < ge and gs < c.end]
            if not hits:
                continue
            c = hits[0]
            total += 1
            got = describe(line, c.start, c.end, c.value, c.unit or "", c.comparator)
            directed += got["direction"] is not None
    assert total > 250 and directed / total >= 0.85


# --- the rule file -----------------------------------------------------------------------


def test_shipped_rule_file_loads():
    path = PATTERNS_DIR / "temporal.json"
    assert load_rule_file(path, "temporal")
    rules = load_temporal_rules(path)
    names = {a.name for a in rules.anchors}
    assert {
        "first dose", "randomization", "enrollment", "screening", "informed consent",
        "start of study treatment", "last dose", "diagnosis", "transplant", "surgery",
        "study period", "treatment period",
    } <= names  # fmt: skip
    assert rules.implied_anchor == "screening" and rules.within_direction == "before"


def test_rules_are_not_loaded_at_import_time():
    code = "import pipeline.temporal as t; print(t.default_temporal_rules.cache_info().currsize)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


@pytest.mark.parametrize(
    "change, rule, value",
    [
        (lambda b: b["anchors"][0].update(pattern="(unclosed"), "anchors[0]", "(unclosed"),
        (lambda b: b["anchors"][2].update(within="befor"), "anchors[2]", "befor"),
        (
            lambda b: b["after_quantity"][1].update(direction="sideways"),
            "after_quantity[1]",
            "sideways",
        ),
        (lambda b: b["before_quantity"][0].update(mark="around"), "before_quantity[0]", "around"),
        (lambda b: b["units"][2].update(iso="P{n}Q"), "units[2]", "P{n}Q"),
        (lambda b: b["combine"][0].update(combine="mean"), "combine[0]", "mean"),
        (
            lambda b: b["relations"]["directed"].update({"<": "inside"}),
            "relations.directed[<]",
            "inside",
        ),
        (lambda b: b["relations"]["for"].update({"~": "throughout"}), "relations.for", "~"),
        (lambda b: b.update(implied_anchor="lunch"), "implied_anchor", "lunch"),
        (lambda b: b.update(anchor_limit=0), "anchor_limit", "0"),
        (lambda b: b.update(gap="[unclosed"), "gap", "[unclosed"),
    ],
)
def test_malformed_file_names_file_rule_and_value(edited_rule_file, change, rule, value):
    path = edited_rule_file("temporal.json", change)
    with pytest.raises(PatternError) as info:
        load_temporal_rules(path)
    message = str(info.value)
    assert str(path) in message and repr(rule) in message and value in message


def test_missing_key_and_wrong_top_level_key(tmp_path, edited_rule_file):
    path = edited_rule_file("temporal.json", lambda b: b.pop("anchors"))
    with pytest.raises(PatternError, match="missing key.*anchors"):
        load_temporal_rules(path)
    wrong = tmp_path / "other.json"
    wrong.write_text(json.dumps({"temporals": {}}), encoding="utf-8")
    with pytest.raises(PatternError, match="top-level key 'temporal'"):
        load_temporal_rules(wrong)
