"""From a processed spaCy Doc to the plain-data ``Trial`` (and structured API v2 fields)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from spacy.tokens import Doc, Span

from .components import CRITERIA, doc_text, ents_by_span
from .coordination import distributed_modifiers
from .logic import coordinated_entities, requirement
from .negation import (
    NEGATION,
    confine_to_parentheses,
    cue_targets,
    introduced_negation,
    spread_over_coordination,
)
from .schema import Criterion, Entity, Threshold, Trial
from .segment import StructureRules, default_rules
from .targets import FALLBACK

_FLAGS = {
    "negated": "is_negated",
    "historical": "is_historical",
    "hypothetical": "is_hypothetical",
    "family": "is_family",
    "uncertain": "is_uncertain",
}


@cache
def _flag_of_category() -> dict[str, str]:
    """ConText category -> ``Entity`` flag, from medspaCy's own category -> Span attribute
    mapping (``DEFAULT_ATTRIBUTES``, which the pipeline's ConText uses)."""
    from medspacy.context.context import DEFAULT_ATTRIBUTES

    field_of = {attr: field for field, attr in _FLAGS.items()}
    return {
        category: field_of[attr]
        for category, attrs in DEFAULT_ATTRIBUTES.items()
        for attr in attrs
        if attr in field_of
    }


def _entity(ent: Span, raw: str, text: str) -> Entity:
    ext = ent._  # each ``ent._`` builds a new accessor: read it once
    found = getattr(ext, "modifiers", ()) if ent.has_extension("modifiers") else ()
    # the flags ConText sets are its modifiers' categories: read from them in one pass, not
    # through five Span extensions per entity (a hot spot of assembly)
    flag_of = _flag_of_category()
    flags = dict.fromkeys(_FLAGS, False)
    cues = []
    for modifier in found:
        field = flag_of.get(modifier.category)
        if field:
            flags[field] = True
        cues.append(_cue(modifier, ent.doc, raw))
    modifiers, modifier_logic = distributed_modifiers(text, ent.start_char)
    return Entity(
        modifiers=modifiers,
        modifier_logic=modifier_logic,
        text=raw[ent.start_char : ent.end_char],
        label=ent.label_,
        start=ent.start_char,
        end=ent.end_char,
        canonical=ent.kb_id_ or None,
        code=ext.code,
        cues=cues,
        **flags,
    )


def trial_from_doc(
    doc: Doc, raw: str, trial_id: str | None, structure: StructureRules | None = None
) -> Trial:
    """The ``Trial`` of a processed Doc; ``structure`` are the structure rules of the pipeline
    that made it (default: the shipped ``structure.json``)."""
    structure = structure or default_rules()[1]
    spans = list(doc.spans.get(CRITERIA, []))
    ids = [f"c{n}" for n in range(1, len(spans) + 1)]
    by_statement = {id(span._.statement): i for i, span in enumerate(spans)}
    statements = doc._.statements or []
    criteria = []
    text = doc_text(doc)
    for i, (span, ents) in enumerate(zip(spans, ents_by_span(doc, spans), strict=True)):
        stmt = span._.statement
        parent_id = None
        if stmt.parent is not None:
            parent_index = by_statement.get(id(statements[stmt.parent]))
            parent_id = ids[parent_index] if parent_index is not None else None
        criteria.append(
            Criterion(
                id=ids[i],
                section=stmt.section,
                text=raw[stmt.start : stmt.end],
                start=stmt.start,
                end=stmt.end,
                parent_id=parent_id,
                logic=stmt.logic,
                exception=stmt.exception,
                negated=stmt.negated,
                deontic=stmt.deontic,
                entities=[_entity(e, raw, text) for e in ents],
                thresholds=list(span._.thresholds or []),
                temporal=list(span._.temporal or []),
            )
        )
    by_id = {c.id: c for c in criteria}
    for c in criteria:
        c.requirement = requirement(c, by_id)
        confine_to_parentheses(c)
        spread_over_coordination([run for _, run in coordinated_entities(c, structure)])
        # a fallback concept exists to be a negation's target: one that ConText left
        # unnegated ("did" in "that did not have ...") names nothing
        c.entities = [e for e in c.entities if e.negated or e.label != FALLBACK]
        c.negations = cue_targets(c.entities)
    _inherit_negations(criteria, by_id, _negation_cues(doc, raw), structure)
    warnings = [f"{c.id}: {w}" for c in criteria for t in c.thresholds for w in t.warnings]
    if not criteria:
        warnings.append("no criteria found in the text")
    return Trial(
        trial_id=trial_id,
        criteria=criteria,
        source_text=raw,
        warnings=warnings,
        structure=structure,
    )


def _cue(modifier: Any, doc: Doc, raw: str) -> dict[str, Any]:
    """A ConText modifier as an ``Entity.cues`` record: what fired, where, and which rule."""
    span = doc[modifier.modifier_span[0] : modifier.modifier_span[1]]
    return {
        "category": modifier.category,
        "text": raw[span.start_char : span.end_char],
        "start": span.start_char,
        "end": span.end_char,
        "rule": modifier.rule.literal,
    }


def _negation_cues(doc: Doc, raw: str) -> list[dict[str, Any]]:
    """Every ConText negation cue in the Doc, with or without a target."""
    graph = doc._.context_graph if doc.has_extension("context_graph") else None
    modifiers = getattr(graph, "modifiers", None) or ()
    cues = [_cue(m, doc, raw) for m in modifiers if m.category == NEGATION]
    return sorted(cues, key=lambda c: c["start"])


def _inherit_negations(
    criteria: list[Criterion],
    by_id: dict[str, Criterion],
    cues: list[dict[str, Any]],
    structure: StructureRules,
) -> None:
    """Give each item of a negated list introduction the introduction's last cue, unless the
    introduction speaks of eligibility ("will not be included if any of the following"): its
    negation is about the patient's inclusion, not the items."""
    about_eligibility = structure.eligibility_statement
    for c in criteria:
        parent = by_id.get(c.parent_id) if c.parent_id else None
        if parent is None or not parent.negated or parent.exception or parent.start is None:
            continue
        if any(p.search(parent.text) for p in about_eligibility):
            continue
        inside = [q for q in cues if parent.start <= q["start"] and q["end"] <= parent.end]
        pair = introduced_negation(c, inside[-1], parent.id) if inside else None
        if pair is not None:
            c.negations.append(pair)


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)?\s*$")


