"""An external drug vocabulary: names, brands and drug classes from a PyPI package's data.

The curated lexicons of ``patterns/concepts/`` name the drugs of eligibility text that matter
most, with the project's canonical names. Trials name many more ("ceftriaxone", "propofol",
"Flagyl", "statins"); the PyPI package ``drug-named-entity-recognition`` (Fast Data Science,
MIT) ships a dictionary of about 107,000 names for 20,000 drugs and MeSH drug classes built
from DrugBank, MeSH, MedlinePlus and the NHS. Its file is read here as data: the package is
never imported, because importing it builds a trigram index for fuzzy matching and reads a
cache in the user's home folder, neither of which this pipeline needs.

Which entries count, and which names are skipped, is data too (``patterns/drug_vocabulary.json``).
Matching is a longest-match dictionary lookup over token n-grams (``match_names``): a spaCy
PhraseMatcher over 107,000 patterns takes 6 s and 600 MB to build, the lookup table 1 s and
tens of MB.
"""

from __future__ import annotations

import bz2
import importlib.util
import pickle
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import PatternError
from .rules import load_rule_file, patterns_path, require

_SPACE = re.compile(r"\s+")
_FIRST_WORD = re.compile(r"[\s\-/,()]")


@dataclass(frozen=True, slots=True)
class VocabularyRules:
    distribution: str
    package: str
    file: str
    medication_keys: tuple[str, ...]
    mesh_branches: tuple[str, ...]
    min_chars: int
    max_words: int
    exclude: frozenset[str]


@dataclass(frozen=True, slots=True)
class DrugVocabulary:
    """Lower-cased name -> (canonical name, code), and the first words names start with."""

    names: dict[str, tuple[str, str | None]]
    first_words: frozenset[str]
    max_tokens: int = 10  # a name of four words can be ten tokens ("5-fluoro-uracil")

    def __len__(self) -> int:
        return len(self.names)


def load_vocabulary_rules(path: Path | None = None) -> VocabularyRules:
    """Read and check ``drug_vocabulary.json``; errors name the file and the key."""
    path = path or patterns_path("drug_vocabulary.json")
    body = load_rule_file(path, "drug_vocabulary")
    keys = ("distribution", "package", "file", "medication_keys", "mesh_branches")
    require(path, "drug_vocabulary", body, (*keys, "min_chars", "max_words", "exclude"))
    for key in ("medication_keys", "mesh_branches", "exclude"):
        if not isinstance(body[key], list) or not all(isinstance(w, str) for w in body[key]):
            raise PatternError(f"{path}: rule 'drug_vocabulary.{key}': expected a list of strings")
    for key in ("min_chars", "max_words"):
        if not isinstance(body[key], int) or body[key] < 1:
            raise PatternError(
                f"{path}: rule 'drug_vocabulary.{key}': expected a positive integer,"
                f" got {body[key]!r}"
            )
    return VocabularyRules(
        distribution=body["distribution"],
        package=body["package"],
        file=body["file"],
        medication_keys=tuple(body["medication_keys"]),
        mesh_branches=tuple(body["mesh_branches"]),
        min_chars=body["min_chars"],
        max_words=body["max_words"],
        exclude=frozenset(w.lower() for w in body["exclude"]),
    )


def _data_file(rules: VocabularyRules) -> Path | None:
    spec = importlib.util.find_spec(rules.package)  # finds the folder, imports nothing
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / rules.file
    return path if path.is_file() else None


def is_medication(entry: dict[str, Any], rules: VocabularyRules) -> bool:
    """A medication (it has a DrugBank, MedlinePlus or NHS entry) or a drug class (a MeSH
    tree number under pharmacologic actions); not an enzyme or protein that is a lab value."""
    if any(entry.get(key) for key in rules.medication_keys):
        return True
    trees = entry.get("mesh_tree") or ()
    return any(t.startswith(b) for t in trees for b in rules.mesh_branches)


def entry_code(entry: dict[str, Any]) -> str | None:
    if entry.get("drugbank_id"):
        return f"DRUGBANK:{entry['drugbank_id']}"
    if entry.get("mesh_id"):
        return f"MESH:{entry['mesh_id']}"
    return None


def build_vocabulary(
    variants: dict[str, list[str]], entries: dict[str, dict[str, Any]], rules: VocabularyRules
) -> DrugVocabulary:
    """The lookup table from the package's two maps (name -> canonical keys, canonical key ->
    entry). A name of several drugs keeps the first one that is a medication."""
    names: dict[str, tuple[str, str | None]] = {}
    for variant, canonicals in variants.items():
        name = _SPACE.sub(" ", variant.strip().lower())
        if (
            len(name) < rules.min_chars
            or len(name.split()) > rules.max_words
            or name in rules.exclude
            or not any(ch.isalpha() for ch in name)
        ):
            continue
        for key in canonicals:
            entry = entries.get(key)
            if entry is not None and is_medication(entry, rules):
                names[name] = (str(entry.get("name", key)).lower(), entry_code(entry))
                break
    first = frozenset(_FIRST_WORD.split(name, maxsplit=1)[0] for name in names)
    return DrugVocabulary(names, first)


@cache
def read_vocabulary(path: Path | None = None) -> DrugVocabulary:
    """The vocabulary the rules at ``path`` describe, read once per process. Without the
    package installed the vocabulary is empty (with a warning): the lexicons still work."""
    rules = load_vocabulary_rules(path)
    data = _data_file(rules)
    if data is None:
        warnings.warn(
            f"{rules.distribution} is not installed: no external drug names"
            f" (pip install {rules.distribution})",
            stacklevel=2,
        )
        return DrugVocabulary({}, frozenset())
    # the package's own data file, as trusted as its code (a pickle of plain dicts)
    with bz2.open(data, "rb") as fh:
        body = pickle.load(fh)  # noqa: S301
    return build_vocabulary(
        body["drug_variant_to_canonical"], body["drug_canonical_to_data"], rules
    )


def match_names(
    text: str,
    tokens: Sequence[tuple[int, int]],
    vocabulary: DrugVocabulary,
    candidates: Sequence[int] | None = None,
) -> list[tuple[int, int, str]]:
    """Longest names, left to right and not overlapping, as ``(first token, end token, name)``.

    ``tokens`` are the character offsets of the tokens in ``text``; a name matches the text
    from a token's start to a later token's end with its spaces collapsed and case folded.
    ``candidates`` (ascending token indices) limits where a name may start, for a caller that
    has already found the tokens that are ``first_words``.
    """
    out: list[tuple[int, int, str]] = []
    n = len(tokens)
    free = 0  # the first token not inside a match yet
    for i in range(n) if candidates is None else candidates:
        if i < free:
            continue
        start = tokens[i][0]
        if candidates is None and text[start : tokens[i][1]].lower() not in vocabulary.first_words:
            continue
        for j in range(min(n, i + vocabulary.max_tokens), i, -1):
            name = text[start : tokens[j - 1][1]].lower()
            if "  " in name or "\n" in name or "\t" in name:
                name = _SPACE.sub(" ", name)
            if name in vocabulary.names:
                out.append((i, j, name))
                free = j
                break
    return out
