"""Plain-data schema of the pipeline's output: what ``pipeline.parse`` returns.

These dataclasses carry no spaCy objects, so screening, export and evaluation can use them
without loading a model, and a ``Trial`` round-trips through ``to_dict`` / ``from_dict``.
The JSON Schema for ``Trial.to_dict()`` ships beside this module (``schemas/trial.schema.json``)
and tests validate real output against it.

Offsets are Python string indices into ``Trial.source_text`` (the exact string given to
``parse``), end exclusive, so ``source_text[c.start:c.end] == c.text`` for every criterion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pandas is imported lazily: plain-data users should not pay for it
    import pandas as pd

    from .segment import StructureRules

SCHEMA_VERSION = "1.0"

Section = Literal["inclusion", "exclusion", "unknown"]
Logic = Literal["and", "or"]
Comparator = Literal[">", ">=", "<", "<=", "==", "!=", "in"]
RelativeTo = Literal["ULN", "LLN"]

SECTIONS: tuple[str, ...] = ("inclusion", "exclusion", "unknown")
COMPARATORS: tuple[str, ...] = (">", ">=", "<", "<=", "==", "!=", "in")


@dataclass(slots=True)
class Normalized:
    """A value in the analyte's canonical UCUM unit, with the conversion that produced it."""

    value: float | list[float]
    unit: str
    conversion: str | None = None  # e.g. "x 10 (g/dL -> g/L)" or "molar mass 113.12 g/mol"


@dataclass(slots=True)
class Threshold:
    """One numeric comparison: ``analyte comparator value unit`` (or a multiple of ULN/LLN)."""

    analyte: str
    analyte_text: str
    analyte_span: dict[str, int]
    comparator: str
    value: float | list[float]
    unit: str | None
    relative_to: str | None
    normalized: Normalized | None
    start: int
    end: int
    # Extensions (optional; consumers must tolerate their absence).
    relative_mode: str | None = None  # "multiple" (2.5 x ULN), "above"/"below" (2 g/dL below LLN)
    condition: str | None = None  # "in patients with Gilbert's syndrome"
    equivalent: dict[str, Any] | None = None  # parenthesised restatement: {value, unit, agrees}
    loinc: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Entity:
    """A concept found in a criterion, with its ConText flags."""

    text: str
    label: str
    start: int
    end: int
    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    family: bool = False
    uncertain: bool = False
    canonical: str | None = None
    code: str | None = None
    cues: list[dict[str, Any]] = field(default_factory=list)  # which ConText rule fired, where
    modifiers: list[str] = field(default_factory=list)  # "uncontrolled or active" -> both
    modifier_logic: str | None = None  # how ``modifiers`` combine: "or" / "and"


@dataclass(slots=True)
class Criterion:
    """One atomic statement (a list item), its place in the tree and what it says."""

    id: str
    section: str
    text: str
    start: int | None
    end: int | None
    parent_id: str | None = None
    logic: str | None = None  # how this node's children combine
    exception: bool = False
    negated: bool = False
    entities: list[Entity] = field(default_factory=list)
    thresholds: list[Threshold] = field(default_factory=list)
    origin: str = "text"  # "text", or the structured field it came from ("minimumAge", ...)
    temporal: list[dict[str, Any]] = field(default_factory=list)
    requirement: str | None = None  # "must_have" / "must_not_have": section x negation
    # one record per negation cue: the cue and the entity it attaches to (its nearest target;
    # the other entities in its scope are ``negated`` too, see ``Entity.cues``)
    negations: list[dict[str, Any]] = field(default_factory=list)
    # the statement's negation is a rule the patient must follow ("must not use contact
    # lenses"), which states the requirement whatever the section; see logic.requirement
    deontic: bool = False


@dataclass(slots=True)
class Trial:
    """The structured criteria of one trial."""

    trial_id: str | None
    criteria: list[Criterion]
    source_text: str = ""
    warnings: list[str] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION
    # the structure rules of the pipeline that parsed the trial (None: the shipped ones): the
    # logic tree reads inline exceptions and lists with them; not part of the output
    structure: StructureRules | None = field(default=None, repr=False, compare=False)

    def to_dict(self, *, include_text: bool = False) -> dict[str, Any]:
        """JSON-ready data (validated by ``schemas/trial.schema.json``).

        ``include_text`` adds ``source_text`` so a consumer can check offsets.
        """
        from .logic import logic_tree

        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "trial_id": self.trial_id,
            "criteria": [_plain(c) for c in self.criteria],
            "logic_tree": logic_tree(self.criteria, self.structure),
            "warnings": list(self.warnings),
        }
        if include_text:
            out["source_text"] = self.source_text
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """One row per threshold, with its criterion's id, section and text."""
        import pandas as pd

        rows = []
        for c in self.criteria:
            for t in c.thresholds:
                norm = t.normalized
                rows.append(
                    {
                        "trial_id": self.trial_id,
                        "criterion_id": c.id,
                        "section": c.section,
                        "criterion_text": c.text,
                        "analyte": t.analyte,
                        "analyte_text": t.analyte_text,
                        "comparator": t.comparator,
                        "value": t.value,
                        "unit": t.unit,
                        "relative_to": t.relative_to,
                        "normalized_value": norm.value if norm else None,
                        "normalized_unit": norm.unit if norm else None,
                        "condition": t.condition,
                        "start": t.start,
                        "end": t.end,
                    }
                )
        columns = [
            "trial_id",
            "criterion_id",
            "section",
            "criterion_text",
            "analyte",
            "analyte_text",
            "comparator",
            "value",
            "unit",
            "relative_to",
            "normalized_value",
            "normalized_unit",
            "condition",
            "start",
            "end",
        ]
        return pd.DataFrame(rows, columns=columns)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trial:
        """Rebuild a ``Trial`` from ``to_dict()`` output (unknown keys are ignored)."""
        criteria = [_criterion_from_dict(c) for c in data.get("criteria", [])]
        return cls(
            trial_id=data.get("trial_id"),
            criteria=criteria,
            source_text=data.get("source_text", ""),
            warnings=list(data.get("warnings", [])),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
        )


_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(obj: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies (the same output, a fraction of the
    time): scalars are returned where they are met, without a call per leaf, and each
    dataclass's field names are read once."""
    kind = type(obj)
    if kind in _SCALARS:
        return obj
    if kind is list:
        return [x if type(x) in _SCALARS else _plain(x) for x in obj]
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _plain(v) for k, v in obj.items()}
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if not is_dataclass(obj):
            if isinstance(obj, list):
                return [_plain(x) for x in obj]
            if isinstance(obj, dict):
                return {k: _plain(v) for k, v in obj.items()}
            return obj
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(obj))
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = value if type(value) in _SCALARS else _plain(value)
    return out


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _threshold_from_dict(d: dict[str, Any]) -> Threshold:
    d = _known(Threshold, d)
    norm = d.get("normalized")
    d["normalized"] = Normalized(**_known(Normalized, norm)) if norm else None
    return Threshold(**d)


def _criterion_from_dict(d: dict[str, Any]) -> Criterion:
    d = _known(Criterion, d)
    d["entities"] = [Entity(**_known(Entity, e)) for e in d.get("entities", [])]
    d["thresholds"] = [_threshold_from_dict(t) for t in d.get("thresholds", [])]
    return Criterion(**d)


@cache
def json_schema() -> dict[str, Any]:
    """The published JSON Schema of ``Trial.to_dict()``."""
    text = resources.files("pipeline").joinpath("schemas/trial.schema.json").read_text("utf-8")
    return json.loads(text)
