"""Sections and atomic statements on real registry text and hand-written edge cases."""

from __future__ import annotations

import pytest

from pipeline.segment import first_sentence, split_atomic
from pipeline.text import clean


def statements(text: str) -> list[tuple[str, str, int | None, str | None, bool]]:
    """(section, text, parent index, logic, exception) per statement."""
    out = []
    for s in split_atomic(clean(text)):
        out.append((s.section, text[s.start : s.end], s.parent, s.logic, s.exception))
    return out


def test_ctgov_markdown_with_headers_and_escapes():
    text = (
        "Inclusion Criteria:\n\n"
        "* Age ≥ 18 years\n"
        "* ANC \\>= 1500/µL\n\n"
        "Exclusion Criteria:\n\n"
        "* Pregnancy\n"
    )
    got = statements(text)
    assert [(s, t) for s, t, *_ in got] == [
        ("inclusion", "Age ≥ 18 years"),
        ("inclusion", "ANC \\>= 1500/µL"),
        ("exclusion", "Pregnancy"),
    ]


@pytest.mark.parametrize("bullet", ["*", "-", "•", "1.", "2)", "a)"])
def test_bullet_styles(bullet):
    text = f"Inclusion Criteria:\n{bullet} Signed informed consent\n{bullet} ECOG 0-1\n"
    assert [t for _, t, *_ in statements(text)] == ["Signed informed consent", "ECOG 0-1"]


@pytest.mark.parametrize(
    "text, expected",
    [
        # a statement written after the header's colon is kept, and may introduce a list
        (
            "Inclusion Criteria: should report the absence of:\n  -  anemia,\n  -  diabetes\n",
            [
                ("inclusion", "should report the absence of:", None),
                ("inclusion", "anemia,", 0),
                ("inclusion", "diabetes", 0),
            ],
        ),
        (
            "Inclusion Criteria: Age 18 or older\nExclusion Criteria: Pregnancy\n",
            [("inclusion", "Age 18 or older", None), ("exclusion", "Pregnancy", None)],
        ),
        # an introduction on the line after a header that ends in a colon is no header tail
        (
            "Inclusion Criteria:\nshould report the absence of:\n- anemia\n",
            [
                ("inclusion", "should report the absence of:", None),
                ("inclusion", "anemia", 0),
            ],
        ),
        # NCT03927781: headers named after who they are about
        (
            "Subject Population Undergoing elective ureteroscopy\nSubject Inclusion\n"
            "Age >= 18 years\nSubject Exclusion\n  -  Chronic opioid use\n",
            [("inclusion", "Age >= 18 years", None), ("exclusion", "Chronic opioid use", None)],
        ),
        # a header that wraps onto the next line still is one header
        (
            "Inclusion Criteria (only patients who\nhave myeloma):\n- anemia\n",
            [("inclusion", "anemia", None)],
        ),
    ],
)
def test_text_on_the_header_line(text, expected):
    assert [(s, t, p) for s, t, p, *_ in statements(text)] == expected


def test_text_without_headers_or_bullets_is_one_statement_per_line():
    got = statements("Age 18 or older\nNo prior chemotherapy\n")
    assert [(s, t) for s, t, *_ in got] == [
        ("unknown", "Age 18 or older"),
        ("unknown", "No prior chemotherapy"),
    ]


def test_numbered_items_with_letter_children():
    text = (
        "Exclusion Criteria:\n"
        "1. Any of the following:\n"
        "a. Myocardial infarction\n"
        "b. Stroke\n"
        "2. Pregnancy\n"
    )
    got = statements(text)
    assert [(t, p, lg) for _, t, p, lg, _ in got] == [
        ("Any of the following:", None, "or"),
        ("Myocardial infarction", 0, None),
        ("Stroke", 0, None),
        ("Pregnancy", None, None),
    ]


def test_indented_children_keep_their_parent():
    text = (
        "Exclusion Criteria:\n"
        "  • Patients with prior anti-CD38 treatment are excluded if:\n"
        "    • Refractory to anti-CD38 treatment or,\n"
        "    • Intolerant to the anti-CD38 previously received\n"
        "  • Daily requirement for corticosteroids.\n"
    )
    got = statements(text)
    assert [p for *_, p, _, _ in [(g[0], g[1], g[2], g[3], g[4]) for g in got]] == [
        None,
        0,
        0,
        None,
    ]
    assert got[0][3] == "or"


