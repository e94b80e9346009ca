"""Plural forms of the lexicon terms' head nouns ("brain metastasis" also matches "brain
metastases", "hepatic disorder" "hepatic disorders").

The plurals are data (``patterns/plurals.json``), made from the concept lexicons by the
PyPI package ``inflect``: ``python -m pipeline.plurals`` rewrites the file after a lexicon
changes, and a test checks that it is current. inflect is a development dependency only: it
takes over a second to import, which every pipeline load would pay.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .concepts import Concept, load_concepts
from .errors import PatternError
from .rules import load_rule_file, patterns_path

# a head noun worth a plural: lower case letters only (not "HIV", "COVID-19", "Crohn's")
HEAD_NOUN = re.compile(r"[a-z]{4,}")
DESCRIPTION = (
    "Plural of each lexicon head noun (the last word of a surface form in patterns/concepts),"
    " made by the PyPI package inflect: regenerate with `python -m pipeline.plurals`."
)


def head_nouns(concepts: Iterable[Concept]) -> list[str]:
    """The distinct last words of the concepts' surface forms that may take a plural."""
    words = {s.rpartition(" ")[2] for c in concepts for s in c.surfaces}
    return sorted(w for w in words if HEAD_NOUN.fullmatch(w))


def plural_forms(surfaces: Sequence[str], plurals: Mapping[str, str]) -> list[str]:
    """``surfaces`` and the plural of each one's head noun where ``plurals`` has one."""
    out = list(surfaces)
    for surface in surfaces:
        head, _, last = surface.rpartition(" ")
        plural = plurals.get(last)
        if plural:
            out.append(f"{head} {plural}" if head else plural)
    return out


def load_plurals(path: Path | None = None) -> dict[str, str]:
    """Read ``plurals.json`` (default ``patterns/plurals.json``); errors name the file and the
    bad entry."""
    path = path or patterns_path("plurals.json")
    body = load_rule_file(path, "plurals")
    words = body.get("words") if isinstance(body, dict) else None
    if not isinstance(words, dict):
        raise PatternError(f"{path}: rule 'plurals.words': expected an object of word: plural")
    for word, plural in words.items():
        if not isinstance(plural, str) or not plural or not HEAD_NOUN.fullmatch(word):
            raise PatternError(f"{path}: rule 'plurals.words.{word}': bad plural {plural!r}")
    return dict(words)


def build_plurals(words: Iterable[str]) -> dict[str, str]:
    """``word -> plural`` by inflect's rules, leaving out words that are already plural.

    ``inflect.singular_noun`` takes any final "s" for a plural ("metastasis", "virus"), so a
    plural is told by what ``plural_noun`` makes of it: the word itself ("diabetes") or the
    word with a second "s" ("disorderss")."""
    import inflect  # development dependency, see the module docstring

    engine = inflect.engine()
    out = {}
    for word in words:
        plural = engine.plural_noun(word)
        if plural and plural != word and not (word.endswith("s") and plural == word + "s"):
            out[word] = plural
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite ``patterns/plurals.json`` from the concept lexicons."""
    path = Path(argv[0]) if argv else patterns_path("plurals.json")
    words = build_plurals(head_nouns(load_concepts()))
    body = {"plurals": {"description": DESCRIPTION, "words": words}}
    path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(words)} plurals written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
