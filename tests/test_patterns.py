"""Every rule file in patterns/ loads and validates; broken files fail with a useful message."""

from __future__ import annotations

import json

import pytest

from pipeline import segment, thresholds
from pipeline.concepts import load_concept_file, load_concepts
from pipeline.errors import PatternError
from pipeline.rules import PATTERNS_DIR, load_rule_file, rule_file_keys


@pytest.mark.parametrize("name, key", sorted(rule_file_keys().items()))
def test_every_rule_file_has_its_named_key(name, key):
    path = PATTERNS_DIR / name
    if not path.exists():
        pytest.skip(f"{name} is not shipped yet")
    assert load_rule_file(path, key)


def test_all_json_files_in_patterns_are_known():
    shipped = {p.name for p in PATTERNS_DIR.glob("*.json")}
    assert shipped <= set(rule_file_keys())


def test_loaders_accept_the_shipped_files():
    segment.load_section_rules()
    segment.load_structure_rules()
    thresholds.load_comparator_rules()
    assert len(load_concepts()) > 500


def test_context_rules_load_in_medspacy():
    from medspacy.context import ConTextRule

    rules = ConTextRule.from_json(str(PATTERNS_DIR / "context_rules.json"))
    categories = {r.category for r in rules}
    assert {"NEGATED_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY", "TERMINATE"} <= categories


def test_bad_regex_names_file_rule_and_value(tmp_path):
    body = json.loads((PATTERNS_DIR / "sections.json").read_text())
    body["sections"]["headers"][0]["pattern"] = "(unclosed"
    bad = tmp_path / "sections.json"
    bad.write_text(json.dumps(body))
    with pytest.raises(PatternError) as info:
        segment.load_section_rules(bad)
    message = str(info.value)
    assert str(bad) in message and "headers[0]" in message and "(unclosed" in message


def test_missing_key_is_reported(tmp_path):
    bad = tmp_path / "structure.json"
    bad.write_text(json.dumps({"structure": {"bullet": "x"}}))
    with pytest.raises(PatternError, match="missing key"):
        segment.load_structure_rules(bad)


def test_wrong_top_level_key(tmp_path):
    bad = tmp_path / "comparators.json"
    bad.write_text(json.dumps({"comparator": {}}))
    with pytest.raises(PatternError, match="top-level key 'comparators'"):
        thresholds.load_comparator_rules(bad)


def test_bad_concept_line_names_line_and_value(tmp_path):
    bad = tmp_path / "drugs.jsonl"
    bad.write_text(
        '{"name": "aspirin", "label": "DRUG", "synonyms": ["ASA"], "code": null}\n'
        '{"name": "Heparin", "label": "DRUG", "synonyms": [], "code": null}\n'
    )
    with pytest.raises(PatternError) as info:
        load_concept_file(bad)
    assert f"{bad}:2" in str(info.value) and "Heparin" in str(info.value)
