"""The spaCy components: registration, serialisation of their rule files, run-time patterns."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import spacy

import pipeline
from pipeline.components import CRITERIA, SECTIONS
from pipeline.text import clean

FACTORIES = {
    "eligibility_sections",
    "eligibility_statements",
    "eligibility_entities",
    "eligibility_context",
    "eligibility_thresholds",
    "eligibility_abbreviations",
}


def test_factories_are_entry_points():
    names = {ep.name for ep in entry_points(group="spacy_factories")}
    assert FACTORIES <= names
    callbacks = {ep.name for ep in entry_points(group="spacy_callbacks")}
    assert "eligibility.tokenizer.v1" in callbacks


@pytest.mark.parametrize(
    "line, analytes",
    [
        ("BMI>40", ["BMI"]),  # NCT03864692
        ("Chronic active liver disease (AST > 144 IU/L, or ALT>165IU/L)", ["AST", "ALT"]),
        ("Hb<9 g/dL or platelets<=75,000/mm3", ["Hb", "platelets"]),
        ("age>=18 years", ["age"]),
    ],
)
def test_nct03864692_an_analyte_glued_to_its_comparator_is_an_entity(line, analytes):
    trial = pipeline.parse(f"Exclusion Criteria:\n- {line}\n")
    (c,) = trial.criteria
    assert [e.text for e in c.entities if e.label == "OBSERVATION"] == analytes
    assert [t.analyte_text for t in c.thresholds] == analytes


def test_a_bad_infix_pattern_names_its_file(tmp_path):
    from pipeline.errors import PatternError
    from pipeline.rules import tokenizer_infixes

    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"tokenizer": {"infixes": ["(?<=[a-z]"]}}', encoding="utf-8")
    with pytest.raises(PatternError, match=r"tokenizer.json.*tokenizer.infixes"):
        tokenizer_infixes(bad)


def test_pipeline_round_trips_through_disk(tmp_path, seed_texts):
    nlp = pipeline.load()
    nlp.to_disk(tmp_path / "model")
    assert (tmp_path / "model" / "eligibility_thresholds" / "comparators.json").is_file()
    assert (tmp_path / "model" / "eligibility_entities" / "concepts").is_dir()
    again = spacy.load(tmp_path / "model")
    text = clean(seed_texts["003_af3fb4ef3103d3e2"])
    a, b = nlp(text), again(text)
    assert [(s.start_char, s.end_char, s.label_) for s in a.spans[CRITERIA]] == [
        (s.start_char, s.end_char, s.label_) for s in b.spans[CRITERIA]
    ]
    assert [(e.text, e.label_) for e in a.ents] == [(e.text, e.label_) for e in b.ents]


def test_sections_accept_patterns_at_run_time():
    nlp = spacy.blank("en")
    finder = nlp.add_pipe("eligibility_sections")
    text = "Who is eligible\n* Age 18 or older\n"
    before = nlp(text)
    assert [s.label_ for s in before.spans[SECTIONS]] == ["unknown"]
    finder.add_patterns([{"section": "inclusion", "pattern": "who is eligible"}])
    after = nlp(text)
    assert [s.label_ for s in after.spans[SECTIONS]] == ["inclusion"]


def test_abbreviation_defined_in_text_names_the_analyte():
    trial = pipeline.parse(
        "Inclusion Criteria:\n* Alkaline phosphatase (ALKP) measured at screening\n"
        "* ALKP ≤ 2.5 x ULN\n"
    )
    (t,) = trial.criteria[1].thresholds
    assert (t.analyte, t.analyte_text) == ("alkaline phosphatase", "ALKP")
    assert (t.comparator, t.value, t.relative_to) == ("<=", 2.5, "ULN")


def test_nct03869294_statements_inside_a_token_are_kept():
    """ "2.Brain" is one token; the statement "Brain metastasis" starts inside it. Its span
    snaps to the token (char_span's ``alignment_mode`` is a keyword: passed by position it
    was taken for ``kb_id``, and the statement was dropped)."""
    trial = pipeline.parse(
        "Exclusion Criteria:\n  -  1.Age ≥80 years 2.Brain metastasis 3.With other malignancies\n"
    )
    assert [c.text for c in trial.criteria] == [
        "Age ≥80 years",
        "Brain metastasis",
        "With other malignancies",
    ]
    assert [(t.analyte, t.comparator, t.value) for t in trial.criteria[0].thresholds] == [
        ("age", ">=", 80)
    ]


@pytest.mark.parametrize(
    "line, absent, present",
    [
        # NCT03931772, NCT03864003: "aids" are devices, "AIDS" the syndrome
        ("Currently taking other smoking cessation aids", "aids", None),
        ("Medically unqualified to receive hearing aids", "aids", None),
        ("Known HIV/AIDS or AIDS-defining illness", None, "AIDS-defining illness"),
    ],
)
def test_abbreviations_match_as_written(line, absent, present):
    (c,) = pipeline.parse(f"Exclusion Criteria:\n- {line}\n").criteria
    conditions = {e.text for e in c.entities if e.label == "CONDITION"}
    assert absent not in conditions
    assert present is None or present in conditions
