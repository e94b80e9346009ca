"""The analyte lexicon: what a criterion measures, how it is named and in which unit.

``patterns/analytes.jsonl`` holds one analyte per line (canonical name, synonyms, category,
LOINC code, canonical UCUM unit, molar mass, valence, specimen). This module loads it lazily,
validates every line so a bad edit fails loudly with file, line and value instead of silently
mis-normalising thresholds, answers name lookups the way criteria spell them ("ANC",
"Platelets", "SGOT"), and normalises values into each analyte's canonical unit.

Plain data only: no spaCy here. ``AnalyteLexicon.terms()`` is what a PhraseMatcher is built from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from pipeline import units
from pipeline.errors import PatternError, UnitError
from pipeline.schema import Normalized

ANALYTES_FILE = Path(__file__).resolve().parent.parent / "patterns" / "analytes.jsonl"

CATEGORIES: frozenset[str] = frozenset(
    {
        "hematology",
        "chemistry",
        "coagulation",
        "endocrine",
        "lipid",
        "tumor-marker",
        "myeloma",
        "infection",
        "cardiac",
        "vital",
        "body",
        "score",
        "demographic",
        "count",
        "dose",
        "size",
    }
)

# key -> (accepted JSON types, may be null). bool is excluded from numbers explicitly below.
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False),
    "synonyms": ((list,), False),
    "category": ((str,), False),
    "loinc": ((str,), True),
    "unit": ((str,), True),
    "molar_mass": ((int, float), True),
    "valence": ((int,), True),
    "specimen": ((str,), True),
}

_LOINC = re.compile(r"^(\d{1,7})-(\d)$")


@dataclass(frozen=True, slots=True)
class Analyte:
    """One measurable quantity of eligibility criteria, as declared in analytes.jsonl."""

    name: str
    synonyms: tuple[str, ...]
    category: str
    loinc: str | None
    unit: str | None
    molar_mass: float | None
    valence: int | None
    specimen: str | None


class AnalyteLexicon:
    """Analytes by canonical name, with a case-, hyphen- and plural-tolerant lookup."""

    def __init__(self, analytes: Sequence[Analyte], index: dict[str, str]) -> None:
        self._by_name = {a.name: a for a in analytes}
        self._index = index  # lookup key -> canonical name

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[Analyte]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        """Canonical names, in file order."""
        return tuple(self._by_name)

    def get(self, name: str) -> Analyte | None:
        """The analyte with this exact canonical name, or None."""
        return self._by_name.get(name)

    def lookup(self, text: str) -> Analyte | None:
        """The analyte a surface form names ("ANC", "Platelets", "SGOT"), or None.

        Criteria often add the abbreviation in brackets ("glomerular filtration rate (GFR)"):
        when the whole form is unknown, the form without its brackets is tried, then each
        bracketed part on its own.
        """
        for candidate in _lookup_candidates(text):
            name = self._index.get(lookup_key(candidate))
            if name is not None:
                return self._by_name[name]
        return None

    def terms(self) -> Iterator[tuple[str, str]]:
        """Every (surface form, canonical name) pair, names included, for a PhraseMatcher."""
        for analyte in self._by_name.values():
            seen: set[str] = set()
            for form in (analyte.name, *analyte.synonyms):
                if form not in seen:
                    seen.add(form)
                    yield form, analyte.name


# --- Lookup keys ------------------------------------------------------------------------------

_PUNCT = re.compile(r"[\\()\[\]{}'’\"]")
_SEPARATORS = re.compile(r"[-‐‑–—_]")
_SPACED_SLASH = re.compile(r"\s*/\s*")


def lookup_key(text: str) -> str:
    """Normalise a surface form: lower case, hyphens as spaces, no brackets, simple singulars.

    "Absolute Neutrophil Counts", "absolute-neutrophil count" and "(ANC)" all reach one key;
    the same function builds the index, so lookups and validation agree.
    """
    lowered = _PUNCT.sub(" ", text.lower())
    lowered = _SPACED_SLASH.sub("/", _SEPARATORS.sub(" ", lowered))
    return " ".join(_singular(word) for word in lowered.split())


_BRACKETED = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")


def _lookup_candidates(text: str) -> Iterator[str]:
    """The form itself, the form without bracketed parts, then each bracketed part."""
    yield text
    plain = text.replace("\\", "")
    inner = [a or b for a, b in _BRACKETED.findall(plain)]
    if inner:
        yield _BRACKETED.sub(" ", plain)
        yield from inner


def _singular(word: str) -> str:
    """A plural-insensitive form of one word; consistent, not necessarily English."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# --- Loading ----------------------------------------------------------------------------------


def load_analytes(path: Path | str | None = None) -> AnalyteLexicon:
    """Load and validate the lexicon; the default file is read once and cached.

    Raises ``PatternError`` naming the file, the line and the offending value for malformed
    JSON, missing or extra keys, wrong types, an unknown category, a LOINC code with a bad
    check digit, a unit Pint cannot parse, or a surface form claimed by two analytes.
    """
    if path is None or Path(path).resolve() == ANALYTES_FILE:
        return _default_lexicon()
    return _load(Path(path))


@cache
def _default_lexicon() -> AnalyteLexicon:
    return _load(ANALYTES_FILE)


def _load(path: Path) -> AnalyteLexicon:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PatternError(f"{path}: cannot read analyte lexicon: {exc}") from exc
    analytes: dict[str, Analyte] = {}
    index: dict[str, str] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        analyte = _parse_line(path, lineno, line)
        if analyte.name in analytes:
            _fail(path, lineno, analyte.name, f"duplicate analyte name {analyte.name!r}")
        _index_forms(path, lineno, analyte, index)
        analytes[analyte.name] = analyte
    if not analytes:
        raise PatternError(f"{path}: analyte lexicon is empty")
    return AnalyteLexicon(list(analytes.values()), index)


