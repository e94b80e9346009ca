"""Reading patient records: FHIR R4 Bundles and the simple dict form, and their errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import ScreeningError
from pipeline.patient import (
    Patient,
    birth_date_bounds,
    completed_years,
    from_simple,
    read_patient,
    resolve_analyte,
)

PATIENTS = Path(__file__).resolve().parent.parent / "corpus" / "patients"
BUNDLES = sorted(p for p in PATIENTS.glob("*.json") if not p.name.endswith(".expected.json"))
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def observation(oid: str, **fields) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", **fields}


@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.stem)
def test_every_synthetic_bundle_reads(path):
    patient = read_patient(path)
    assert patient.id and patient.birth_date and patient.sex in ("male", "female")
    assert patient.labs, "every synthetic patient has labs"
    assert all(lab.analyte for lab in patient.labs), "every synthetic lab is in the lexicon"


def test_there_are_enough_synthetic_patients():
    expected = sorted(PATIENTS.glob("*.expected.json"))
    assert len(BUNDLES) >= 6 and len(expected) == len(BUNDLES)
    trials = {json.loads(p.read_text(encoding="utf-8"))["trial"] for p in expected}
    assert len(trials) >= 3


def test_observation_fields_are_read_as_recorded():
    patient = read_patient(PATIENTS / "smm_creatinine_umol_001.json")
    crea = next(lab for lab in patient.labs if lab.source == "Observation/crea")
    assert (crea.value, crea.unit, crea.low, crea.high) == (221, "umol/L", 60, 110)
    assert crea.date == date(2025, 5, 20)
    # LOINC 14682-9 is not the lexicon's creatinine code: the name resolves it
    assert crea.loinc == "14682-9" and crea.analyte == "creatinine"
    anc = next(lab for lab in patient.labs if lab.source == "Observation/anc")
    assert (anc.analyte, anc.unit) == ("absolute neutrophil count", "{cells}/uL")


def test_analytes_resolve_by_loinc_then_by_name():
    assert resolve_analyte("751-8", []) == "absolute neutrophil count"
    assert resolve_analyte("0000-0", ["Platelets"]) == "platelet count"
    assert resolve_analyte(None, ["ANC"]) == "absolute neutrophil count"
    assert resolve_analyte(None, ["Something else"]) is None


def test_ucum_code_wins_over_display_unit_and_censored_values_keep_their_comparator():
    quantity = {"value": 5, "comparator": "<", "unit": "mg per dL", "system": UCUM, "code": "mg/dL"}
    patient = read_patient(
        bundle(observation("a", code={"text": "Creatinine"}, valueQuantity=quantity))
    )
    (lab,) = patient.labs
    assert (lab.unit, lab.comparator, lab.value) == ("mg/dL", "<", 5)


def test_non_numeric_and_withdrawn_resources_are_not_evidence():
    patient = read_patient(
        bundle(
            observation("text", code={"text": "ANC"}, valueString="normal"),
            {
                **observation("void", code={"text": "ANC"}, valueQuantity={"value": 1}),
                "status": "entered-in-error",
            },
            {
                "resourceType": "Condition",
                "id": "refuted",
                "verificationStatus": {"coding": [{"code": "refuted"}]},
                "code": {"text": "Multiple myeloma"},
            },
            {
                "resourceType": "MedicationStatement",
                "id": "never",
                "status": "not-taken",
                "medicationCodeableConcept": {"text": "Carfilzomib"},
            },
            {
                "resourceType": "Procedure",
                "id": "nd",
                "status": "not-done",
                "code": {"text": "ASCT"},
            },
        )
    )
    assert patient.labs == [] and patient.records == []


def test_medications_resolve_references_and_keep_the_drug_name():
    patient = read_patient(
        bundle(
            {
                "resourceType": "Medication",
                "id": "m1",
                "code": {
                    "coding": [
                        {
                            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                            "code": "1302966",
                            "display": "Carfilzomib 60 MG Injection",
                        }
                    ]
                },
            },
            {
                "resourceType": "MedicationRequest",
                "id": "r1",
                "status": "completed",
                "medicationReference": {"reference": "Medication/m1"},
                "authoredOn": "2022-01-10",
            },
        )
    )
    (record,) = patient.medications
    assert record.names == ("Carfilzomib 60 MG Injection", "Carfilzomib")
    assert (record.date, record.active) == (date(2022, 1, 10), False)


def test_condition_status_says_whether_it_is_current():
    def condition(status: str) -> dict:
        return {
            "resourceType": "Condition",
            "id": status,
            "code": {"text": "Hypertension"},
            "clinicalStatus": {"coding": [{"code": status}]},
        }

    patient = read_patient(bundle(condition("active"), condition("resolved")))
    assert [c.active for c in patient.conditions] == [True, False]


def test_partial_birth_dates_give_an_age_interval():
    assert birth_date_bounds("1950") == (date(1950, 1, 1), date(1950, 12, 31))
    assert birth_date_bounds("2000-02") == (date(2000, 2, 1), date(2000, 2, 29))
    assert Patient(birth_date="1950").age_on(date(2025, 6, 1)) == (74, 75)
    assert Patient(birth_date="1958-06-01").age_on(date(2025, 6, 1)) == (67, 67)
    assert Patient(birth_date=None).age_on(date(2025, 6, 1)) is None
    assert completed_years(date(2000, 6, 2), date(2025, 6, 1)) == 24


def test_simple_form_reads_labs_conditions_and_medications():
    patient = from_simple(
        {
            "id": "s1",
            "birth_date": "1960-01-31",
            "sex": "Female",
            "labs": [
                {"analyte": "ANC", "value": 800, "unit": "cells/uL", "date": "2025-05-01"},
                {"loinc": "1742-6", "value": 80, "unit": "U/L", "low": 7, "high": 35},
            ],
            "conditions": ["Multiple myeloma", {"text": "Hypertension", "status": "active"}],
            "medications": [{"name": "Lenalidomide 25 MG", "date": "2020-01-01"}],
        }
    )
    assert patient.sex == "female"
    assert [lab.analyte for lab in patient.labs] == [
        "absolute neutrophil count",
        "alanine aminotransferase",
    ]
    assert patient.labs[1].high == 35 and patient.labs[1].range_unit == "U/L"
    assert [c.names[0] for c in patient.conditions] == ["Multiple myeloma", "Hypertension"]
    assert patient.medications[0].names == ("Lenalidomide 25 MG", "Lenalidomide")


def test_a_lone_patient_resource_is_a_record_with_demographics_only():
    patient = read_patient({"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"})
    assert patient.birth_date == "1970-01-01" and patient.labs == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ({"resourceType": "Observation"}, "expected a FHIR Bundle or Patient"),
        ({"criteria": []}, "not a patient record"),
        ({"resourceType": "Bundle", "entry": {}}, "Bundle.entry must be a list"),
        ({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}, "entry[0]"),
        (bundle({"resourceType": "Patient", "id": "p", "birthDate": "June 1950"}), "birth date"),
        (
            bundle(observation("o", code={"text": "ANC"}, valueQuantity={"value": "high"})),
            "Observation/o.valueQuantity.value",
        ),
        (
            bundle({"resourceType": "Patient", "id": "a"}, {"resourceType": "Patient", "id": "b"}),
            "2 patients",
        ),
        ({"labs": [{"value": 1}]}, "labs[0] needs an 'analyte' or a 'loinc'"),
        ({"labs": [{"analyte": "ANC", "value": None}]}, "labs[0].value"),
        ({"labs": "ANC 800"}, "labs must be a list"),
        ({"birth_date": "1950-13-01"}, "not a valid date"),
    ],
)
def test_unreadable_records_raise_one_screening_error(record, message):
    with pytest.raises(ScreeningError) as info:
        read_patient(record)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_patient_files_that_are_missing_or_not_json_raise_screening_error(tmp_path):
    with pytest.raises(ScreeningError, match="no such file"):
        read_patient(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScreeningError, match="invalid JSON at line 1"):
        read_patient(str(bad))
