"""The criteria of a trial as an explicit logic tree, and each statement's requirement.

Eligibility = AND(inclusion statements) AND NOT OR(exclusion statements). A parent statement
combines its children with its ``logic`` ("and"/"or"); children flagged ``exception`` are
EXCEPT branches: the parent holds unless an exception does. Section polarity composes with the
statement's own negation, so "No prior X" under inclusion and "Prior X" under exclusion both
say the patient must not have X.

Plain data in, plain data out (no spaCy), so screening and export can use it.
"""

from __future__ import annotations

import re
from typing import Any

from .coordination import coordinated_terms, run_in_list
from .schema import Criterion, Entity
from .segment import StructureRules, default_rules
from .targets import FALLBACK

MUST_HAVE = "must_have"
MUST_NOT_HAVE = "must_not_have"


def requirement(criterion: Criterion, by_id: dict[str, Criterion]) -> str | None:
    """Whether the patient must have (or must not have) what ``criterion`` states.

    Inclusion gives must_have, exclusion must_not_have; a negated statement flips it, and so
    does each negated statement that introduces it; an exception flips its parent's
    requirement (it names what is allowed despite the parent).
    """
    if criterion.exception and criterion.parent_id in by_id:
        parent = requirement(by_id[criterion.parent_id], by_id)
        if parent is None:
            return None
        base = parent == MUST_HAVE
        return MUST_NOT_HAVE if base != criterion.negated else MUST_HAVE
    if criterion.section == "unknown":
        return None
    negations = [criterion] if criterion.negated else []
    # under a negated list introduction ("absence of:"), each item is something the patient
    # must not have: not (X or Y) = not X and not Y
    seen = {criterion.id}  # a parent cycle in malformed input must not loop
    parent = by_id.get(criterion.parent_id) if criterion.parent_id else None
    while parent is not None and parent.id not in seen:
        seen.add(parent.id)
        if parent.negated and not parent.exception:
            negations.append(parent)
        parent = by_id.get(parent.parent_id) if parent.parent_id else None
    # "No prior X" describes a state, and the section says what that state does: it is
    # required under inclusion, it excludes under exclusion. "Participant must not use contact
    # lenses" is a rule the patient must follow, written the same way in either section, so
    # it is must_not_have under exclusion too; only descriptive negations compose with it.
    if any(c.deontic for c in negations):
        must = False
        flips = sum(not c.deontic for c in negations)
    else:
        must = criterion.section == "inclusion"
        flips = len(negations)
    return MUST_NOT_HAVE if must == bool(flips % 2) else MUST_HAVE


def _node(
    c: Criterion, children: dict[str | None, list[Criterion]], rules: StructureRules
) -> dict[str, Any]:
    node: dict[str, Any] = {"criterion": c.id}
    kids = children.get(c.id, [])
    regular = [k for k in kids if not k.exception]
    exceptions = [_node(k, children, rules) for k in kids if k.exception]
    if regular:
        node["op"] = c.logic or "and"
        node["children"] = [_node(k, children, rules) for k in regular]
    inline = inline_logic(c, rules)
    if inline:
        node["inline"] = inline
    clause = inline_exception(c, rules)
    if clause:
        exceptions.append(clause)
    if exceptions:
        node["except"] = exceptions
    return node


def coordinated_entities(
    c: Criterion, rules: StructureRules | None = None
) -> list[tuple[str, list[Entity]]]:
    """Runs of the criterion's concepts joined by connectives only, with their op: "diabetes
    and/or hypertension" gives ``[("or", [diabetes, hypertension])]``. Concepts of different
    kinds are not joined; an unknown (fallback) concept joins any kind."""
    if c.start is None or len(c.entities) < 2:
        return []
    inside = sorted(
        (e for e in c.entities if c.start <= e.start and e.end <= c.start + len(c.text)),
        key=lambda e: e.start,
    )
    spans = [(e.start - c.start, e.end - c.start) for e in inside]
    kinds = [None if e.label == FALLBACK else e.label for e in inside]
    by_span = dict(zip(spans, inside, strict=True))
    runs = coordinated_terms(c.text, spans, rules or default_rules()[1], kinds)
    return [(op, [by_span[span] for span in run]) for op, run in runs]


