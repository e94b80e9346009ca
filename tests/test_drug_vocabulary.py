"""The external drug vocabulary (``pipeline.drug_vocabulary``): its filters and lookup on
hand-made entries, the shipped package's data, and its place in the pipeline."""

from __future__ import annotations

import re

import pytest

import pipeline
from pipeline.drug_vocabulary import (
    build_vocabulary,
    load_vocabulary_rules,
    match_names,
    read_vocabulary,
)
from pipeline.errors import PatternError

ENTRIES = {
    "metronidazole": {"name": "Metronidazole", "drugbank_id": "DB00916", "mesh_id": "D008795"},
    "anti-bacterial agents": {
        "name": "Anti-Bacterial Agents",
        "mesh_id": "D000900",
        "mesh_tree": ["D27.505.954.122.085"],
    },
    # an enzyme measured as a lab value: in MeSH, but no medication
    "alanine transaminase": {"name": "Alanine Transaminase", "mesh_tree": ["D08.811.913.477"]},
}
VARIANTS = {
    "metronidazole": ["metronidazole"],
    "flagyl": ["metronidazole"],
    "antibiotics": ["anti-bacterial agents"],
    "anti-bacterial agents": ["anti-bacterial agents"],
    "alt": ["alanine transaminase"],
    "alanine aminotransferase": ["alanine transaminase"],
    "mtz": ["metronidazole"],  # shorter than min_chars
    "metronidazole benzoate oral suspension form": ["metronidazole"],  # too many words
}


@pytest.fixture(scope="module")
def vocabulary():
    return build_vocabulary(VARIANTS, ENTRIES, load_vocabulary_rules())


def test_build_keeps_medications_and_drug_classes(vocabulary):
    assert vocabulary.names == {
        "metronidazole": ("metronidazole", "DRUGBANK:DB00916"),
        "flagyl": ("metronidazole", "DRUGBANK:DB00916"),
        "antibiotics": ("anti-bacterial agents", "MESH:D000900"),
        "anti-bacterial agents": ("anti-bacterial agents", "MESH:D000900"),
    }
    assert {"flagyl", "anti"} <= vocabulary.first_words


def _matches(text, vocabulary):
    tokens = [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    return [
        (text[tokens[i][0] : tokens[j - 1][1]], name)
        for i, j, name in match_names(text, tokens, vocabulary)
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("No FLAGYL or antibiotics", [("FLAGYL", "flagyl"), ("antibiotics", "antibiotics")]),
        # the longest name wins, across hyphens and runs of spaces
        ("Anti-bacterial   agents", [("Anti-bacterial   agents", "anti-bacterial agents")]),
        ("ALT > 3 x ULN", []),
        ("metronidazoles", []),  # whole tokens only
    ],
)
def test_match_names(vocabulary, text, expected):
    assert _matches(text, vocabulary) == expected


def test_shipped_vocabulary_names_drugs_and_leaves_lab_enzymes_out():
    vocabulary = read_vocabulary()
    assert len(vocabulary) > 40_000
    assert vocabulary.names["ceftriaxone"] == ("ceftriaxone", "DRUGBANK:DB01212")
    assert vocabulary.names["flagyl"][0] == "metronidazole"
    assert "aspartate aminotransferase" not in vocabulary.names
    assert "serum albumin" not in vocabulary.names


@pytest.mark.parametrize(
    "line, text, label, canonical, code",
    [
        # only the vocabulary knows these: brand name resolved to the generic, with its code
        ("No prior Ativan within 14 days", "Ativan", "DRUG", "lorazepam", "DRUGBANK:DB00186"),
        ("Known allergy to propofol", "propofol", "DRUG", "propofol", "DRUGBANK:DB00818"),
        # the curated lexicon keeps its words, names and codes
        ("Use of statins", "statins", "DRUG", "statins", "ATC:C10AA"),
        # and the analytes theirs
        ("Serum albumin < 3 g/dL", "Serum albumin", "OBSERVATION", "albumin", "LOINC:1751-7"),
    ],
)
def test_vocabulary_fills_gaps_in_the_lexicons(line, text, label, canonical, code):
    (c,) = pipeline.parse(f"Exclusion Criteria:\n* {line}\n").criteria
    found = {e.text: (e.label, e.canonical, e.code) for e in c.entities}
    assert found[text] == (label, canonical, code)


def test_a_vocabulary_drug_after_a_cue_is_negated():
    (c,) = pipeline.parse("Inclusion Criteria:\n* No prior ketorolac\n").criteria
    (drug,) = c.entities
    assert (drug.label, drug.negated, drug.code) == ("DRUG", True, "DRUGBANK:DB00465")


def test_bad_vocabulary_rules_name_the_key(edited_rule_file):
    path = edited_rule_file("drug_vocabulary.json", lambda body: body.update(min_chars=0))
    with pytest.raises(PatternError, match=r"drug_vocabulary\.min_chars.*0"):
        load_vocabulary_rules(path)


def test_missing_package_gives_an_empty_vocabulary_and_a_warning(edited_rule_file):
    path = edited_rule_file(
        "drug_vocabulary.json", lambda body: body.update(package="no_such_package_for_tests")
    )
    with pytest.warns(UserWarning, match="not installed"):
        assert len(read_vocabulary(path)) == 0
