"""Patient records for screening, read into plain dataclasses.

Screening must not care how a site exports its data, so this module reads the two shapes the
library accepts into one ``Patient``:

* a FHIR R4 ``Bundle`` (or a lone ``Patient`` resource): Patient (birthDate, gender),
  Observation (LOINC and/or text code, valueQuantity/valueInteger, referenceRange,
  effective date), Condition, MedicationStatement / MedicationRequest /
  MedicationAdministration (a ``medicationReference`` is resolved inside the bundle) and
  Procedure;
* a simple dict ``{"birth_date", "sex", "labs": [{"analyte" or "loinc", "value", "unit",
  "low", "high", "date"}], "conditions": [...], "medications": [...], "procedures": [...]}``.

Labs are tied to the analyte lexicon here (by LOINC code, then by name), so screening compares
analyte names, not codes. Records that say they are wrong (``entered-in-error``, a refuted
condition, a medication ``not-taken``, a procedure ``not-done``) are dropped: they are not
evidence. Anything unreadable raises ``ScreeningError`` naming the resource and the field.
Plain data only: no spaCy.
"""

from __future__ import annotations

import calendar
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .analytes import Analyte, load_analytes
from .errors import ScreeningError

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"

RecordKind = Literal["condition", "medication", "procedure"]

# Statuses that withdraw a resource: it was recorded in error, refuted, or not done.
_VOID_STATUSES = frozenset(
    {
        "entered-in-error",
        "cancelled",
        "refuted",
        "not-taken",
        "not-done",
        # a condition that is only suspected is not a diagnosis
        "unconfirmed",
        "provisional",
        "differential",
    }
)
# Statuses that say the thing is over: it happened, but is not current.
_PAST_STATUSES = frozenset(
    {"inactive", "resolved", "remission", "completed", "stopped", "ended", "on-hold"}
)
_CURRENT_STATUSES = frozenset({"active", "recurrence", "relapse", "in-progress", "intended"})

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_DOSE_START = re.compile(r"\s\d")


# --- Data -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coding:
    """One code of a CodeableConcept."""

    system: str | None
    code: str | None
    display: str | None


@dataclass(slots=True)
class Lab:
    """One numeric observation, as recorded, tied to its lexicon analyte when recognised.

    ``comparator`` keeps a censored result ("<5"): the value is then a bound, not a point.
    ``low``/``high`` are the Observation's own reference range, in ``range_unit``.
    """

    source: str
    analyte: str | None
    loinc: str | None
    text: str | None
    value: float | None
    unit: str | None
    comparator: str | None = None
    low: float | None = None
    high: float | None = None
    range_unit: str | None = None
    date: date | None = None


@dataclass(slots=True)
class ClinicalRecord:
    """A condition, medication or procedure: its names as recorded, codes, date and status.

    ``active`` is True for a current record, False for one that is over (resolved, completed),
    None when the record does not say.
    """

    source: str
    kind: RecordKind
    names: tuple[str, ...]
    codes: tuple[Coding, ...] = ()
    date: date | None = None
    status: str | None = None
    active: bool | None = None


@dataclass(slots=True)
class Patient:
    """Everything screening may use about one patient."""

    id: str | None = None
    birth_date: str | None = None  # as recorded: "1950", "1950-04" or "1950-04-02"
    sex: str | None = None  # FHIR administrative gender: male | female | other | unknown
    labs: list[Lab] = field(default_factory=list)
    conditions: list[ClinicalRecord] = field(default_factory=list)
    medications: list[ClinicalRecord] = field(default_factory=list)
    procedures: list[ClinicalRecord] = field(default_factory=list)

    @property
    def records(self) -> list[ClinicalRecord]:
        """Conditions, medications and procedures together (what criteria text can name)."""
        return [*self.conditions, *self.medications, *self.procedures]

    def age_on(self, on: date) -> tuple[int, int] | None:
        """(youngest, oldest) possible age in completed years on ``on``; None without a birth date.

        A partial birth date ("1950") leaves the age uncertain by up to a year; returning both
        bounds lets a threshold be decided only when they agree.
        """
        if not self.birth_date:
            return None
        earliest, latest = birth_date_bounds(self.birth_date)
        return completed_years(latest, on), completed_years(earliest, on)


