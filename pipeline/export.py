"""Export a trial's structured criteria to FHIR R5 and OHDSI, as plain JSON-ready dicts.

* ``to_fhir``: one FHIR R5 ``EvidenceVariable`` per trial. Each top-level criterion is a
  ``characteristic`` (``description`` = its text, ``exclude: true`` for exclusion criteria);
  thresholds become ``definitionByTypeAndValue`` (LOINC type when known, a UCUM
  ``valueQuantity`` with comparator, or a ``valueRange`` for a closed range; ULN/LLN limits
  carry the R5 ``offset`` UNL/LNL), AND/OR parents and threshold combinations become
  ``definitionByCombination`` all-of / any-of, and EXCEPT children an excluded any-of.
* ``to_ohdsi``: an OHDSI Circe cohort expression for what OMOP can check: measurement
  thresholds (LOINC concept sets with ``CONCEPT_ID`` 0 to be mapped by the user, a
  ``ValueAsNumber`` in the canonical UCUM unit, ``RangeHighRatio``/``RangeLowRatio`` for
  multiples of ULN/LLN) and age. ``ohdsi_skipped`` lists what could not be expressed, so a
  cohort is never silently looser or stricter than the criteria.

Both use the threshold combination of ``pipeline.screening.threshold_plan``, so an export
says what screening evaluates. Plain data only: no spaCy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .analytes import load_analytes
from .schema import Criterion, Threshold, Trial
from .screening import ThresholdGroup, ThresholdPlan, as_trial, threshold_plan

UCUM_SYSTEM = "http://unitsofmeasure.org"
LOINC_SYSTEM = "http://loinc.org"
OFFSET_SYSTEM = "http://hl7.org/fhir/characteristic-offset"  # R5: UNL / LNL

_FHIR_COMPARATORS = {">": ">", ">=": ">=", "<": "<", "<=": "<="}
_CIRCE_OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "==": "eq", "!=": "!eq"}
_CIRCE_NEGATED_OPS = {
    "gt": "lte",
    "gte": "lt",
    "lt": "gte",
    "lte": "gt",
    "eq": "!eq",
    "!eq": "eq",
    "bt": "!bt",
    "!bt": "bt",
}
# Circe Occurrence types
_EXACTLY, _AT_LEAST = 0, 2


# --- Shared -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Range:
    """A closed range written as two limits on one analyte (">= 10" and "<= 60")."""

    low: Threshold
    high: Threshold


_Item = Threshold | ThresholdGroup | _Range


def _with_ranges(group: ThresholdGroup) -> list[_Item]:
    """The group's items, with an AND-ed ">= a" and "<= b" on one analyte merged into a range."""
    items: list[_Item] = list(group.items)
    if group.op != "and":
        return items
    for low in [i for i in items if isinstance(i, Threshold) and _closed_bound(i, ">=")]:
        high = next(
            (
                i
                for i in items
                if isinstance(i, Threshold) and _closed_bound(i, "<=") and _same_scale(low, i)
            ),
            None,
        )
        if high is not None and low in items:
            position = items.index(low)
            items.remove(low)
            items.remove(high)
            items.insert(position, _Range(low, high))
    return items


def _closed_bound(t: Threshold, comparator: str) -> bool:
    return t.comparator == comparator and t.relative_to is None and not isinstance(t.value, list)


def _same_scale(a: Threshold, b: Threshold) -> bool:
    return a.analyte == b.analyte and _unit_of(a) == _unit_of(b)


def _unit_of(t: Threshold) -> str | None:
    return t.normalized.unit if t.normalized is not None else t.unit


def _value_of(t: Threshold) -> float | list[float]:
    return t.normalized.value if t.normalized is not None else t.value


def _loinc(t: Threshold) -> str | None:
    if t.loinc:
        return t.loinc
    analyte = load_analytes().get(t.analyte)
    return analyte.loinc if analyte is not None else None


def _children(trial: Trial) -> tuple[list[Criterion], dict[str, list[Criterion]]]:
    """(top-level criteria, children by parent id); dangling parent ids count as top level."""
    ids = {c.id for c in trial.criteria}
    children: dict[str, list[Criterion]] = {}
    top: list[Criterion] = []
    for c in trial.criteria:
        if c.parent_id in ids and c.parent_id != c.id:
            children.setdefault(c.parent_id, []).append(c)
        else:
            top.append(c)
    return top, children