def inline_logic(c: Criterion, rules: StructureRules | None = None) -> list[dict[str, Any]]:
    """AND/OR written inside the statement, which stays one criterion (as annotators split
    it): a run-in list ("if: a) X or, b) Y") and concepts joined by connectives ("diabetes
    and/or hypertension", "either X or Y"). Each is ``{"op", "source", "terms"}`` with the
    terms' text and offsets."""
    if c.start is None:
        return []
    found: list[tuple[str, str, list[tuple[int, int]]]] = []
    rules = rules or default_rules()[1]
    listed = run_in_list(c.text, rules)
    if listed:
        op, items = listed
        found.append(("list", op, [(c.start + s, c.start + e) for s, e in items]))
    found += [
        ("coordination", op, [(e.start, e.end) for e in run])
        for op, run in coordinated_entities(c, rules)
    ]
    return [
        {
            "op": op,
            "source": source,
            "terms": [
                {"text": c.text[s - c.start : e - c.start], "start": s, "end": e} for s, e in run
            ],
        }
        for source, op, run in found
    ]


def inline_exception(c: Criterion, rules: StructureRules | None = None) -> dict[str, Any] | None:
    """An exception stated inside the statement ("..., unless the patient has completed
    definitive treatment", "except alopecia"): the clause from its cue to the clause end. Or a
    later clause that reads like an exception item ("Active hepatitis B; patients with resolved
    infection are eligible"): that clause."""
    if c.start is None:
        return None
    rules = rules or default_rules()[1]

    def clause(start: int, search_from: int, stops: str) -> dict[str, Any]:
        """From ``start`` to the first of ``stops`` after ``search_from`` (or the end)."""
        text = c.text
        end = next((i for i in range(search_from, len(text)) if text[i] in stops), len(text))
        return {"clause": text[start:end], "start": c.start + start, "end": c.start + end}

    m = rules.inline_exception.search(c.text)
    if m:
        return clause(m.start(), m.end(), ".;)")
    # the clauses after the first (a semicolon or a sentence end before each)
    cuts = [b.end() for b in re.finditer(r";\s*", c.text)]
    cuts += [b.end() for b in rules.sentence_end.finditer(c.text)]
    for start in sorted(cuts):
        later = clause(start, start, ".;")
        if any(p.search(later["clause"]) for p in rules.exception_item):
            return later
    return None


def logic_tree(criteria: list[Criterion], rules: StructureRules | None = None) -> dict[str, Any]:
    """``{"op": "and", "children": [inclusion AND-node, {"op": "not", ...exclusion OR-node}]}``.

    Statements of section ``unknown`` sit in their own AND-node so nothing is dropped.
    ``rules`` are the structure rules the trial was parsed with (default: ``structure.json``),
    which say what an exception or a list written inside a statement looks like.
    """
    rules = rules or default_rules()[1]
    children: dict[str | None, list[Criterion]] = {}
    for c in criteria:
        children.setdefault(c.parent_id, []).append(c)
    top = children.get(None, [])
    by_section = {
        s: [_node(c, children, rules) for c in top if c.section == s]
        for s in ("inclusion", "exclusion", "unknown")
    }
    parts: list[dict[str, Any]] = []
    if by_section["inclusion"]:
        parts.append({"op": "and", "section": "inclusion", "children": by_section["inclusion"]})
    if by_section["exclusion"]:
        parts.append(
            {
                "op": "not",
                "children": [
                    {"op": "or", "section": "exclusion", "children": by_section["exclusion"]}
                ],
            }
        )
    if by_section["unknown"]:
        parts.append({"op": "and", "section": "unknown", "children": by_section["unknown"]})
    return {"op": "and", "children": parts}
