"""The library contract screening systems rely on: parse, parse_many, parse_study, load."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import pipeline
from pipeline.schema import Trial, json_schema

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def parsed(seed_texts):
    return {stem: pipeline.parse(text, trial_id=stem) for stem, text in seed_texts.items()}


def test_offsets_index_the_exact_input(parsed, seed_texts):
    for stem, trial in parsed.items():
        text = seed_texts[stem]
        for c in trial.criteria:
            if c.origin != "text":  # a registry field, stated beside the criteria
                assert c.start is None and c.end is None
                continue
            assert text[c.start : c.end] == c.text
            for t in c.thresholds:
                span = t.analyte_span
                assert text[span["start"] : span["end"]] == t.analyte_text
                assert c.start <= t.start < t.end <= c.end
            for e in c.entities:
                assert text[e.start : e.end] == e.text


def test_to_dict_validates_against_the_published_schema(parsed):
    for trial in parsed.values():
        data = trial.to_dict()
        jsonschema.validate(data, json_schema())
        assert {"schema_version", "trial_id", "criteria", "logic_tree"} <= set(data)
        json.dumps(data)  # JSON-ready


def test_to_dict_round_trips(parsed):
    trial = parsed["001_2342a196f04e89cb"]
    again = Trial.from_dict(json.loads(json.dumps(trial.to_dict())))
    assert again.to_dict() == trial.to_dict()


def test_to_frame_has_one_row_per_threshold(parsed):
    trial = parsed["001_2342a196f04e89cb"]
    frame = trial.to_frame()
    assert len(frame) == sum(len(c.thresholds) for c in trial.criteria)
    row = frame[frame.analyte == "absolute neutrophil count"].iloc[0]
    assert (row.comparator, row.value, row.normalized_value, row.normalized_unit) == (
        ">=",
        1000,
        1.0,
        "10*9/L",
    )
    assert row.section == "inclusion"


def test_nct04270409_anc_equivalent_units(parsed):
    """'ANC ≥1000/µL (1 × 10^9/L)': one threshold, its restatement kept as the equivalent."""
    trial = parsed["001_2342a196f04e89cb"]
    (anc,) = [
        t for c in trial.criteria for t in c.thresholds if t.analyte == "absolute neutrophil count"
    ]
    assert anc.unit == "/µL"
    assert anc.normalized.value == pytest.approx(1.0)
    assert anc.equivalent["value"] == 1 and anc.equivalent["agrees"] is True


def test_nct04270409_anemia_relative_to_lln(parsed):
    trial = parsed["001_2342a196f04e89cb"]
    (c,) = [c for c in trial.criteria if c.text.startswith("Anemia")]
    got = [(t.comparator, t.value, t.unit, t.relative_to, t.relative_mode) for t in c.thresholds]
    assert got == [("<=", 2, "g/dL", "LLN", "below"), ("<", 10, "g/dL", None, None)]


def test_parse_many_matches_parse(seed_texts):
    stems = sorted(seed_texts)
    many = list(pipeline.parse_many([seed_texts[s] for s in stems], trial_ids=stems))
    assert [t.trial_id for t in many] == stems
    for trial, stem in zip(many, stems, strict=True):
        assert trial.to_dict() == pipeline.parse(seed_texts[stem], trial_id=stem).to_dict()


def test_parse_study_adds_structured_fields():
    study = json.loads((DATA / "NCT04270409.json").read_text(encoding="utf-8"))
    trial = pipeline.parse_study(study)
    assert trial.trial_id == "NCT04270409"
    text = study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    textual = [c for c in trial.criteria if c.origin == "text"]
    assert all(text[c.start : c.end] == c.text for c in textual)
    assert {c.section for c in textual} == {"inclusion", "exclusion"}
    (age,) = [c for c in trial.criteria if c.origin == "minimumAge"]
    (t,) = age.thresholds
    assert (t.analyte, t.comparator, t.value, t.normalized.value, t.normalized.unit) == (
        "age",
        ">=",
        18,
        18,
        "a",
    )
    assert {c.origin for c in trial.criteria} >= {"sex", "healthyVolunteers"}
    jsonschema.validate(trial.to_dict(), json_schema())


def test_load_is_built_once():
    assert pipeline.load() is pipeline.load()
    assert pipeline.load().pipe_names[:2] == ["eligibility_sections", "eligibility_statements"]


def test_requirement_composes_section_and_negation():
    trial = pipeline.parse(
        "Inclusion Criteria:\n* No prior anti-CD38 therapy\n* Age ≥ 18 years\n"
        "Exclusion Criteria:\n* Prior anti-CD38 therapy\n"
    )
    assert [(c.section, c.negated, c.requirement) for c in trial.criteria] == [
        ("inclusion", True, "must_not_have"),
        ("inclusion", False, "must_have"),
        ("exclusion", False, "must_not_have"),
    ]


@pytest.mark.parametrize(
    "text, error",
    [
        ("", pipeline.errors.EmptyInputError),
        ("   \n\t ", pipeline.errors.EmptyInputError),
        ("abc\x00def", pipeline.errors.BinaryInputError),
        ("\x01\x02\x03\x04\x05\x06" * 50, pipeline.errors.BinaryInputError),
        (b"\xff\xfe bad", pipeline.errors.EncodingError),
        ("x" * 2_000_001, pipeline.errors.InputTooLargeError),
    ],
)
def test_bad_input_raises_typed_errors(text, error):
    with pytest.raises(error):
        pipeline.parse(text)  # type: ignore[arg-type]
    assert issubclass(error, pipeline.EligibilityError)


def test_malformed_study_json_raises():
    with pytest.raises(pipeline.errors.MalformedJSONError):
        pipeline.parse_study("{not json")
    with pytest.raises(pipeline.errors.MalformedJSONError):
        pipeline.parse_study({"protocolSection": {}})


@pytest.mark.parametrize(
    "text",
    [
        "Inclusion Criteria:\n* Ａｇｅ ≥ 18 years\n* ＡＮＣ ≧ 1500/µL",  # full-width forms
        "Inclusion Criteria:\r\n* Age >= 18 years\r\n* Hemoglobin >= 9 g/dL\r\n",  # CRLF
        "Inclusion Criteria:\n* Platelets\u00a0≥\u00a0100,000/mm³\n",  # no-break spaces
        "Inclusion Criteria:\n* 😀 emoji and ANC ≥ 1.5 x 10^9/L\n",
    ],
)
def test_odd_unicode_keeps_offsets(text):
    trial = pipeline.parse(text)
    assert trial.criteria
    for c in trial.criteria:
        assert text[c.start : c.end] == c.text
        for t in c.thresholds:
            assert text[t.analyte_span["start"] : t.analyte_span["end"]] == t.analyte_text


def test_a_pipeline_from_another_config_parses_with_its_own_rules(tmp_path, edited_rule_file):
    """``load(config)`` gives a pipeline every entry point takes as ``nlp``; the trial's
    logic tree reads inline exceptions with that pipeline's structure rules."""
    structure = edited_rule_file(
        "structure.json",
        lambda body: body.update(
            inline_exception=body["inline_exception"].replace("except", "barring|except", 1)
        ),
    )
    root = Path(__file__).resolve().parents[1]
    config = (root / "models" / "pipeline.cfg").read_text(encoding="utf-8")
    custom = tmp_path / "custom.cfg"
    custom.write_text(
        config.replace('structure = "structure.json"', f'structure = "{structure}"'),
        encoding="utf-8",
    )
    text = "Exclusion Criteria:\n* Prior chemotherapy, barring hormonal therapy\n"

    def exceptions(trial: Trial) -> list[str]:
        (node,) = trial.to_dict()["logic_tree"]["children"][0]["children"][0]["children"]
        return [e["clause"] for e in node.get("except", [])]

    assert exceptions(pipeline.parse(text)) == []
    nlp = pipeline.load(custom)
    assert exceptions(pipeline.parse(text, nlp=nlp)) == ["barring hormonal therapy"]
    (many,) = pipeline.parse_many([text], nlp=nlp)
    assert exceptions(many) == ["barring hormonal therapy"]


