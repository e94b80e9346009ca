"""Coordination inside one statement.

- Modifiers distributed over a coordination: "uncontrolled or active hepatitis B" means
  (uncontrolled hepatitis B) OR (active hepatitis B) (``distributed_modifiers``).
- Concepts joined by connectives: "diabetes and/or hypertension" (``coordinated_terms``).
- Lists written inside a statement: "... if: a) X or, b) Y" (``run_in_list``).

Pure functions over text and offsets; the words are data (``patterns/modifiers.json``,
``patterns/structure.json``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .rules import load_rule_file, patterns_path, require
from .segment import StructureRules, marker_place


@dataclass(frozen=True, slots=True)
class ModifierRules:
    pattern: re.Pattern[str]  # the coordinated modifiers right before a concept
    leading: re.Pattern[str]  # one modifier opening a concept's name ("active hepatitis B")
    last_words: frozenset[str]  # the words a modifier ends with, to skip the search cheaply


def load_modifier_rules(path: Path | None = None) -> ModifierRules:
    path = path or patterns_path("modifiers.json")
    body = load_rule_file(path, "modifiers")
    require(path, "modifiers", body, ("words", "joiners"))
    words = "|".join(re.escape(w) for w in sorted(body["words"], key=len, reverse=True))
    joiners = "|".join(re.escape(j) for j in sorted(body["joiners"], key=len, reverse=True))
    one = rf"(?:{words})"
    pattern = re.compile(rf"(?<![\w-])({one}(?:\s*(?:{joiners})\s*{one})+)\s+$", re.IGNORECASE)
    last = frozenset(w.split()[-1].lower() for w in body["words"])
    return ModifierRules(pattern, re.compile(rf"{one}\s+", re.IGNORECASE), last)


@cache
def default_modifier_rules() -> ModifierRules:
    return load_modifier_rules()


def distributed_modifiers(
    text: str, start: int, rules: ModifierRules | None = None
) -> tuple[list[str], str | None]:
    """The coordinated modifiers that end right before ``text[start]``, and how they combine.

    ``("Known uncontrolled or active hepatitis B", 28)`` -> ``(["uncontrolled", "active"], "or")``;
    a single modifier is part of the concept's own name and gives ``([], None)``. The last
    modifier may open the concept's name, where a lexicon lists "active hepatitis B".
    """
    rules = rules or default_modifier_rules()
    m = None
    if _word_before(text, start).lower() in rules.last_words:
        m = rules.pattern.search(text, max(0, start - 80), start)
    if not m:
        lead = rules.leading.match(text, start)
        if lead:
            m = rules.pattern.search(text, max(0, start - 80), lead.end())
    if not m:
        return [], None
    phrase = m.group(1)
    parts = [
        p.strip() for p in re.split(r"\s*(?:,|\band/or\b|\bor\b|\band\b)\s*", phrase) if p.strip()
    ]
    logic = "or" if re.search(r"\bor\b", phrase, re.I) else "and"
    return [p.lower() for p in parts], logic


def _word_before(text: str, end: int) -> str:
    """The run of non-space characters that ends before ``end`` and the spaces after it."""
    j = end
    while j > 0 and text[j - 1].isspace():
        j -= 1
    i = j
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    return text[i:j]


Offsets = tuple[int, int]


def run_in_list(text: str, rules: StructureRules) -> tuple[str, list[Offsets]] | None:
    """A list written inside one statement, as ``(op, item offsets)``.

    "Participants with prior anti-CD38 treatment if: a) administered <9 months before ... or,
    b) intolerant to the anti-CD38" gives ``("or", [a's words, b's words])``. The markers must
    count up from the first ("a) b) c)", "(1) (2)", "i) ii)"), so a stray "(1)" is no list.
    An item ending in a chain connective ("or,", "and/or") gives the op, then the words before
    the first marker ("one of the following" is "or"); "and" otherwise.
    """
    run: list[re.Match[str]] = []
    for m in rules.run_in_marker.finditer(text):
        kind, place = marker_place(m.group(1))
        last_kind, last_place = marker_place(run[-1].group(1)) if run else ("", -2)
        if (kind, place) == (last_kind, last_place + 1):
            run.append(m)
        elif len(run) < 2 and place == 0:
            run = [m]
    if len(run) < 2:
        return None
    items: list[Offsets] = []
    op: str | None = None
    for k, m in enumerate(run):
        body = text[m.end() : run[k + 1].start() if k + 1 < len(run) else len(text)]
        if k + 1 < len(run):
            for name, pattern in (("or", rules.chain_or), ("and", rules.chain_and)):
                tail = pattern.search(body)
                if tail:
                    op = op if op == "or" else name
                    body = body[: tail.start()]
                    break
        words = body.rstrip(" ,;.")
        items.append((m.end(), m.end() + len(words)))
    if op is None:
        intro = text[: run[0].start()]
        op = "or" if any(p.search(intro) for p in rules.logic_or) else "and"
    return op, items


def coordinated_terms(
    text: str,
    spans: Sequence[Offsets],
    rules: StructureRules,
    kinds: Sequence[str | None] | None = None,
) -> list[tuple[str, list[Offsets]]]:
    """Runs of concepts joined by connectives, as ``(op, offsets)`` per run.

    In "Diabetes and/or hypertension" the two concepts are alternatives (``"or"``); in
    "either X or Y" too; "X, Y and Z" is one ``"and"`` run. A comma takes the op of the run's
    other joiners, and a run joined by commas only says nothing. ``spans`` are the concepts'
    offsets in ``text``, in order and not overlapping. With ``kinds`` (the concepts' labels,
    None for an unknown concept), only concepts of one kind are joined: in "... premedication
    with steroids, or intolerance to arginine" the "or" joins clauses, not the two concepts.
    """
    runs: list[tuple[str, list[Offsets]]] = []
    current: list[Offsets] = []
    joins: list[str] = []

    def close() -> None:
        explicit = [j for j in joins if j != ","]
        if len(current) >= 2 and explicit:
            runs.append(("or" if "or" in explicit else "and", list(current)))

    for n, span in enumerate(spans):
        gap = text[current[-1][1] : span[0]] if current else None
        join = None
        same = kinds is None or None in (kinds[n - 1], kinds[n]) or kinds[n - 1] == kinds[n]
        # a joiner is a few characters (", and/or any other "); a longer gap is words
        if gap is not None and same and len(gap) <= 24:
            if any(p.search(gap) for p in rules.term_or):
                join = "or"
            elif any(p.search(gap) for p in rules.term_and):
                join = "and"
            elif rules.term_list.search(gap):
                join = ","
        if join is None:
            close()
            current, joins = [span], []
        else:
            current.append(span)
            joins.append(join)
    close()
    return runs