# --- Dates --------------------------------------------------------------------------------------


def birth_date_bounds(text: str) -> tuple[date, date]:
    """Earliest and latest day a (possibly partial) FHIR date can mean."""
    match = _DATE.match(text.strip())
    if not match:
        raise ScreeningError(f"birth date {text!r} is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD)")
    year = int(match.group(1))
    try:
        if match.group(3):
            day = date(year, int(match.group(2)), int(match.group(3)))
            return day, day
        if match.group(2):
            month = int(match.group(2))
            last = calendar.monthrange(year, month)[1]
            return date(year, month, 1), date(year, month, last)
    except ValueError as exc:
        raise ScreeningError(f"birth date {text!r} is not a valid date: {exc}") from exc
    return date(year, 1, 1), date(year, 12, 31)


def completed_years(born: date, on: date) -> int:
    """Age in completed years, the way clinics count it (a birthday counts on its day)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parse_date(value: Any, where: str) -> date | None:
    """The calendar day of a FHIR date or dateTime (partial dates take their first day)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScreeningError(f"{where}: date {value!r} is not a string")
    match = _DATE.match(value.strip())
    if not match:
        raise ScreeningError(f"{where}: {value!r} is not a FHIR date")
    try:
        return date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError as exc:
        raise ScreeningError(f"{where}: {value!r} is not a valid date: {exc}") from exc


# --- Entry point --------------------------------------------------------------------------------