def test_registry_page_fields_become_structured_criteria(parsed):
    """Seed 002 is a registry page: its "Ages Eligible for Study: | 18 Years and older |",
    "Sexes Eligible for Study: | All |" and "Accepts Healthy Volunteers: | No |" lines sit
    before the criteria and are read as API v2 gives them."""
    fields = {
        c.origin: (c.text, [(t.analyte, t.comparator, t.value) for t in c.thresholds])
        for c in parsed["002_63f7a08eae199110"].criteria
        if c.origin != "text"
    }
    assert fields == {
        "minimumAge": ("minimumAge: 18 Years", [("age", ">=", 18)]),
        "sex": ("sex: ALL", []),
        "healthyVolunteers": ("healthyVolunteers: False", []),
    }
    # the other seeds are criteria text alone
    assert all(
        c.origin == "text"
        for stem, t in parsed.items()
        if stem != "002_63f7a08eae199110"
        for c in t.criteria
    )


@pytest.mark.parametrize(
    "page, expected",
    [
        # NCT03862105, as LCT flattened the page: three fields on one line
        (
            "Minimum Age: 18 Years Maximum Age: 99 Years Sex: All Gender Based: No\n"
            "Criteria: Inclusion Criteria:\n  -  Male or female\n",
            {"minimumAge": "18 Years", "maximumAge": "99 Years", "sex": "ALL"},
        ),
        (
            "Ages Eligible for Study: 18 Years to 75 Years (Adult, Older Adult)\n"
            "Sexes Eligible for Study: Female\nAccepts Healthy Volunteers: Yes\n"
            "Inclusion Criteria:\n* Breast cancer\n",
            {
                "minimumAge": "18 Years",
                "maximumAge": "75 Years",
                "sex": "FEMALE",
                "healthyVolunteers": True,
            },
        ),
        # inside the criteria, the words are a criterion's own: no field
        ("Inclusion Criteria:\n* Sex: female\n* Minimum age: 18 years\n", {}),
    ],
)
def test_page_fields(page, expected):
    from pipeline.readers import page_fields

    trial = pipeline.parse(page)
    spans = [(c.start, c.end) for c in trial.criteria if c.origin == "text"]
    assert page_fields(page, spans) == expected
    assert {c.origin for c in trial.criteria} - {"text"} == set(expected)


def test_a_registry_field_pattern_must_name_known_fields(edited_rule_file):
    from pipeline.errors import PatternError
    from pipeline.readers import load_page_field_patterns

    path = edited_rule_file(
        "registry_fields.json",
        lambda body: body["patterns"].append(r"enrollment:\s*(?P<enrollment>\d+)"),
    )
    with pytest.raises(PatternError, match=r"registry_fields.json.*patterns\[6\].*enrollment"):
        load_page_field_patterns(path)
