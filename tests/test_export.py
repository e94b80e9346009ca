"""FHIR R5 EvidenceVariable and OHDSI Circe exports: structural checks on the gold trials."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.export import export, negate_group, ohdsi_skipped, to_fhir, to_ohdsi
from pipeline.schema import Trial

GOLD = Path(__file__).resolve().parent.parent / "corpus" / "gold"
GOLD_FILES = sorted(GOLD.glob("*.json"))
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
DEFINITIONS = (
    "definitionReference",
    "definitionCanonical",
    "definitionCodeableConcept",
    "definitionExpression",
    "definitionId",
    "definitionByTypeAndValue",
    "definitionByCombination",
)
FHIR_COMPARATORS = {"<", "<=", ">=", ">", "ad"}
CIRCE_OPS = {"lt", "lte", "eq", "!eq", "gt", "gte", "bt", "!bt"}


def gold(stem: str) -> Trial:
    return Trial.from_dict(json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8")))


def top(resource: dict[str, Any], link_id: str) -> dict[str, Any]:
    return next(c for c in resource["characteristic"] if c["linkId"] == link_id)


# --- FHIR structure -----------------------------------------------------------------------------


def characteristics(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        combination = item.get("definitionByCombination")
        if combination:
            yield from characteristics(combination["characteristic"])


def check_quantity(quantity: dict[str, Any], *, simple: bool = False) -> None:
    assert isinstance(quantity["value"], int | float) and not isinstance(quantity["value"], bool)
    if "code" in quantity:  # FHIR qty-3: a coded unit needs its system
        assert quantity["system"] == UCUM and quantity["unit"]
    if "comparator" in quantity:
        assert not simple and quantity["comparator"] in FHIR_COMPARATORS
    assert set(quantity) <= {"value", "comparator", "unit", "system", "code"}


def check_characteristic(item: dict[str, Any]) -> None:
    assert set(item) <= {"linkId", "description", "exclude", *DEFINITIONS}
    assert sum(key in item for key in DEFINITIONS) <= 1  # FHIR evv-1
    assert item.get("exclude", True) is True  # only ever written when true
    assert isinstance(item.get("description", ""), str)
    if "definitionByCombination" in item:
        combination = item["definitionByCombination"]
        assert combination["code"] in ("all-of", "any-of") and combination["characteristic"]
    if "definitionByTypeAndValue" in item:
        definition = item["definitionByTypeAndValue"]
        assert definition["type"].get("text") or definition["type"].get("coding")
        for coding in definition["type"].get("coding", []):
            assert coding["system"] == LOINC and re.fullmatch(r"\d+-\d", coding["code"])
        values = [k for k in definition if k.startswith("value")]
        assert len(values) == 1 and values[0] in ("valueQuantity", "valueRange")
        if "valueQuantity" in definition:
            check_quantity(definition["valueQuantity"])
        else:
            check_quantity(definition["valueRange"]["low"], simple=True)
            check_quantity(definition["valueRange"]["high"], simple=True)
        if "offset" in definition:
            (coding,) = definition["offset"]["coding"]
            assert coding["system"] == "http://hl7.org/fhir/characteristic-offset"
            assert coding["code"] in ("UNL", "LNL")


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_fhir_evidence_variable_is_structurally_valid(path):
    trial = gold(path.stem)
    resource = json.loads(json.dumps(to_fhir(trial)))
    assert resource["resourceType"] == "EvidenceVariable" and resource["status"] == "draft"
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource["id"])
    assert re.fullmatch(r"[A-Z][A-Za-z0-9_]{1,254}", resource["name"])
    top_level = [c for c in trial.criteria if c.parent_id is None]
    assert [c["linkId"] for c in resource["characteristic"]] == [c.id for c in top_level]
    for criterion, item in zip(top_level, resource["characteristic"], strict=True):
        assert item["description"] == criterion.text
        assert item.get("exclude", False) is (
            (criterion.section == "exclusion") != criterion.negated
        )
    for item in characteristics(resource["characteristic"]):
        check_characteristic(item)
    linked = [c["linkId"] for c in characteristics(resource["characteristic"]) if "linkId" in c]
    assert set(c.id for c in trial.criteria) <= set(linked)


def test_fhir_threshold_has_loinc_type_and_ucum_quantity():
    resource = to_fhir(gold("001_2342a196f04e89cb"))
    anc = top(resource, "c4")["definitionByTypeAndValue"]
    assert anc["type"]["coding"][0]["code"] == "751-8"
    assert anc["valueQuantity"] == {
        "value": 1,
        "comparator": ">=",
        "unit": "10*9/L",
        "system": UCUM,
        "code": "10*9/L",
    }
    # serum M-protein has no LOINC code in the lexicon: the type is text
    m_protein = top(resource, "c1")["definitionByCombination"]["characteristic"][0]
    assert m_protein["definitionByTypeAndValue"]["type"] == {"text": "serum m-protein"}


def test_fhir_uln_limits_use_the_r5_offset():
    resource = to_fhir(gold("001_2342a196f04e89cb"))
    alt, _ast = top(resource, "c7")["definitionByCombination"]["characteristic"]
    definition = alt["definitionByTypeAndValue"]
    assert definition["valueQuantity"] == {"value": 3, "unit": "x ULN", "comparator": "<="}
    assert definition["offset"]["coding"][0]["code"] == "UNL"
    anemia = next(
        c for c in characteristics(resource["characteristic"]) if c.get("linkId") == "c11"
    )
    below = anemia["definitionByCombination"]["characteristic"][0]["definitionByTypeAndValue"]
    assert below["offset"]["coding"][0]["code"] == "LNL"
    assert below["valueQuantity"]["value"] == -20 and below["valueQuantity"]["code"] == "g/L"


def test_fhir_or_parents_and_ranges_and_sets():
    resource = to_fhir(gold("004_52e4482ea3fe8426"))
    measurable = top(resource, "c2")["definitionByCombination"]
    assert measurable["code"] == "any-of"
    assert [c["linkId"] for c in measurable["characteristic"]] == ["c3", "c4", "c5"]
    lines = top(resource, "c6")["definitionByTypeAndValue"]["valueRange"]
    assert (lines["low"]["value"], lines["high"]["value"]) == (1, 3)
    ecog = top(to_fhir(gold("001_2342a196f04e89cb")), "c2")["definitionByCombination"]
    assert ecog["code"] == "any-of"
    values = [
        c["definitionByTypeAndValue"]["valueQuantity"]["value"] for c in ecog["characteristic"]
    ]
    assert values == [0, 1, 2]
    hepatic = top(to_fhir(gold("003_af3fb4ef3103d3e2")), "c17")["definitionByCombination"]
    assert hepatic["code"] == "all-of"


def test_fhir_exceptions_are_an_excluded_any_of_and_exclusions_are_excluded():
    resource = to_fhir(gold("001_2342a196f04e89cb"))
    hbv = top(resource, "c20")
    assert hbv["exclude"] is True
    statement, unless = hbv["definitionByCombination"]["characteristic"]
    assert statement["linkId"] == "c20-statement" and "exclude" not in statement
    assert unless["exclude"] is True
    assert [c["linkId"] for c in unless["definitionByCombination"]["characteristic"]] == [
        "c21",
        "c22",
    ]
    assert "exclude" not in top(resource, "c4")


def test_fhir_conditional_limits_are_alternatives():
    bilirubin = top(to_fhir(gold("001_2342a196f04e89cb")), "c6")["definitionByCombination"]
    assert bilirubin["code"] == "any-of"
    base, alternative = bilirubin["characteristic"]
    condition, _limits = alternative["definitionByCombination"]["characteristic"]
    assert condition["definitionCodeableConcept"] == {"text": "Gilbert syndrome"}


# --- OHDSI structure -----------------------------------------------------------------------------


def groups(group: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield group
    for child in group["Groups"]:
        yield from groups(child)


def measurements(expression: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(correlated criteria, Measurement) pairs of every inclusion rule."""
    for rule in expression["InclusionRules"]:
        for group in groups(rule["expression"]):
            for item in group["CriteriaList"]:
                yield item, item["Criteria"]["Measurement"]


