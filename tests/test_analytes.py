"""The analyte lexicon: every line loads, lookups work on real criteria wording, bad files fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.analytes import (
    ANALYTES_FILE,
    CATEGORIES,
    Analyte,
    load_analytes,
    lookup_key,
    normalize,
)
from pipeline.errors import PatternError, UnitError
from pipeline.units import parse_unit

# Names the gold annotations use (corpus/gold/*.json), with the canonical unit the corpus
# README prescribes (None: unit-less).
GOLD_NAMES: dict[str, str | None] = {
    "age": "a",
    "ecog performance status": None,
    "serum m-protein": "g/L",
    "urine m-protein": "mg/(24.h)",
    "involved free light chain": "mg/L",
    "free light chain ratio": None,
    "absolute neutrophil count": "10*9/L",
    "platelet count": "10*9/L",
    "hemoglobin": "g/L",
    "total bilirubin": "umol/L",
    "direct bilirubin": "umol/L",
    "alanine aminotransferase": "U/L",
    "aspartate aminotransferase": "U/L",
    "corrected calcium": "mmol/L",
    "glomerular filtration rate": "mL/min/{1.73_m2}",
    "creatinine": "umol/L",
    "creatinine clearance": "mL/min",
    "bone marrow plasma cells": "%",
    "left ventricular ejection fraction": "%",
    "nyha class": None,
    "ctcae grade": None,
    "prior lines of therapy": None,
    "prior therapy cycles": None,
    "bone lesions": None,
    "lesion size": "mm",
    "corticosteroid dose": "mg/d",
    "urine albumin/creatinine ratio": "mg/g",
    "ketoacidosis episodes": None,
    "hospitalizations": None,
}


def _lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ANALYTES_FILE.read_text("utf-8").splitlines() if line]


def test_every_line_loads_and_names_are_unique() -> None:
    lexicon = load_analytes()
    assert len(lexicon) == len(_lines()) >= 130
    assert len(set(lexicon.names)) == len(lexicon)
    assert all(isinstance(a, Analyte) for a in lexicon)


def test_every_canonical_unit_parses() -> None:
    for analyte in load_analytes():
        if analyte.unit is not None:
            parse_unit(analyte.unit)  # raises UnitError if not


def test_categories_cover_the_brief() -> None:
    used = {a.category for a in load_analytes()}
    assert used == CATEGORIES


@pytest.mark.parametrize(("name", "unit"), sorted(GOLD_NAMES.items()))
def test_gold_names_exist_with_readme_units(name: str, unit: str | None) -> None:
    analyte = load_analytes().get(name)
    assert analyte is not None, name
    assert analyte.unit == unit


@pytest.mark.parametrize(
    ("name", "molar_mass", "valence"),
    [
        ("creatinine", 113.12, None),
        ("glucose", 180.16, None),
        ("calcium", 40.078, 2),
        ("corrected calcium", 40.078, 2),
        ("total bilirubin", 584.66, None),
        ("uric acid", 168.11, None),
        ("blood urea nitrogen", 28.014, None),
        ("total cholesterol", 386.65, None),
        ("triglycerides", 885.7, None),
        ("magnesium", 24.305, 2),
        ("phosphate", 30.974, None),
        ("potassium", 39.098, 1),
        ("sodium", 22.99, 1),
        ("chloride", 35.45, 1),
        ("bicarbonate", 61.017, 1),
    ],
)
def test_molar_masses_and_valences(name: str, molar_mass: float, valence: int | None) -> None:
    analyte = load_analytes().get(name)
    assert analyte is not None
    assert analyte.molar_mass == molar_mass
    assert analyte.valence == valence


@pytest.mark.parametrize(
    ("name", "loinc"),
    [
        ("absolute neutrophil count", "751-8"),
        ("platelet count", "777-3"),
        ("hemoglobin", "718-7"),
        ("creatinine", "2160-0"),
        ("total bilirubin", "1975-2"),
        ("direct bilirubin", "1968-7"),
        ("alanine aminotransferase", "1742-6"),
        ("aspartate aminotransferase", "1920-8"),
        ("calcium", "17861-6"),
        ("hemoglobin a1c", "4548-4"),
        ("glucose", "2345-7"),
        ("international normalized ratio", "6301-6"),
        ("glomerular filtration rate", "33914-3"),
        ("creatinine clearance", "2164-2"),
        ("left ventricular ejection fraction", "10230-1"),
        ("ecog performance status", "89247-1"),
        ("serum m-protein", None),
    ],
)
def test_loinc_codes(name: str, loinc: str | None) -> None:
    analyte = load_analytes().get(name)
    assert analyte is not None and analyte.loinc == loinc


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ANC", "absolute neutrophil count"),
        ("anc", "absolute neutrophil count"),
        ("Absolute neutrophil count (ANC)", "absolute neutrophil count"),
        ("absolute granulocyte count (ANC)", "absolute neutrophil count"),  # via the bracket
        ("absolute neutrophil counts", "absolute neutrophil count"),
        ("Platelets", "platelet count"),
        ("platelet count", "platelet count"),
        ("Platelet Counts", "platelet count"),
        ("AST", "aspartate aminotransferase"),
        ("SGOT", "aspartate aminotransferase"),
        ("ALT", "alanine aminotransferase"),
        ("SGPT", "alanine aminotransferase"),
        ("Hb", "hemoglobin"),
        ("Haemoglobin", "hemoglobin"),
        ("HbA1c", "hemoglobin a1c"),
        ("A1C", "hemoglobin a1c"),
        ("Serum M-protein", "serum m-protein"),
        ("serum M protein", "serum m-protein"),
        ("Serum monoclonal protein", "serum m-protein"),
        ("Urine M-protein", "urine m-protein"),
        ("monoclonal protein in the urine", "urine m-protein"),
        ("Involved FLC assay", "involved free light chain"),
        ("serum FLC ratio", "free light chain ratio"),
        ("Serum involved/uninvolved FLC ratio", "free light chain ratio"),
        ("glomerular filtration rate (GFR)", "glomerular filtration rate"),
        ("eGFR", "glomerular filtration rate"),
        ("CrCl", "creatinine clearance"),
        ("Corrected serum calcium", "corrected calcium"),
        ("Eastern Cooperative Oncology Group (ECOG) performance status", "ecog performance status"),
        ("New York Heart Association \\[NYHA\\] Class", "nyha class"),
        ("prior line of therapy", "prior lines of therapy"),
        ("cycles", "prior therapy cycles"),
        ("bone lytic lesion", "bone lesions"),
        ("episodes of ketoacidosis", "ketoacidosis episodes"),
        ("albumin/creatinine ratios", "urine albumin/creatinine ratio"),
        ("albumin / creatinine ratio", "urine albumin/creatinine ratio"),
        ("dose prednisone", "corticosteroid dose"),
        ("LVEF", "left ventricular ejection fraction"),
        ("QTcF", "qtcf interval"),
        ("NT-proBNP", "nt-probnp"),
        ("SpO2", "oxygen saturation"),
        ("BMI", "body mass index"),
    ],
)
def test_lookup_finds_criteria_wording(text: str, name: str) -> None:
    analyte = load_analytes().lookup(text)
    assert analyte is not None, text
    assert analyte.name == name


@pytest.mark.parametrize("text", ["", "patient", "xyz", "mg", "hours"])
def test_lookup_of_non_analytes_is_none(text: str) -> None:
    assert load_analytes().lookup(text) is None


def test_lookup_key_normalises_case_hyphens_and_plurals() -> None:
    assert lookup_key("Absolute-Neutrophil  Counts") == lookup_key("absolute neutrophil count")
    assert lookup_key("Therapies") == lookup_key("therapy")
    assert lookup_key("NYHA class") != lookup_key("NYHA clas")  # "class" is not a plural


def test_terms_cover_names_and_synonyms_once() -> None:
    lexicon = load_analytes()
    terms = list(lexicon.terms())
    assert ("ANC", "absolute neutrophil count") in terms
    assert ("platelet count", "platelet count") in terms
    assert len(terms) == len(set(terms))
    assert {name for _, name in terms} == set(lexicon.names)


def test_default_lexicon_is_cached() -> None:
    assert load_analytes() is load_analytes()
    assert load_analytes(ANALYTES_FILE) is load_analytes()
    assert load_analytes(str(ANALYTES_FILE)) is load_analytes()


# --- normalize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "unit", "expected", "canonical"),
    [
        ("serum m-protein", 0.5, "g/dL", 5.0, "g/L"),
        ("urine m-protein", 200, "mg/24 hours", 200.0, "mg/(24.h)"),
        ("involved free light chain", 10, "mg/dL", 100.0, "mg/L"),
        ("absolute neutrophil count", 1000, "/μL", 1.0, "10*9/L"),
        ("platelet count", 75000, "/µL", 75.0, "10*9/L"),
        ("hemoglobin", 8, "g/dL", 80.0, "g/L"),
        ("creatinine", 2, "mg/dL", 176.8, "umol/L"),
        ("total bilirubin", 3, "mg/dL", 51.31, "umol/L"),
        ("corrected calcium", 11, "mg/dL", 2.745, "mmol/L"),
        ("glucose", 126, "mg/dL", 6.99, "mmol/L"),
        ("sodium", 130, "mEq/L", 130.0, "mmol/L"),
        ("calcium", 5, "mEq/L", 2.5, "mmol/L"),
        ("glomerular filtration rate", 40, "mL/min/1.73 m²", 40.0, "mL/min/{1.73_m2}"),
        ("creatinine clearance", 30, "mL/min", 30.0, "mL/min"),
        ("urine albumin/creatinine ratio", 500, "mg/g", 500.0, "mg/g"),
        ("urine albumin/creatinine ratio", 30, "mg/mmol", 265.2, "mg/g"),
        ("age", 18, "years", 18.0, "a"),
        ("corticosteroid dose", 10, "mg/day", 10.0, "mg/d"),
        ("hemoglobin a1c", 48, "mmol/mol", 6.54, "%"),  # 6.5 % at NGSP precision
        ("hemoglobin a1c", 6.5, "%", 6.5, "%"),
        ("direct bilirubin", 35, "%", 35.0, "%"),  # a share of total stays a share
        ("life expectancy", 12, "weeks", 2.76, "mo"),
    ],
)
def test_normalize(name: str, value: float, unit: str, expected: float, canonical: str) -> None:
    analyte = load_analytes().get(name)
    assert analyte is not None
    result = normalize(analyte, value, unit)
    assert result is not None
    assert result.unit == canonical
    assert result.value == pytest.approx(expected, abs=0.01, rel=1e-3)
    assert result.conversion


def test_normalize_hba1c_records_master_equation() -> None:
    hba1c = load_analytes().get("hemoglobin a1c")
    assert hba1c is not None
    result = normalize(hba1c, 48, "mmol/mol")
    assert result is not None and "IFCC -> NGSP" in (result.conversion or "")


@pytest.mark.parametrize(
    ("name", "value", "unit"),
    [
        ("bone marrow plasma cells", 10, "g/dL"),  # percent analytes take percentages only
        ("left ventricular ejection fraction", 0.5, "L/L"),
        ("hemoglobin", 10, "mmol/mol"),
        ("ecog performance status", 2, "years"),  # unit-less analytes never normalise
        ("prior lines of therapy", 3, ""),
        ("creatinine", 2, ""),  # no unit written
        ("urine m-protein", 200, "mg"),  # an amount is not a 24-hour excretion
    ],
)
def test_normalize_returns_none_when_not_convertible(name: str, value: float, unit: str) -> None:
    analyte = load_analytes().get(name)
    assert analyte is not None
    assert normalize(analyte, value, unit) is None


@pytest.mark.parametrize("unit", ["blorps/dL", "x ULN", "log10 copies/mL"])
def test_normalize_unparseable_unit_is_none_not_a_crash(unit: str) -> None:
    creatinine = load_analytes().get("creatinine")
    assert creatinine is not None
    with pytest.raises(UnitError):
        parse_unit(unit)  # the unit really is unknown ...
    assert normalize(creatinine, 2, unit) is None  # ... and the pipeline carries on


# --- malformed lexicon files ------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "name": "creatinine",
    "synonyms": ["SCr"],
    "category": "chemistry",
    "loinc": "2160-0",
    "unit": "umol/L",
    "molar_mass": 113.12,
    "valence": None,
    "specimen": "serum",
}


def _write(tmp_path: Path, *records: dict[str, Any] | str) -> Path:
    path = tmp_path / "analytes.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _variant(**changes: Any) -> dict[str, Any]:
    record = dict(GOOD, name="albumin", synonyms=["Alb"], loinc=None, molar_mass=None)
    record.update(changes)
    return {k: v for k, v in record.items() if v is not _DROP}


_DROP = object()


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        ('{"name": "albumin", "synonyms": [', "invalid JSON"),
        ('["albumin"]', "expected a JSON object"),
        (_variant(specimen=_DROP), "missing key(s) ['specimen']"),
        (_variant(colour="red"), "unknown key(s) ['colour']"),
        (_variant(synonyms="Alb"), "synonyms='Alb'"),
        (_variant(molar_mass="66 kDa"), "molar_mass='66 kDa'"),
        (_variant(valence=True), "valence=True"),
        (_variant(valence=1.5), "valence=1.5"),
        (_variant(category="chem"), "category='chem'"),
        (_variant(name="Albumin"), "name='Albumin'"),
        (_variant(loinc="1751-8"), "loinc='1751-8'"),  # wrong check digit
        (_variant(loinc="LP1234"), "loinc='LP1234'"),
        (_variant(unit="g/dekaliterz"), "unit='g/dekaliterz'"),
        (_variant(unit="mg/100 mL"), "unit='mg/100 mL'"),
        (_variant(molar_mass=-1), "molar_mass=-1"),
        (_variant(synonyms=["Alb", ""]), "synonyms contains ''"),
        (_variant(name="creatinine", synonyms=[]), "duplicate analyte name 'creatinine'"),
        (_variant(synonyms=["Alb", "sCr"]), "synonym 'sCr'"),  # SCr already names creatinine
    ],
)
def test_malformed_lexicon_names_file_line_and_value(
    tmp_path: Path, bad_line: dict[str, Any] | str, needle: str
) -> None:
    path = _write(tmp_path, GOOD, "", bad_line)  # the bad record is on line 3
    with pytest.raises(PatternError) as excinfo:
        load_analytes(path)
    message = str(excinfo.value)
    assert f"{path}:3:" in message
    assert needle in message


def test_well_formed_custom_lexicon_loads(tmp_path: Path) -> None:
    lexicon = load_analytes(_write(tmp_path, GOOD, _variant()))
    assert lexicon.names == ("creatinine", "albumin")
    assert lexicon.lookup("alb") == lexicon.get("albumin")


def test_missing_or_empty_lexicon_file_raises(tmp_path: Path) -> None:
    with pytest.raises(PatternError, match="cannot read"):
        load_analytes(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(PatternError, match="empty"):
        load_analytes(empty)


# --- agreement with the hand-written gold -----------------------------------------------------

GOLD_DIR = Path(__file__).resolve().parent.parent / "corpus" / "gold"

# Gold normalisations this layer deliberately does not reproduce: "≥ 200 mg" of urine M-protein
# is an amount; the gold reads a 24-hour collection into it, which only the sentence can justify.
ASSUMED_BY_GOLD = {("urine m-protein", "mg")}


def _gold_thresholds() -> list[dict[str, Any]]:
    found = []
    for path in sorted(GOLD_DIR.glob("*.json")):
        for criterion in json.loads(path.read_text("utf-8"))["criteria"]:
            found += [t for t in criterion["thresholds"] if t["normalized"]]
    return found


@pytest.mark.skipif(not GOLD_DIR.is_dir(), reason="no gold corpus")
def test_normalize_reproduces_gold_normalisations() -> None:
    lexicon = load_analytes()
    checked = 0
    for t in _gold_thresholds():
        analyte = lexicon.get(t["analyte"])
        assert analyte is not None, t["analyte"]
        result = normalize(analyte, t["value"], t["unit"])
        if (t["analyte"], t["unit"]) in ASSUMED_BY_GOLD:
            assert result is None
            continue
        assert result is not None, t
        assert result.unit == t["normalized"]["unit"]
        assert result.value == pytest.approx(t["normalized"]["value"], abs=0.01), t
        checked += 1
    assert checked >= 10