def read_patient(source: Patient | dict[str, Any] | str | Path) -> Patient:
    """A ``Patient`` from a FHIR Bundle / Patient resource, the simple dict, or a JSON file path.

    Raises ``ScreeningError`` with a one-line reason for anything that is not a patient record.
    """
    if isinstance(source, Patient):
        return source
    if isinstance(source, str | Path):
        return read_patient(_load_json(Path(source)))
    if not isinstance(source, dict):
        raise ScreeningError(f"a patient record must be a JSON object, not {type(source).__name__}")
    kind = source.get("resourceType")
    if kind == "Bundle":
        return from_fhir_bundle(source)
    if kind == "Patient":
        return from_fhir_bundle({"resourceType": "Bundle", "entry": [{"resource": source}]})
    if kind is not None:
        raise ScreeningError(f"expected a FHIR Bundle or Patient, got resourceType {kind!r}")
    if not _SIMPLE_KEYS & source.keys():
        raise ScreeningError(
            "not a patient record: neither a FHIR Bundle nor the simple form "
            f"(keys {sorted(_SIMPLE_KEYS)})"
        )
    return from_simple(source)


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScreeningError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScreeningError(f"{path}: cannot read patient file: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScreeningError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc


# --- Analytes -----------------------------------------------------------------------------------


@cache
def _analytes_by_loinc() -> dict[str, Analyte]:
    return {a.loinc: a for a in load_analytes() if a.loinc}


def resolve_analyte(loinc: str | None, names: Iterable[str | None]) -> str | None:
    """The lexicon analyte an observation measures: by LOINC code first, then by any name."""
    if loinc and loinc in _analytes_by_loinc():
        return _analytes_by_loinc()[loinc].name
    lexicon = load_analytes()
    for name in names:
        if name:
            analyte = lexicon.lookup(name)
            if analyte is not None:
                return analyte.name
    return None


# --- FHIR ---------------------------------------------------------------------------------------


def from_fhir_bundle(bundle: dict[str, Any]) -> Patient:
    """Read a FHIR R4 Bundle (any type) into a ``Patient``."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise ScreeningError("Bundle.entry must be a list")
    resources = [_entry_resource(e, n) for n, e in enumerate(entries)]
    medications = {
        f"Medication/{r.get('id')}": r for r in resources if r.get("resourceType") == "Medication"
    }
    patient = Patient()
    _read_demographics(patient, [r for r in resources if r.get("resourceType") == "Patient"])
    for resource in resources:
        _read_resource(patient, resource, medications)
    return patient


def _entry_resource(entry: Any, n: int) -> dict[str, Any]:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise ScreeningError(f"Bundle.entry[{n}] has no resource with a resourceType")
    return resource


def _read_demographics(patient: Patient, resources: list[dict[str, Any]]) -> None:
    ids = {r.get("id") for r in resources}
    if len(ids) > 1:
        raise ScreeningError(f"the bundle holds {len(ids)} patients; screen one at a time")
    if not resources:
        return
    resource = resources[0]
    patient.id = resource.get("id")
    birth = resource.get("birthDate")
    if birth is not None:
        if not isinstance(birth, str):
            raise ScreeningError(f"Patient.birthDate {birth!r} is not a string")
        birth_date_bounds(birth)  # validate now: a bad date is an unreadable record
        patient.birth_date = birth
    gender = resource.get("gender")
    patient.sex = gender.lower() if isinstance(gender, str) else None


def _read_resource(
    patient: Patient, resource: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> None:
    kind = resource["resourceType"]
    if _is_void(resource):
        return
    if kind == "Observation":
        lab = _observation(resource)
        if lab is not None:
            patient.labs.append(lab)
    elif kind == "Condition":
        patient.conditions.append(_condition(resource))
    elif kind in ("MedicationStatement", "MedicationRequest", "MedicationAdministration"):
        record = _medication(resource, medications)
        if record is not None:
            patient.medications.append(record)
    elif kind == "Procedure":
        patient.procedures.append(_procedure(resource))


def _is_void(resource: dict[str, Any]) -> bool:
    """True for resources that withdraw themselves (entered in error, refuted, not done)."""
    statuses = [resource.get("status"), _status_code(resource.get("verificationStatus"))]
    return any(isinstance(s, str) and s.lower() in _VOID_STATUSES for s in statuses)


def _status_code(concept: Any) -> str | None:
    codings = _codings(concept, "status")
    return codings[0].code if codings else None


def _where(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '?')}"


def _codings(concept: Any, where: str) -> list[Coding]:
    if concept is None:
        return []
    if not isinstance(concept, dict):
        raise ScreeningError(f"{where}: a CodeableConcept must be an object")
    out = []
    for coding in concept.get("coding", []) or []:
        if isinstance(coding, dict):
            out.append(Coding(coding.get("system"), coding.get("code"), coding.get("display")))
    return out


def _concept_names(concept: Any, where: str) -> list[str]:
    """The text and every coding display of a CodeableConcept, text first."""
    names: list[str] = []
    if isinstance(concept, dict) and isinstance(concept.get("text"), str):
        names.append(concept["text"])
    names += [c.display for c in _codings(concept, where) if c.display]
    return _unique(names)


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item.strip():
            seen.setdefault(item.strip(), None)
    return list(seen)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScreeningError(f"{where}: {value!r} is not a number")
    return float(value)


def _quantity(quantity: Any, where: str) -> tuple[float | None, str | None, str | None]:
    """(value, unit, comparator) of a FHIR Quantity; the UCUM code wins over the display unit."""
    if quantity is None:
        return None, None, None
    if not isinstance(quantity, dict):
        raise ScreeningError(f"{where}: a Quantity must be an object")
    raw = quantity.get("value")
    value = None if raw is None else _number(raw, f"{where}.value")
    unit = quantity.get("unit")
    if quantity.get("code") and quantity.get("system") in (UCUM_SYSTEM, None):
        unit = quantity["code"]
    comparator = quantity.get("comparator")
    return value, unit if isinstance(unit, str) and unit.strip() else None, comparator


def _observation(resource: dict[str, Any]) -> Lab | None:
    """A numeric Observation as a Lab; coded or text results are not numbers and are skipped."""
    where = _where(resource)
    code = resource.get("code")
    codings = _codings(code, f"{where}.code")
    loinc = next((c.code for c in codings if c.system == LOINC_SYSTEM and c.code), None)
    names = _concept_names(code, f"{where}.code")
    if "valueQuantity" in resource:
        value, unit, comparator = _quantity(resource["valueQuantity"], f"{where}.valueQuantity")
    elif "valueInteger" in resource:
        value, unit, comparator = (
            _number(resource["valueInteger"], f"{where}.valueInteger"),
            None,
            None,
        )
    else:
        return None
    low, high, range_unit = _reference_range(resource.get("referenceRange"), where)
    return Lab(
        source=where,
        analyte=resolve_analyte(loinc, names),
        loinc=loinc,
        text=names[0] if names else None,
        value=value,
        unit=unit,
        comparator=comparator if comparator in ("<", "<=", ">", ">=") else None,
        low=low,
        high=high,
        range_unit=range_unit or unit,
        date=_observation_date(resource, where),
    )


def _reference_range(ranges: Any, where: str) -> tuple[float | None, float | None, str | None]:
    """The first reference range with a bound: (low, high, unit)."""
    if not isinstance(ranges, list):
        return None, None, None
    for n, entry in enumerate(ranges):
        if not isinstance(entry, dict):
            continue
        low, low_unit, _ = _quantity(entry.get("low"), f"{where}.referenceRange[{n}].low")
        high, high_unit, _ = _quantity(entry.get("high"), f"{where}.referenceRange[{n}].high")
        if low is not None or high is not None:
            return low, high, high_unit or low_unit
    return None, None, None


def _observation_date(resource: dict[str, Any], where: str) -> date | None:
    period = resource.get("effectivePeriod")
    for value in (
        resource.get("effectiveDateTime"),
        resource.get("effectiveInstant"),
        (period.get("end") or period.get("start")) if isinstance(period, dict) else None,
        resource.get("issued"),
    ):
        if value is not None:
            return parse_date(value, where)
    return None


def _activity(status: str | None) -> bool | None:
    if status is None:
        return None
    if status in _CURRENT_STATUSES:
        return True
    if status in _PAST_STATUSES:
        return False
    return None


def _condition(resource: dict[str, Any]) -> ClinicalRecord:
    where = _where(resource)
    status = _status_code(resource.get("clinicalStatus"))
    onset = resource.get("onsetDateTime") or resource.get("recordedDate")
    return ClinicalRecord(
        source=where,
        kind="condition",
        names=tuple(_concept_names(resource.get("code"), f"{where}.code")),
        codes=tuple(_codings(resource.get("code"), f"{where}.code")),
        date=parse_date(onset, where),
        status=status,
        active=_activity(status),
    )


def _medication(
    resource: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> ClinicalRecord | None:
    where = _where(resource)
    concept = _medication_concept(resource, medications)
    if concept is None:
        return None
    status = resource.get("status") if isinstance(resource.get("status"), str) else None
    names = _concept_names(concept, f"{where}.medication")
    return ClinicalRecord(
        source=where,
        kind="medication",
        names=tuple(_unique([*names, *(_drug_name(n) for n in names)])),
        codes=tuple(_codings(concept, f"{where}.medication")),
        date=_medication_date(resource, where),
        status=status,
        active=_activity(status),
    )


def _medication_concept(
    resource: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """The medication's CodeableConcept: inline (R4 or R5 shape) or via a bundle reference."""
    medication = resource.get("medication")
    inline = resource.get("medicationCodeableConcept") or (
        medication.get("concept") if isinstance(medication, dict) else None
    )
    if isinstance(inline, dict):
        return inline
    reference = resource.get("medicationReference") or (
        medication.get("reference") if isinstance(medication, dict) else None
    )
    if not isinstance(reference, dict):
        return None
    target = medications.get(str(reference.get("reference")), {})
    code = target.get("code")
    if isinstance(code, dict):
        return code
    display = reference.get("display")
    return {"text": display} if isinstance(display, str) else None


def _medication_date(resource: dict[str, Any], where: str) -> date | None:
    period = resource.get("effectivePeriod")
    for value in (
        resource.get("effectiveDateTime"),
        period.get("start") if isinstance(period, dict) else None,
        resource.get("authoredOn"),
        resource.get("dateAsserted"),
    ):
        if value is not None:
            return parse_date(value, where)
    return None


def _drug_name(display: str) -> str:
    """The drug name of an RxNorm-style display: "Carfilzomib 60 MG Injection" -> "Carfilzomib"."""
    match = _DOSE_START.search(display)
    return display[: match.start()].strip() if match else display


def _procedure(resource: dict[str, Any]) -> ClinicalRecord:
    where = _where(resource)
    period = resource.get("performedPeriod")
    performed = resource.get("performedDateTime") or (
        period.get("start") if isinstance(period, dict) else None
    )
    status = resource.get("status") if isinstance(resource.get("status"), str) else None
    return ClinicalRecord(
        source=where,
        kind="procedure",
        names=tuple(_concept_names(resource.get("code"), f"{where}.code")),
        codes=tuple(_codings(resource.get("code"), f"{where}.code")),
        date=parse_date(performed, where),
        status=status,
        active=_activity(status),
    )


# --- Simple form --------------------------------------------------------------------------------

_SIMPLE_KEYS = frozenset(
    {"birth_date", "sex", "labs", "conditions", "medications", "procedures", "id"}
)


def from_simple(data: dict[str, Any]) -> Patient:
    """Read the simple dict form; every list item is checked and named in errors."""
    birth = data.get("birth_date")
    if birth is not None:
        if not isinstance(birth, str):
            raise ScreeningError(f"birth_date {birth!r} is not a string")
        birth_date_bounds(birth)
    sex = data.get("sex")
    return Patient(
        id=str(data["id"]) if data.get("id") is not None else None,
        birth_date=birth,
        sex=sex.lower() if isinstance(sex, str) else None,
        labs=[_simple_lab(item, n) for n, item in enumerate(_items(data, "labs"))],
        conditions=list(_simple_records(data, "conditions", "condition")),
        medications=list(_simple_records(data, "medications", "medication")),
        procedures=list(_simple_records(data, "procedures", "procedure")),
    )


def _items(data: dict[str, Any], key: str) -> list[Any]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise ScreeningError(f"{key} must be a list")
    return items


def _simple_lab(item: Any, n: int) -> Lab:
    where = f"labs[{n}]"
    if not isinstance(item, dict):
        raise ScreeningError(f"{where} must be an object")
    name, loinc = item.get("analyte"), item.get("loinc")
    if not name and not loinc:
        raise ScreeningError(f"{where} needs an 'analyte' or a 'loinc' code")
    unit = item.get("unit")
    return Lab(
        source=where,
        analyte=resolve_analyte(loinc, [name]),
        loinc=loinc,
        text=name,
        value=_number(item.get("value"), f"{where}.value"),
        unit=unit if isinstance(unit, str) and unit.strip() else None,
        comparator=None,
        low=_optional_number(item.get("low"), f"{where}.low"),
        high=_optional_number(item.get("high"), f"{where}.high"),
        range_unit=item.get("range_unit") or unit,
        date=parse_date(item.get("date"), where),
    )


def _optional_number(value: Any, where: str) -> float | None:
    return None if value is None else _number(value, where)


def _simple_records(data: dict[str, Any], key: str, kind: RecordKind) -> Iterator[ClinicalRecord]:
    for n, item in enumerate(_items(data, key)):
        where = f"{key}[{n}]"
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict):
            raise ScreeningError(f"{where} must be a string or an object")
        names = _unique(
            str(item[k]) for k in ("text", "name", "display") if isinstance(item.get(k), str)
        )
        if not names:
            raise ScreeningError(f"{where} needs a 'text' (or 'name')")
        if kind == "medication":
            names = _unique([*names, *(_drug_name(x) for x in names)])
        status = item.get("status") if isinstance(item.get("status"), str) else None
        if status in _VOID_STATUSES:
            continue
        code = item.get("code")
        yield ClinicalRecord(
            source=where,
            kind=kind,
            names=tuple(names),
            codes=(Coding(item.get("system"), str(code), names[0]),) if code else (),
            date=parse_date(item.get("date") or item.get("onset"), where),
            status=status,
            active=_activity(status),
        )