def structured_criteria(fields: dict[str, Any], start_index: int) -> list[Criterion]:
    """Criteria from API v2 ``eligibilityModule`` fields (minimumAge, maximumAge, sex, ...).

    They have no place in the text: ``start``/``end`` are null and ``origin`` names the field.
    """
    from .analytes import load_analytes, normalize

    age = load_analytes().get("age")
    out: list[Criterion] = []

    def add(key: str, thresholds: list[Threshold]) -> None:
        out.append(
            Criterion(
                id=f"c{start_index + len(out) + 1}",
                section="inclusion",
                text=f"{key}: {fields[key]}",
                start=None,
                end=None,
                thresholds=thresholds,
                origin=key,
                requirement="must_have",
            )
        )

    for key, comparator in (("minimumAge", ">="), ("maximumAge", "<=")):
        m = _AGE.match(fields[key]) if isinstance(fields.get(key), str) else None
        if not m:
            continue
        number = float(m.group(1))
        unit = m.group(2) or "Years"
        threshold = Threshold(
            analyte="age",
            analyte_text=key,
            analyte_span={"start": -1, "end": -1},
            comparator=comparator,
            value=int(number) if number.is_integer() else number,
            unit=unit,
            relative_to=None,
            normalized=normalize(age, number, unit) if age else None,
            start=-1,
            end=-1,
            loinc=age.loinc if age else None,
        )
        add(key, [threshold])
    for key in ("sex", "healthyVolunteers"):
        if key in fields:
            add(key, [])
    return out