def _parse_line(path: Path, lineno: int, line: str) -> Analyte:
    """One JSON line -> a validated Analyte."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        _fail(path, lineno, "?", f"invalid JSON ({exc.msg} at column {exc.colno}): {line[:60]!r}")
    if not isinstance(record, dict):
        _fail(path, lineno, "?", f"expected a JSON object, got {type(record).__name__}")
    name = record.get("name") if isinstance(record.get("name"), str) else "?"
    _check_keys(path, lineno, name, record)
    for key, value in record.items():
        _check_type(path, lineno, name, key, value)
    _check_values(path, lineno, name, record)
    return Analyte(
        name=record["name"],
        synonyms=tuple(record["synonyms"]),
        category=record["category"],
        loinc=record["loinc"],
        unit=record["unit"],
        molar_mass=float(record["molar_mass"]) if record["molar_mass"] is not None else None,
        valence=record["valence"],
        specimen=record["specimen"],
    )


def _check_keys(path: Path, lineno: int, name: str, record: dict[str, Any]) -> None:
    missing = [k for k in _FIELDS if k not in record]
    extra = [k for k in record if k not in _FIELDS]
    if missing:
        _fail(path, lineno, name, f"missing key(s) {missing}")
    if extra:
        _fail(path, lineno, name, f"unknown key(s) {extra} (allowed: {list(_FIELDS)})")


def _check_type(path: Path, lineno: int, name: str, key: str, value: Any) -> None:
    types, nullable = _FIELDS[key]
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in types) + (" or null" if nullable else "")
        _fail(path, lineno, name, f"{key}={value!r} should be {expected}")


def _check_values(path: Path, lineno: int, name: str, record: dict[str, Any]) -> None:
    """Content rules: what a well-typed line must still satisfy."""
    if not record["name"].strip() or record["name"] != record["name"].lower():
        _fail(path, lineno, name, f"name={record['name']!r} must be non-empty lower case")
    for synonym in record["synonyms"]:
        if not isinstance(synonym, str) or not synonym.strip():
            _fail(path, lineno, name, f"synonyms contains {synonym!r}: need non-empty strings")
    if record["category"] not in CATEGORIES:
        _fail(
            path,
            lineno,
            name,
            f"category={record['category']!r} is not one of {sorted(CATEGORIES)}",
        )
    if record["loinc"] is not None and not _valid_loinc(record["loinc"]):
        _fail(path, lineno, name, f"loinc={record['loinc']!r} is not a LOINC code (check digit)")
    if record["molar_mass"] is not None and not record["molar_mass"] > 0:
        _fail(path, lineno, name, f"molar_mass={record['molar_mass']!r} must be > 0 g/mol")
    if record["valence"] is not None and record["valence"] < 1:
        _fail(path, lineno, name, f"valence={record['valence']!r} must be >= 1")
    if record["unit"] is not None:
        try:
            units.parse_unit(record["unit"])
        except UnitError as exc:
            _fail(path, lineno, name, f"unit={record['unit']!r} does not parse: {exc}")


def _valid_loinc(code: str) -> bool:
    """LOINC codes end in a mod-10 (Luhn) check digit: catches most typos."""
    match = _LOINC.match(code)
    if not match:
        return False
    body, check = match.group(1), int(match.group(2))
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10 == check


def _index_forms(path: Path, lineno: int, analyte: Analyte, index: dict[str, str]) -> None:
    """Add the analyte's name and synonyms to the lookup index; a shared form is an error."""
    for form in (analyte.name, *analyte.synonyms):
        key = lookup_key(form)
        owner = index.setdefault(key, analyte.name)
        if owner != analyte.name:
            _fail(
                path,
                lineno,
                analyte.name,
                f"synonym {form!r} (key {key!r}) already names analyte {owner!r}",
            )


def _fail(path: Path, lineno: int, name: str, problem: str) -> NoReturn:
    raise PatternError(f"{path}:{lineno}: analyte {name!r}: {problem}")


# --- Normalisation ----------------------------------------------------------------------------


def normalize(analyte: Analyte, value: float | Sequence[float], unit: str) -> Normalized | None:
    """``value unit`` in the analyte's canonical unit, or None when nothing can be converted.

    Uses the analyte's molar mass and valence for mass <-> molar and mEq conversions. Two
    cases Pint cannot decide alone: HbA1c written in mmol/mol (IFCC) against a % canonical
    unit goes through the IFCC-NGSP master equation, and a percentage of a non-% analyte
    ("direct bilirubin < 35%", a share of total) stays a percentage. A unit-less analyte
    (scores, counts), an empty unit or a unit that does not parse ("x ULN", "log copies/mL")
    gives None: the caller records why, parsing goes on.
    """
    if analyte.unit is None or not unit or not unit.strip():
        return None
    try:
        return _normalize(analyte, value, unit, analyte.unit)
    except UnitError:
        return None


def _normalize(
    analyte: Analyte, value: float | Sequence[float], unit: str, canonical: str
) -> Normalized | None:
    """Pint first, then the two analyte-level rules ``normalize`` documents."""
    result = units.to_canonical(
        value, unit, canonical, molar_mass=analyte.molar_mass, valence=analyte.valence
    )
    if result is not None:
        return result
    hba1c = units.hba1c_scale(value, unit, canonical)
    if hba1c is not None:
        return hba1c
    if units.is_percent(unit):
        share = units.to_canonical(value, unit, "%")
        if share is not None:
            share.conversion = f"{unit.strip()} kept as a share: not convertible to {canonical}"
        return share
    return None