def check_numeric_range(numeric: dict[str, Any]) -> None:
    assert numeric["Op"] in CIRCE_OPS and isinstance(numeric["Value"], int | float)
    if numeric["Op"] in ("bt", "!bt"):
        assert numeric["Extent"] >= numeric["Value"]


@pytest.mark.parametrize("path", GOLD_FILES, ids=lambda p: p.stem)
def test_ohdsi_cohort_expression_is_structurally_valid(path):
    expression = json.loads(json.dumps(to_ohdsi(gold(path.stem))))
    assert {
        "ConceptSets",
        "PrimaryCriteria",
        "InclusionRules",
        "QualifiedLimit",
        "ExpressionLimit",
        "CensoringCriteria",
        "CollapseSettings",
    } <= set(expression)
    assert expression["PrimaryCriteria"]["CriteriaList"]
    set_ids = {s["id"] for s in expression["ConceptSets"]}
    for concept_set in expression["ConceptSets"]:
        (item,) = concept_set["expression"]["items"]
        concept = item["concept"]
        assert concept["CONCEPT_ID"] == 0 and concept["VOCABULARY_ID"] == "LOINC"
        assert re.fullmatch(r"\d+-\d", concept["CONCEPT_CODE"])
        assert item["isExcluded"] is False
    for rule in expression["InclusionRules"]:
        assert rule["name"] and rule["description"]
        for group in groups(rule["expression"]):
            assert group["Type"] in ("ALL", "ANY")
            for demographic in group["DemographicCriteriaList"]:
                check_numeric_range(demographic["Age"])
    for correlated, measurement in measurements(expression):
        assert measurement["CodesetId"] in set_ids
        assert correlated["Occurrence"]["Type"] in (0, 2)
        assert correlated["StartWindow"]["End"] == {"Days": 0, "Coeff": 1}
        values = [
            k for k in ("ValueAsNumber", "RangeHighRatio", "RangeLowRatio") if k in measurement
        ]
        assert len(values) == 1
        check_numeric_range(measurement[values[0]])
        for unit in measurement.get("Unit", []):
            assert unit["VOCABULARY_ID"] == "UCUM" and unit["CONCEPT_ID"] == 0