def _describe(t: Threshold, c: Criterion | None = None) -> str:
    """The threshold as written in the criterion, or rebuilt from its fields."""
    if c is not None and c.start is not None:
        lo, hi = t.start - c.start, t.end - c.start
        if 0 <= lo < hi <= len(c.text):
            return c.text[lo:hi]
    relative = f" x {t.relative_to}" if t.relative_to else ""
    unit = f" {t.unit}" if t.unit else ""
    return f"{t.analyte_text or t.analyte} {t.comparator} {t.value}{unit}{relative}"


# --- FHIR R5 EvidenceVariable -------------------------------------------------------------------


def to_fhir(trial: Trial | dict[str, Any]) -> dict[str, Any]:
    """The trial's criteria as one FHIR R5 ``EvidenceVariable`` resource (a dict)."""
    structured = as_trial(trial)
    top, children = _children(structured)
    builder = _FhirBuilder(children)
    name = structured.trial_id or "trial"
    return {
        "resourceType": "EvidenceVariable",
        "id": _fhir_id(name),
        "status": "draft",
        "name": _fhir_name(name),
        "title": f"Eligibility criteria of {name}",
        "description": (
            "Eligibility criteria structured by eligibility-pipeline: inclusion criteria must "
            "hold, exclusion criteria (exclude: true) must not."
        ),
        "characteristic": [builder.characteristic(c, top=True) for c in top],
    }


