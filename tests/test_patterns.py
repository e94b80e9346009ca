"""Every rule file in patterns/ loads and validates; broken files fail with a useful message."""

from __future__ import annotations

import json

import pytest

from pipeline import screening, segment, thresholds
from pipeline.concepts import load_concept_file, load_concepts
from pipeline.drug_vocabulary import load_vocabulary_rules
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
    screening.load_screening_cues()
    assert len(load_concepts()) > 500
    assert load_vocabulary_rules().mesh_branches


def test_context_rules_load_in_medspacy():
    from medspacy.context import ConTextRule

    rules = ConTextRule.from_json(str(PATTERNS_DIR / "context_rules.json"))
    categories = {r.category for r in rules}
    assert {"NEGATED_EXISTENCE", "HISTORICAL", "HYPOTHETICAL", "FAMILY", "TERMINATE"} <= categories


def test_context_rules_give_each_cue_one_meaning():
    # two rules on the same words compete in ConText's overlap pruning, and which one wins
    # then depends on rule order: "rule out" was both a negation and an uncertainty cue
    rules = json.loads((PATTERNS_DIR / "context_rules.json").read_text())["context_rules"]
    seen: dict[str, str] = {}
    for rule in rules:
        literal = rule["literal"].lower()
        assert seen.setdefault(literal, rule["category"]) == rule["category"], literal


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


def _drop_doubt(body):
    del body["doubt"]


def _drop_description(body):
    del body["current"]["description"]


def _bad_window(body):
    body["time_window"]["patterns"][1] = "(unclosed"


def _bad_sentence_end(body):
    body["sentence_end"]["pattern"] = "[.;"


def _empty_word(body):
    body["qualifier"]["words"][2] = ""


def _star_inside_word(body):
    body["doubt"]["words"][4] = "hyper*sensitive"


def _words_not_a_list(body):
    body["negation"]["words"] = "no"


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_drop_doubt, ["rule 'screening'", "missing key(s) doubt"]),
        (_drop_description, ["rule 'current'", "missing key(s) description"]),
        (_bad_window, ["time_window.patterns[1]", "(unclosed"]),
        (_bad_sentence_end, ["sentence_end.pattern", "[.;"]),
        (_empty_word, ["qualifier.words[2]", "''"]),
        (_star_inside_word, ["doubt.words[4]", "hyper*sensitive"]),
        (_words_not_a_list, ["negation.words", "'no'"]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_bad_screening_file_names_file_entry_and_value(edited_rule_file, break_it, expected):
    bad = edited_rule_file("screening.json", break_it)
    with pytest.raises(PatternError) as info:
        screening.load_screening_cues(bad)
    message = str(info.value)
    assert str(bad) in message and all(part in message for part in expected), message


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
