"""Concept lexicons (``patterns/concepts/*.jsonl``): conditions, drugs, procedures, findings.

One file per label, one JSON object per line: ``name`` (canonical, lower case), ``label``,
``synonyms`` (surface forms as criteria write them) and ``code`` (or null). Validated on load;
errors name the file, the line and the bad value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import PatternError
from .rules import load_jsonl, patterns_path

LABELS = {
    "conditions": "CONDITION",
    "drugs": "DRUG",
    "procedures": "PROCEDURE",
    "observations": "OBSERVATION",
}
_KEYS = {"name", "label", "synonyms", "code"}
_CODE = re.compile(r"^(SNOMED|RXNORM|ATC|ICD10|LOINC|MESH|DRUGBANK):\S+$")


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    label: str
    synonyms: tuple[str, ...]
    code: str | None

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms)


def _validate(path: Path, line: int, obj: dict[str, object], label: str) -> Concept:
    where = f"{path}:{line}"
    if set(obj) != _KEYS:
        raise PatternError(f"{where}: keys must be {sorted(_KEYS)}, got {sorted(obj)}")
    name, synonyms, code = obj["name"], obj["synonyms"], obj["code"]
    if not isinstance(name, str) or not name.strip() or name != name.lower():
        raise PatternError(f"{where}: rule {name!r}: name must be non-empty lower case")
    if obj["label"] != label:
        raise PatternError(f"{where}: rule {name!r}: label {obj['label']!r} should be {label!r}")
    if not isinstance(synonyms, list) or not all(
        isinstance(s, str) and s.strip() for s in synonyms
    ):
        raise PatternError(f"{where}: rule {name!r}: synonyms must be non-empty strings")
    if code is not None and (not isinstance(code, str) or not _CODE.match(code)):
        raise PatternError(f"{where}: rule {name!r}: bad code {code!r}")
    return Concept(name, label, tuple(s.strip() for s in synonyms), code)


def load_concept_file(path: Path) -> list[Concept]:
    stem = path.stem
    if stem not in LABELS:
        raise PatternError(f"{path}: unknown concept file (expected one of {sorted(LABELS)})")
    return [_validate(path, n, obj, LABELS[stem]) for n, obj in load_jsonl(path)]


@cache
def _load_dir(folder: Path) -> tuple[Concept, ...]:
    out: list[Concept] = []
    if not folder.is_dir():
        return ()
    for path in sorted(folder.glob("*.jsonl")):
        out.extend(load_concept_file(path))
    return tuple(out)


def load_concepts(folder: Path | None = None) -> tuple[Concept, ...]:
    """Every concept of every lexicon file in ``folder`` (default ``patterns/concepts``)."""
    return _load_dir(Path(folder or patterns_path("concepts")).resolve())