def test_ohdsi_inclusion_thresholds_need_a_matching_measurement():
    expression = to_ohdsi(gold("001_2342a196f04e89cb"))
    anc = next(r for r in expression["InclusionRules"] if r["name"] == "c4 (inclusion)")
    (item,) = anc["expression"]["CriteriaList"]
    measurement = item["Criteria"]["Measurement"]
    assert measurement["ValueAsNumber"] == {"Value": 1, "Op": "gte"}
    assert measurement["Unit"][0]["CONCEPT_CODE"] == "10*9/L"
    assert item["Occurrence"] == {"Type": 2, "Count": 1}
    concept_set = expression["ConceptSets"][measurement["CodesetId"]]
    assert concept_set["expression"]["items"][0]["concept"]["CONCEPT_CODE"] == "751-8"
    liver = next(r for r in expression["InclusionRules"] if r["name"] == "c7 (inclusion)")
    ratios = [
        i["Criteria"]["Measurement"]["RangeHighRatio"] for i in liver["expression"]["CriteriaList"]
    ]
    assert ratios == [{"Value": 3, "Op": "lte"}, {"Value": 3, "Op": "lte"}]
    ecog = next(r for r in expression["InclusionRules"] if r["name"] == "c2 (inclusion)")
    (item,) = ecog["expression"]["CriteriaList"]
    assert item["Criteria"]["Measurement"]["ValueAsNumber"] == {"Value": 0, "Op": "bt", "Extent": 2}


def test_ohdsi_exclusions_are_negated_and_ages_are_demographic():
    expression = to_ohdsi(gold("003_af3fb4ef3103d3e2"))
    age = next(r for r in expression["InclusionRules"] if r["name"] == "c3 (inclusion)")
    assert age["expression"]["DemographicCriteriaList"] == [{"Age": {"Value": 18, "Op": "gte"}}]
    trial = gold("001_2342a196f04e89cb")
    renal = next(c for c in trial.criteria if c.id == "c10")  # a child of the OR-parent c8
    renal.parent_id = None
    (rule,) = to_ohdsi(Trial("renal", [renal]))["InclusionRules"]
    assert rule["name"] == "c10 (exclusion)"
    # NOT(GFR < 40 OR creatinine > 2): neither measurement may occur
    assert rule["expression"]["Type"] == "ALL"
    assert [i["Occurrence"] for i in rule["expression"]["CriteriaList"]] == [
        {"Type": 0, "Count": 0},
        {"Type": 0, "Count": 0},
    ]


def test_negate_group_applies_de_morgan():
    group = {
        "Type": "ANY",
        "CriteriaList": [{"Criteria": {}, "Occurrence": {"Type": 2, "Count": 1}}],
        "DemographicCriteriaList": [{"Age": {"Value": 18, "Op": "gte"}}],
        "Groups": [],
    }
    negated = negate_group(group)
    assert negated["Type"] == "ALL"
    assert negated["CriteriaList"][0]["Occurrence"] == {"Type": 0, "Count": 0}
    assert negated["DemographicCriteriaList"][0]["Age"]["Op"] == "lt"
    assert negate_group(negated) == group


def test_ohdsi_skipped_says_what_could_not_be_expressed():
    skipped = ohdsi_skipped(gold("001_2342a196f04e89cb"))
    assert "c6: conditional limit (Gilbert syndrome) is not exported" in skipped
    assert any(s.startswith("c11: hemoglobin: an offset from LLN") for s in skipped)
    assert any(s.startswith("c8: an alternative (OR child)") for s in skipped)
    assert len(skipped) == len(set(skipped))


def test_export_dispatches_by_name():
    trial = gold("004_52e4482ea3fe8426")
    assert export(trial, "fhir")["resourceType"] == "EvidenceVariable"
    assert "InclusionRules" in export(trial.to_dict(), "ohdsi")
    with pytest.raises(ValueError):
        export(trial, "cql")  # type: ignore[arg-type]


# --- CLI ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["fhir", "ohdsi"])
def test_cli_export_writes_json(capsys, target):
    assert main(["export", str(GOLD / "003_af3fb4ef3103d3e2.json"), "--to", target]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    if target == "fhir":
        assert data["resourceType"] == "EvidenceVariable"
    else:
        assert data["InclusionRules"] and "not expressible in Circe" in captured.err


def test_cli_export_bad_trial_is_a_one_line_error(capsys, tmp_path):
    bad = tmp_path / "trial.json"
    bad.write_text("[1, 2", encoding="utf-8")
    assert main(["export", str(bad), "--to", "fhir"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: invalid JSON") and err.count("\n") == 1