def test_of_note_items_are_exceptions_of_the_statement_before():
    text = (
        "Exclusion Criteria:\n\n"
        "* Uncontrolled or active hepatitis B virus (HBV) infection\n\n"
        "Of note:\n\n"
        "* Patients with antiviral therapy for HBV are eligible.\n"
        "* Malabsorption syndrome\n"
    )
    got = statements(text)
    assert [(t[:20], p, e) for _, t, p, _, e in got] == [
        ("Uncontrolled or acti", None, False),
        ("Patients with antivi", 0, True),
        ("Malabsorption syndro", None, False),
    ]
    assert got[0][3] == "or"


def test_chain_of_or_items_ends_after_the_last_link():
    text = (
        "Inclusion criteria:\n"
        "Measurable disease, as defined below:\n"
        "- Serum M-protein ≥1 g/dL, AND/OR\n"
        "- Urine M-protein ≥200 mg/24 hours, OR\n"
        "- Serum free light chain ≥10 mg/dL.\n"
        "- Patients must have received at least 3 prior lines of therapy.\n"
    )
    got = statements(text)
    assert [p for _, _, p, _, _ in got] == [None, 0, 0, 0, None]
    assert got[0][3] == "or"


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Hemoglobin ≥ 8 g/dL. Transfusions are permitted.", "Hemoglobin ≥ 8 g/dL"),
        ("Prior stroke; (TIA excluded)", "Prior stroke"),
        ("Hemoglobin ≥ 8 g/dL. transfusions allowed", "Hemoglobin ≥ 8 g/dL. transfusions allowed"),
    ],
)
def test_first_sentence(text, first):
    # the sentence break of structure.json is case-sensitive: a new sentence starts with a capital
    assert first_sentence(text) == first


def test_page_chrome_is_not_criteria(seed_texts):
    text = seed_texts["002_63f7a08eae199110"]
    got = statements(text)
    assert all("Time Frame" not in t and "Study Director" not in t for _, t, *_ in got)
    assert got[0][1].startswith("Patients must have a known diagnosis of multiple myeloma")
    assert got[-1][1] == "Poor organ function."


def test_headerless_page_splits_inclusion_then_exclusion(seed_texts):
    got = statements(seed_texts["000_02f3b0dd42882d09"])
    sections = [s for s, *_ in got]
    assert sections.count("inclusion") == 9
    assert sections.count("exclusion") == 20
    assert all("You have" not in t for _, t, *_ in got)  # lay summary after the notice


@pytest.mark.parametrize(
    "stem",
    [
        "000_02f3b0dd42882d09",
        "001_2342a196f04e89cb",
        "002_63f7a08eae199110",
        "003_af3fb4ef3103d3e2",
        "004_52e4482ea3fe8426",
    ],
)
def test_statement_spans_match_gold(seed_texts, gold, stem):
    text = seed_texts[stem]
    predicted = {(s.start, s.end) for s in split_atomic(clean(text))}
    expected = {(c["start"], c["end"]) for c in gold[stem]["criteria"]}
    assert predicted == expected


def _texts(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_atomic(text)]


def test_numbers_written_against_the_first_word_are_bullets():
    """ "1.Age 18-75 years old;" (no space after the number, as text from word processors has
    it) is item 1, and the number is not part of the statement."""
    text = "Inclusion Criteria:\n1.Age 18-75 years old;\n2.Diagnosed with multiple myeloma;\n"
    assert _texts(text) == ["Age 18-75 years old;", "Diagnosed with multiple myeloma;"]


def test_nct03869294_a_numbered_list_flattened_into_one_line_is_split():
    text = (
        "Exclusion Criteria:\n"
        "-  1.Age ≥80 years 2.Brain metastasis 3.With other malignancies 4.Chronic diarrhea,"
        " cardiac disease, pregnancy or breast feeding\n"
    )
    assert _texts(text) == [
        "Age ≥80 years",
        "Brain metastasis",
        "With other malignancies",
        "Chronic diarrhea, cardiac disease, pregnancy or breast feeding",
    ]


@pytest.mark.parametrize(
    "line",
    [
        # numbers that do not count 1, 2, 3 from the start are no list
        "Received 2 cycles. 3 Months of therapy",
        "Hemoglobin 1.5 g/dL or 2.Platelets low",
    ],
)
def test_numbers_inside_a_statement_are_no_list(line):
    assert _texts(f"Exclusion Criteria:\n- {line}\n") == [line]
