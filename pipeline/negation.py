"""Cue-target pairs: which entity each negation cue attaches to.

ConText (Harkema et al., J Biomed Inform 2009) negates every target in a cue's scope, and
the flat ``Entity.negated`` flag keeps that reading: in "no history of depression or use of
antidepressants" both concepts are negated, as a screening system needs. Annotated corpora
(LCT, Chia) instead link each cue to one target, the phrase it governs, and reach the others
through coordination. ``cue_targets`` gives that second view from the first: per cue, the
negated entity nearest to it on the side the cue points to (after a forward cue such as
"no", before a backward one such as "... is excluded").
"""

from __future__ import annotations

from typing import Any

from .schema import Criterion, Entity
from .targets import FALLBACK

NEGATION = "NEGATED_EXISTENCE"


def _distance(cue: dict[str, Any], ent: Entity) -> tuple[int, int]:
    """Characters between cue and entity; a following entity wins a tie ("no X" before
    "Y is not")."""
    if ent.start >= cue["end"]:
        return ent.start - cue["end"], 0
    if ent.end <= cue["start"]:
        return cue["start"] - ent.end, 1
    return 0, 0  # the cue is inside the entity ("non-smoker" as one concept)


def _head(target: Entity, cue: dict[str, Any], scope: list[Entity]) -> Entity:
    """After a forward cue, the last of the entities that directly follow one another: the
    head of the phrase ("no food allergies" targets "allergies", "without first trimester
    ultrasound" targets "ultrasound")."""
    if target.start < cue["end"]:
        return target
    ordered = sorted(scope, key=lambda e: e.start)
    for ent in ordered[ordered.index(target) + 1 :]:
        if not 0 <= ent.start - target.end <= 1:  # only a space or a hyphen between them
            continue
        if ent.label == FALLBACK and target.label != FALLBACK:
            break  # "no TB diagnosis": an unknown word after a known concept is not its head
        target = ent
    return target


def cue_targets(entities: list[Entity]) -> list[dict[str, Any]]:
    """One ``{"cue", "target", "scope"}`` record per negation cue, in text order."""
    by_cue: dict[tuple[int, int], tuple[dict[str, Any], list[Entity]]] = {}
    for ent in entities:
        if not ent.negated:
            continue
        for cue in ent.cues:
            if cue.get("category") != NEGATION:
                continue
            key = (cue["start"], cue["end"])
            by_cue.setdefault(key, (cue, []))[1].append(ent)
    out = []
    for key in sorted(by_cue):
        cue, scope = by_cue[key]
        target = _head(min(scope, key=lambda e: _distance(cue, e)), cue, scope)
        out.append(_pair(cue, target, len(scope)))
    return out


def _pair(cue: dict[str, Any], target: Entity, scope: int) -> dict[str, Any]:
    """One ``negations`` record (its shape is ``$defs/negation`` in the JSON Schema)."""
    return {
        "cue": {k: cue[k] for k in ("text", "start", "end", "rule", "category")},
        "target": {
            "text": target.text,
            "start": target.start,
            "end": target.end,
            "label": target.label,
        },
        "scope": scope,
    }


def introduced_negation(item: Criterion, cue: dict[str, Any], via: str) -> dict[str, Any] | None:
    """The pair for an item under a negated list introduction ("should report the absence
    of: - anemia - diabetes"): the introduction's ``cue`` and the item's first entity, with
    ``via`` naming the introducing criterion.

    The item's entities keep ``negated`` false: its ``requirement`` (must_not_have) already
    carries the introduction's negation, and screening would otherwise apply it twice.
    """
    if item.exception or item.negations or not item.entities:
        return None
    target = _head(min(item.entities, key=lambda e: e.start), cue, item.entities)
    return {**_pair(cue, target, len(item.entities)), "via": via}


def spread_over_coordination(runs: list[list[Entity]]) -> None:
    """Carry a negation cue along a run of coordinated concepts that its scope cut short.

    ConText's scope is a token window, so in "the drug must not be an alpha-blocker or
    beta-blocker or thiazide diuretic" it stops before the last two drugs; all three are
    excluded. ``runs`` holds concepts (in text order) joined by connectives only
    (``logic.coordinated_entities``), so no clause boundary or termination word lies between
    them. A forward cue is carried to the run's later
    concepts, a backward one ("X or Y is prohibited") to its earlier ones.
    """
    for members in runs:
        for ent in members:
            for cue in ent.cues:
                if cue.get("category") != NEGATION:
                    continue
                if ent.start - 1 < cue["end"] and cue["start"] < ent.end + 1:
                    continue  # a prefix ("non-smoker") or inside the concept: one word only
                forward = cue["end"] <= ent.start
                reach = [m for m in members if (m.start > ent.start) == forward and m is not ent]
                for other in reach:
                    if not any(c["start"] == cue["start"] for c in other.cues):
                        other.cues.append({**cue, "via": "coordination"})
                        other.negated = True


def _groups(text: str, offset: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` of each balanced parenthesised group of ``text``, shifted by
    ``offset`` (the text's place in the document), brackets included."""
    out, opened = [], []
    for i, ch in enumerate(text):
        if ch == "(":
            opened.append(i)
        elif ch == ")" and opened:
            out.append((offset + opened.pop(), offset + i + 1))
    return out


def confine_to_parentheses(item: Criterion) -> None:
    """Keep a negation cue written inside parentheses next to a concept of its own within
    them: in "anti-myeloma treatment (radiotherapy is excluded)" only radiotherapy is
    excluded, though ConText's backward window reaches the treatment before the bracket.

    A bracketed cue with no concept inside ("prior chemotherapy (not permitted)") still
    reaches out; cues outside the brackets are left alone ("no cardiometabolic disease
    (e.g. heart disease)")."""
    if item.start is None or "(" not in item.text:
        return
    for start, end in _groups(item.text, item.start):
        inside = [e for e in item.entities if start < e.start and e.end < end]
        if not inside:
            continue
        for ent in item.entities:
            if start <= ent.start < end:
                continue
            kept = [
                c
                for c in ent.cues
                if not (c.get("category") == NEGATION and start < c["start"] and c["end"] < end)
            ]
            if len(kept) < len(ent.cues):
                ent.cues = kept
                ent.negated = any(c.get("category") == NEGATION for c in kept)