def _fhir_id(text: str) -> str:
    """A valid FHIR id: [A-Za-z0-9-.]{1,64}."""
    return (re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-") or "trial")[:64]


def _fhir_name(text: str) -> str:
    """A computable name (FHIR cnl-0): starts upper case, letters, digits and underscores."""
    body = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "trial"
    return f"Eligibility_{body}"[:255]


@dataclass(slots=True)
class _FhirBuilder:
    children: dict[str, list[Criterion]]

    def characteristic(self, c: Criterion, *, top: bool) -> dict[str, Any]:
        """One criterion; exclusion (at top level) and negation both set ``exclude``."""
        excluded_section = top and c.section == "exclusion"
        out: dict[str, Any] = {"linkId": c.id, "description": c.text}
        exceptions = [k for k in self.children.get(c.id, []) if k.exception]
        definition = self.definition(c)
        if not exceptions:
            _attach(out, definition, exclude=c.negated != excluded_section)
            return out
        statement: dict[str, Any] = {"linkId": f"{c.id}-statement", "description": c.text}
        _attach(statement, definition, exclude=c.negated)
        unless = {
            "description": "except when any of these holds",
            "exclude": True,
            "definitionByCombination": {
                "code": "any-of",
                "characteristic": [self.characteristic(k, top=False) for k in exceptions],
            },
        }
        combined = {
            "definitionByCombination": {"code": "all-of", "characteristic": [statement, unless]}
        }
        _attach(out, combined, exclude=excluded_section)
        return out

    def definition(self, c: Criterion) -> dict[str, Any]:
        """The criterion's own definition[x]: thresholds and/or its regular children."""
        parts: list[dict[str, Any]] = []
        plan = threshold_plan(c)
        if plan is not None:
            parts.append(self.plan(c, plan))
        regular = [k for k in self.children.get(c.id, []) if not k.exception]
        if regular:
            code = "any-of" if c.logic == "or" else "all-of"
            kids = [self.characteristic(k, top=False) for k in regular]
            parts.append({"definitionByCombination": {"code": code, "characteristic": kids}})
        if not parts:
            return {}  # free text only: the description is the definition
        if len(parts) == 1:
            return parts[0]
        described = [
            {"description": "limits stated in the criterion", **parts[0]},
            {"description": "criteria listed under it", **parts[1]},
        ]
        return {"definitionByCombination": {"code": "all-of", "characteristic": described}}

    def plan(self, c: Criterion, plan: ThresholdPlan) -> dict[str, Any]:
        """Base limits, OR-ed with conditional alternatives; examples become any-of."""
        options: list[dict[str, Any]] = []
        if plan.base is not None:
            options.append({"description": "limits", **self.group(c, plan.base)})
        for alternative in plan.alternatives:
            condition = {
                "description": f"applies when: {alternative.condition}",
                "definitionCodeableConcept": {"text": alternative.condition},
            }
            limits = {"description": "alternative limits", **self.group(c, alternative.group)}
            options.append(
                {
                    "description": f"alternative when {alternative.condition}",
                    "definitionByCombination": {
                        "code": "all-of",
                        "characteristic": [condition, limits],
                    },
                }
            )
        if len(options) == 1:
            return {k: v for k, v in options[0].items() if k != "description"}
        return {"definitionByCombination": {"code": "any-of", "characteristic": options}}

    def group(self, c: Criterion, group: ThresholdGroup) -> dict[str, Any]:
        items = _with_ranges(group)
        if len(items) == 1:
            return self.item(c, items[0])
        code = "any-of" if group.op == "or" else "all-of"
        characteristics = [{"description": self.label(c, i), **self.item(c, i)} for i in items]
        return {"definitionByCombination": {"code": code, "characteristic": characteristics}}

    def label(self, c: Criterion, item: _Item) -> str:
        if isinstance(item, Threshold):
            return _describe(item, c)
        if isinstance(item, _Range):
            return f"{_describe(item.low, c)}; {_describe(item.high, c)}"
        return "any of" if item.op == "or" else "all of"

    def item(self, c: Criterion, item: _Item) -> dict[str, Any]:
        if isinstance(item, ThresholdGroup):
            return self.group(c, item)
        if isinstance(item, _Range):
            value = {
                "valueRange": {
                    "low": _fhir_quantity(item.low, None),
                    "high": _fhir_quantity(item.high, None),
                }
            }
            return {"definitionByTypeAndValue": {"type": _fhir_type(item.low), **value}}
        return _threshold_definition(item)


def _attach(characteristic: dict[str, Any], definition: dict[str, Any], *, exclude: bool) -> None:
    """Add a definition to a characteristic; nest it when both negate ("!=" under exclusion)."""
    if exclude and definition.get("exclude"):
        nested = {"code": "all-of", "characteristic": [definition]}
        characteristic["definitionByCombination"] = nested
    else:
        characteristic.update(definition)
    if exclude:
        characteristic["exclude"] = True


def _threshold_definition(t: Threshold) -> dict[str, Any]:
    """definitionByTypeAndValue of one threshold ("in" becomes any-of, "!=" an exclusion)."""
    kind = _fhir_type(t)
    value = _value_of(t)
    if t.comparator == "in" and isinstance(value, list):
        options = [
            {
                "description": f"{t.analyte} = {v}",
                "definitionByTypeAndValue": {
                    "type": kind,
                    "valueQuantity": _fhir_quantity(t, None, value=v),
                },
            }
            for v in value
        ]
        return {"definitionByCombination": {"code": "any-of", "characteristic": options}}
    definition: dict[str, Any] = {"type": kind}
    if t.relative_to:
        definition.update(_relative_value(t))
    else:
        definition["valueQuantity"] = _fhir_quantity(t, _FHIR_COMPARATORS.get(t.comparator))
    out: dict[str, Any] = {"definitionByTypeAndValue": definition}
    if t.comparator == "!=":
        out["exclude"] = True
    return out


def _relative_value(t: Threshold) -> dict[str, Any]:
    """ULN/LLN limits: R5 ``offset`` UNL/LNL; a multiple keeps its factor, an offset its amount."""
    code, display = (
        ("UNL", "Upper Normal Limit") if t.relative_to == "ULN" else ("LNL", "Lower Normal Limit")
    )
    offset: dict[str, Any] = {
        "coding": [{"system": OFFSET_SYSTEM, "code": code, "display": display}]
    }
    comparator = _FHIR_COMPARATORS.get(t.comparator)
    if (t.relative_mode or "multiple") == "multiple":
        quantity: dict[str, Any] = {"value": t.value, "unit": f"x {t.relative_to}"}
        if comparator:
            quantity["comparator"] = comparator
        offset["text"] = f"multiple of the {display.lower()}"
        return {"valueQuantity": quantity, "offset": offset}
    sign = -1 if t.relative_mode == "below" else 1
    quantity = _fhir_quantity(t, comparator)
    if isinstance(quantity.get("value"), int | float):
        quantity["value"] = sign * quantity["value"]
    offset["text"] = f"difference from the {display.lower()}"
    return {"valueQuantity": quantity, "offset": offset}


def _fhir_type(t: Threshold) -> dict[str, Any]:
    loinc = _loinc(t)
    concept: dict[str, Any] = {"text": t.analyte}
    if loinc:
        concept["coding"] = [{"system": LOINC_SYSTEM, "code": loinc, "display": t.analyte}]
    return concept


def _fhir_quantity(
    t: Threshold, comparator: str | None, *, value: float | None = None
) -> dict[str, Any]:
    """A Quantity in the canonical UCUM unit when normalised; the written unit otherwise."""
    number = value if value is not None else _value_of(t)
    quantity: dict[str, Any] = {"value": number}
    if comparator:
        quantity["comparator"] = comparator
    if t.normalized is not None and t.normalized.unit:
        quantity.update(unit=t.normalized.unit, system=UCUM_SYSTEM, code=t.normalized.unit)
    elif t.unit:
        quantity["unit"] = t.unit  # not UCUM-coded: no system, no code
    return quantity


# --- OHDSI Circe ----------------------------------------------------------------------------------


def to_ohdsi(trial: Trial | dict[str, Any], *, lookback_days: int | None = None) -> dict[str, Any]:
    """An OHDSI Circe cohort expression for the trial's measurement and age thresholds.

    Index events are visits; each top-level criterion with exportable thresholds becomes one
    inclusion rule looking back ``lookback_days`` (all prior time when None) or over the
    criterion's own time window. Exclusion criteria are negated (De Morgan: a measurement that
    must be absent occurs exactly 0 times). Concept ids are 0: map the LOINC/UCUM codes to
    your vocabulary before running it.
    """
    return _circe(as_trial(trial), lookback_days)[0]


def ohdsi_skipped(trial: Trial | dict[str, Any]) -> list[str]:
    """Why each part of the criteria left out of ``to_ohdsi`` could not be expressed."""
    return _circe(as_trial(trial), None)[1]


def export(trial: Trial | dict[str, Any], to: Literal["fhir", "ohdsi"]) -> dict[str, Any]:
    """``to_fhir`` or ``to_ohdsi`` by name (what ``eligibility export --to`` calls)."""
    if to == "fhir":
        return to_fhir(trial)
    if to == "ohdsi":
        return to_ohdsi(trial)
    raise ValueError(f"unknown export format {to!r} (fhir or ohdsi)")


def _circe(trial: Trial, lookback_days: int | None) -> tuple[dict[str, Any], list[str]]:
    top, children = _children(trial)
    builder = _CirceBuilder(children, lookback_days)
    rules = []
    for c in top:
        rule = builder.rule(c)
        if rule is not None:
            rules.append(rule)
        elif not builder.mentions(c):
            builder.skip(c, "no measurement or age threshold")
    expression = {
        "ConceptSets": builder.concept_sets,
        "PrimaryCriteria": {
            "CriteriaList": [{"VisitOccurrence": {}}],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "All"},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": "First"},
        "InclusionRules": rules,
        "CensoringCriteria": [],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
        "CensorWindow": {},
        "cdmVersionRange": ">=5.0.0",
    }
    return expression, list(dict.fromkeys(builder.skipped))


def _empty_group(kind: str) -> dict[str, Any]:
    return {"Type": kind, "CriteriaList": [], "DemographicCriteriaList": [], "Groups": []}


def _combine_groups(kind: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    """One Circe CriteriaGroup of type ALL/ANY; single-entry ALL subgroups are lifted."""
    if len(groups) == 1:
        return groups[0]
    out = _empty_group(kind)
    for g in groups:
        entries = len(g["CriteriaList"]) + len(g["DemographicCriteriaList"]) + len(g["Groups"])
        if entries == 1 and (g["Type"] == kind or g["Type"] == "ALL"):
            out["CriteriaList"] += g["CriteriaList"]
            out["DemographicCriteriaList"] += g["DemographicCriteriaList"]
            out["Groups"] += g["Groups"]
        else:
            out["Groups"].append(g)
    return out


def negate_group(group: dict[str, Any]) -> dict[str, Any]:
    """NOT of a Circe group by De Morgan: ALL <-> ANY, "at least 1" <-> "exactly 0"."""
    out = _empty_group("ANY" if group["Type"] == "ALL" else "ALL")
    for item in group["CriteriaList"]:
        flipped = dict(item)
        occurrence = item["Occurrence"]
        absent = occurrence["Type"] == _EXACTLY and occurrence["Count"] == 0
        flipped["Occurrence"] = (
            {"Type": _AT_LEAST, "Count": 1} if absent else {"Type": _EXACTLY, "Count": 0}
        )
        out["CriteriaList"].append(flipped)
    for item in group["DemographicCriteriaList"]:
        age = item["Age"]
        out["DemographicCriteriaList"].append({"Age": {**age, "Op": _CIRCE_NEGATED_OPS[age["Op"]]}})
    out["Groups"] = [negate_group(g) for g in group["Groups"]]
    return out


@dataclass(slots=True)
class _CirceBuilder:
    children: dict[str, list[Criterion]]
    lookback_days: int | None
    concept_sets: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    _set_ids: dict[str, int] = field(default_factory=dict)
    _mentioned: set[str] = field(default_factory=set)

    def skip(self, c: Criterion, why: str) -> None:
        self._mentioned.add(c.id)
        self.skipped.append(f"{c.id}: {why}")

    def mentions(self, c: Criterion) -> bool:
        return c.id in self._mentioned

    def rule(self, c: Criterion) -> dict[str, Any] | None:
        """One inclusion rule per top-level criterion (negated for exclusion criteria)."""
        group = self.criterion(c)
        if group is None:
            return None
        if c.section == "exclusion":
            group = negate_group(group)
        elif c.section != "inclusion":
            self.skip(c, "section unknown: cannot tell whether it includes or excludes")
            return None
        return {
            "name": f"{c.id} ({c.section})",
            "description": c.text,
            "expression": group,
        }

    def criterion(self, c: Criterion) -> dict[str, Any] | None:
        """The positive Circe group of one criterion (what makes its statement hold)."""
        kids = self.children.get(c.id, [])
        if c.negated:
            if c.thresholds or kids:
                self.skip(c, "negated statements are not exported")
            return None
        parts: list[dict[str, Any]] = []
        plan = threshold_plan(c)
        if plan is not None:
            part = self.plan(c, plan)
            if part is not None:
                parts.append(part)
        regular = [k for k in kids if not k.exception]
        if regular:
            part = self.children_group(c, regular)
            if part is not None:
                parts.append(part)
        if not parts:
            return None
        if any(k.exception for k in kids):
            self.skip(c, "its exceptions (EXCEPT children) are not exported")
        return _combine_groups("ALL", parts)

    def children_group(self, c: Criterion, regular: list[Criterion]) -> dict[str, Any] | None:
        groups = [self.criterion(k) for k in regular]
        if c.logic == "or":
            if any(g is None for g in groups):
                self.skip(
                    c, "an alternative (OR child) cannot be expressed, so neither can the whole"
                )
                return None
            return _combine_groups("ANY", [g for g in groups if g is not None])
        kept = [g for g in groups if g is not None]
        if kept and len(kept) < len(groups):
            self.skip(c, "only the expressible children of this AND are exported")
        return _combine_groups("ALL", kept) if kept else None

    def plan(self, c: Criterion, plan: ThresholdPlan) -> dict[str, Any] | None:
        for alternative in plan.alternatives:
            self.skip(c, f"conditional limit ({alternative.condition}) is not exported")
        if plan.base is None:
            return None
        if plan.examples:
            self.skip(c, "limits given as examples are exported as any-of")
        return self.group(c, plan.base)

    def group(self, c: Criterion, group: ThresholdGroup) -> dict[str, Any] | None:
        parts = [self.item(c, i) for i in _with_ranges(group)]
        if group.op == "or":
            if any(p is None for p in parts):
                self.skip(c, "an OR of limits with an inexpressible member is not exported")
                return None
            return _combine_groups("ANY", [p for p in parts if p is not None])
        kept = [p for p in parts if p is not None]
        return _combine_groups("ALL", kept) if kept else None

    def item(self, c: Criterion, item: _Item) -> dict[str, Any] | None:
        if isinstance(item, ThresholdGroup):
            return self.group(c, item)
        low, high = (item.low, item.high) if isinstance(item, _Range) else (item, None)
        if low.analyte == "age":
            return self.age(c, low, high)
        return self.measurement(c, low, high)

    def age(self, c: Criterion, t: Threshold, high: Threshold | None) -> dict[str, Any] | None:
        if _unit_of(t) not in ("a", None):
            self.skip(c, f"age in {_unit_of(t)} is not exported (Circe ages are in years)")
            return None
        value = self.value(c, t, high)
        if value is None:
            return None
        group = _empty_group("ALL")
        group["DemographicCriteriaList"].append({"Age": value})
        return group

    def measurement(
        self, c: Criterion, t: Threshold, high: Threshold | None
    ) -> dict[str, Any] | None:
        loinc = _loinc(t)
        if loinc is None:
            self.skip(c, f"{t.analyte} has no LOINC code in the analyte lexicon")
            return None
        criteria: dict[str, Any] = {"CodesetId": self.concept_set(t.analyte, loinc)}
        if t.relative_to:
            if (t.relative_mode or "multiple") != "multiple" or isinstance(t.value, list):
                self.skip(c, f"{t.analyte}: an offset from {t.relative_to} has no Circe form")
                return None
            key = "RangeHighRatio" if t.relative_to == "ULN" else "RangeLowRatio"
            criteria[key] = {"Value": t.value, "Op": _CIRCE_OPS[t.comparator]}
        else:
            value = self.value(c, t, high)
            if value is None:
                return None
            criteria["ValueAsNumber"] = value
            unit = _unit_of(t)
            if unit and t.normalized is not None:
                criteria["Unit"] = [_concept(unit, unit, "UCUM", "Unit")]
        group = _empty_group("ALL")
        group["CriteriaList"].append(
            {
                "Criteria": {"Measurement": criteria},
                "StartWindow": self.window(c),
                "Occurrence": {"Type": _AT_LEAST, "Count": 1},
            }
        )
        return group

    def value(self, c: Criterion, t: Threshold, high: Threshold | None) -> dict[str, Any] | None:
        """A Circe NumericRange: Op and Value (and Extent for "bt")."""
        value = _value_of(t)
        if high is not None:
            return {"Value": value, "Op": "bt", "Extent": _value_of(high)}
        if t.comparator == "in" and isinstance(value, list):
            numbers = sorted(value)
            consecutive = all(float(v).is_integer() for v in numbers) and numbers == list(
                range(int(numbers[0]), int(numbers[0]) + len(numbers))
            )
            if not consecutive:
                self.skip(c, f"{t.analyte} in {value} is not a consecutive range")
                return None
            return {"Value": numbers[0], "Op": "bt", "Extent": numbers[-1]}
        if isinstance(value, list) or t.comparator not in _CIRCE_OPS:
            self.skip(c, f"{t.analyte} {t.comparator} {value} has no Circe form")
            return None
        return {"Value": value, "Op": _CIRCE_OPS[t.comparator]}

    def window(self, c: Criterion) -> dict[str, Any]:
        """Look-back window before index: the criterion's own (days), else the default."""
        days = self.lookback_days
        for item in c.temporal:
            value, unit = item.get("value"), str(item.get("unit") or "")
            per = {"day": 1, "week": 7, "month": 30, "year": 365}.get(unit.rstrip("s"))
            if isinstance(value, int | float) and per and item.get("comparator") not in (">", ">="):
                days = int(value * per) if days is None else min(days, int(value * per))
        start: dict[str, Any] = {"Coeff": -1}
        if days is not None:
            start["Days"] = days
        return {"Start": start, "End": {"Days": 0, "Coeff": 1}, "UseEventEnd": False}

    def concept_set(self, analyte: str, loinc: str) -> int:
        """The id of the analyte's concept set (one LOINC source code, concept id 0)."""
        if analyte not in self._set_ids:
            set_id = len(self.concept_sets)
            self._set_ids[analyte] = set_id
            item = {
                "concept": _concept(analyte, loinc, "LOINC", "Measurement"),
                "isExcluded": False,
                "includeDescendants": False,
                "includeMapped": False,
            }
            self.concept_sets.append(
                {"id": set_id, "name": analyte, "expression": {"items": [item]}}
            )
        return self._set_ids[analyte]


def _concept(name: str, code: str, vocabulary: str, domain: str) -> dict[str, Any]:
    """A Circe concept given by source code; CONCEPT_ID 0 until mapped to the vocabulary."""
    return {
        "CONCEPT_ID": 0,
        "CONCEPT_NAME": name,
        "CONCEPT_CODE": code,
        "VOCABULARY_ID": vocabulary,
        "DOMAIN_ID": domain,
        "STANDARD_CONCEPT": None,
        "INVALID_REASON": None,
    }
