"""Negation and other ConText attributes per entity, one case per construct, on criteria text."""

from __future__ import annotations

import pytest

import pipeline


def flags(line: str, section: str = "Exclusion") -> dict[str, dict[str, bool]]:
    trial = pipeline.parse(f"{section} Criteria:\n* {line}\n")
    (c,) = trial.criteria
    return {
        e.text.lower(): {
            "negated": e.negated,
            "historical": e.historical,
            "hypothetical": e.hypothetical,
            "family": e.family,
            "uncertain": e.uncertain,
        }
        for e in c.entities
    }


@pytest.mark.parametrize(
    "line, target",
    [
        ("No history of myocardial infarction", "myocardial infarction"),
        ("Patients without brain metastases", "brain metastases"),
        ("Negative for hepatitis B surface antigen", "hepatitis b surface antigen"),
        ("Free of tuberculosis", "tuberculosis"),
        ("Absence of pulmonary embolism", "pulmonary embolism"),
        ("Concurrent corticosteroids are not permitted", "corticosteroids"),
        ("Live vaccines are not allowed", "live vaccines"),
        ("Must not have received lenalidomide", "lenalidomide"),
        ("Unable to swallow capsules", "swallow capsules"),
        ("Cannot undergo magnetic resonance imaging", "magnetic resonance imaging"),
        ("Non-smokers", "smokers"),
    ],
)
def test_negation_cues(line, target):
    got = flags(line)
    assert got[target]["negated"], got


@pytest.mark.parametrize(
    "line, target",
    [
        ("Creatinine no more than 1.5 mg/dL", "creatinine"),
        ("Hemoglobin not less than 9 g/dL", "hemoglobin"),
        ("Non-small cell lung cancer", "non-small cell lung cancer"),
        ("Diabetes with or without insulin", "diabetes"),
    ],
)
def test_pseudo_negations_do_not_negate(line, target):
    got = flags(line)
    assert not got[target]["negated"], got


@pytest.mark.parametrize(
    "line, negated, affirmed",
    [
        ("No active infection; history of tuberculosis", "active infection", "tuberculosis"),
        ("No prior chemotherapy but radiotherapy is required", "chemotherapy", "radiotherapy"),
        ("No hypertension except controlled diabetes", "hypertension", "diabetes"),
        ("Without anemia. Thrombocytopenia is allowed", "anemia", "thrombocytopenia"),
    ],
)
def test_scope_ends_at_clause_boundaries(line, negated, affirmed):
    got = flags(line)
    assert got[negated]["negated"] and not got[affirmed]["negated"], got


def test_scope_ends_at_the_list_item():
    trial = pipeline.parse("Exclusion Criteria:\n* No prior radiotherapy\n* Stroke\n")
    stroke = trial.criteria[1].entities[0]
    assert stroke.text == "Stroke" and not stroke.negated


@pytest.mark.parametrize(
    "line, target, attribute",
    [
        ("History of stroke", "stroke", "historical"),
        ("Prior allogeneic stem cell transplant", "allogeneic stem cell transplant", "historical"),
        ("Planned surgery during the study", "surgery", "hypothetical"),
        ("Family history of breast cancer", "breast cancer", "family"),
        ("Suspected pulmonary embolism", "pulmonary embolism", "uncertain"),
    ],
)
def test_other_context(line, target, attribute):
    got = flags(line)
    assert got[target][attribute], got


def test_every_decision_records_its_cue_and_rule():
    trial = pipeline.parse("Exclusion Criteria:\n* No history of myocardial infarction\n")
    (entity,) = trial.criteria[0].entities
    (cue,) = entity.cues
    assert cue["category"] == "NEGATED_EXISTENCE"
    assert cue["rule"] == "no history of"
    text = trial.source_text
    assert text[cue["start"] : cue["end"]] == cue["text"] == "No history of"


def test_unknown_concept_after_a_cue_is_still_a_target():
    got = flags("No history of xylophonic dysplasia")
    assert got["xylophonic dysplasia"]["negated"]


@pytest.mark.parametrize("spelling", ["anti-CD38", "anti CD38"])
def test_hyphenation_variants_name_one_concept(spelling):
    trial = pipeline.parse(f"Exclusion Criteria:\n* Prior {spelling} therapy\n")
    (entity,) = trial.criteria[0].entities
    assert entity.canonical == "anti-cd38 monoclonal antibody"


def test_section_polarity_composes_with_negation():
    inclusion = pipeline.parse("Inclusion Criteria:\n* No prior anti-CD38 therapy\n").criteria[0]
    exclusion = pipeline.parse("Exclusion Criteria:\n* Prior anti-CD38 therapy\n").criteria[0]
    assert inclusion.requirement == exclusion.requirement == "must_not_have"


def test_excluded_negates_what_it_follows():
    got = flags("Patients on haemodialysis will be excluded", section="Inclusion")
    assert got["haemodialysis"]["negated"], got
