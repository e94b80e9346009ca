"""Temporal windows of criteria as ISO 8601 durations with a direction and an anchor.

Method (TimeML, Pustejovsky et al. 2003, and its standard ISO-TimeML, ISO 24617-1): a time
quantity is a TIMEX3 of type DURATION whose value is an ISO 8601 duration ("within 14 days" ->
``P14D``, "72 hours" -> ``PT72H``); how the criterion's event stands to a reference event is a
TLINK, reduced here to a ``direction`` (BEFORE, AFTER, DURING; SIMULTANEOUS is ``at``) and an
``anchor`` (the reference event, named canonically: "C1D1" and "initiation of study treatment"
are both ``start of study treatment``). The ``relation`` says how the duration bounds the
distance to the anchor: ``within`` (no farther than), ``at_least``, ``at_most`` (a duration
with no anchor, "amenorrhoeic for < 2 years"), ``exactly`` or ``throughout`` (a state held for
the whole window, "for 4 months after the last dose"). This is the normal form the eligibility
systems EliIE (Kang et al. 2017) and Criteria2Query (Yuan et al. 2019) give temporal
constraints: a window [anchor - D, anchor] or [anchor, anchor + D].

Reading a quantity at ``[start, end)`` of a statement, in this order (rules in
``patterns/temporal.json``):

1. alternatives joined by "or" ("within 14 days or 5 half-lives") and the rule that combines
   them ("whichever is longer" -> ``max``, "whichever is shorter" -> ``min``). Half-lives are a
   unit of their own with no ISO form: their length depends on the drug.
2. a cue right after the quantity: "prior to", "before", "ago" -> before; "after",
   "following", "post" -> after; "during", "while receiving" -> during. Cues that are
   prepositions take an anchor ("4 weeks prior to C1D1"); an unknown one is kept as written in
   ``anchor_text`` with ``anchor`` null.
3. a neutral connector ("within 60 days of the last dose", "≤ 4 weeks from surgery"): the
   direction is the anchor's own default. Decision: "within N of <anchor>" is *before* a study
   milestone (screening, consent, randomization, first dose, ...) because criteria describe
   history up to entry, and *after* a past clinical event (last dose, end of treatment,
   diagnosis, transplant, surgery, symptom onset, ...) because the criterion's event follows
   that one. An event the rules do not know ("within 2 weeks of cardiac catheterization") is
   kept in ``anchor_text`` and gets no direction: "within N of X" alone does not say which
   side of X is meant, so none is guessed.
4. a cue right before the quantity: "in the last", "within the past", "preceding" -> before;
   "within the first", "in the next" -> after; a bare "within" -> before (the same default:
   with no anchor the window counts back from now).
5. Decision on deictic windows ("in the last 2 months", "within six months", "2 weeks ago"):
   TimeML anchors them to the document creation time; for a criterion that time is the
   eligibility assessment, so ``anchor`` is ``screening`` and ``anchor_text`` is null, which
   marks the anchor as implied rather than written.
6. the relation: a "within"-type cue gives ``within``; "for" with no comparator gives
   ``throughout``; otherwise the comparator decides, read as a distance when there is a
   direction (``<`` before an anchor means within it) and as a length when there is not.

``find_windows`` adds the windows that carry no time quantity: "at the time of signing the
informed consent" (``at``), "during the study" (``during`` the ``study period``), "prior to
randomization", and half-life windows with no calendar alternative.

Pure functions over plain strings; the rules load on first use (``functools.cache``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from . import thresholds
from .errors import PatternError
from .rules import compile_regex, load_rule_file, patterns_path, require

DIRECTIONS = frozenset({"before", "after", "during", "at"})
RELATIONS = frozenset({"within", "at_least", "at_most", "exactly", "throughout"})
COMPARATORS = frozenset({">", ">=", "<", "<=", "==", "in"})
KINDS = frozenset({"point", "period"})
MARKS = frozenset({"within", "for"})
COMBINE = frozenset({"max", "min"})
_ISO_TEMPLATE = re.compile(r"PT?\{n\}[YMWDHS]")


@dataclass(frozen=True, slots=True)
class Unit:
    """A duration unit: canonical name, ISO 8601 template (``P{n}D``) or None, surface forms."""

    name: str
    iso: str | None
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Cue:
    """A direction cue: after a quantity (``after_quantity``) or opening a window (``windows``)."""

    direction: str
    kind: str  # the kind of anchor it takes: "point" or "period"
    takes_anchor: bool
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Mark:
    """A cue that ends right before a quantity: "in the last", "within", "for"."""

    direction: str | None
    mark: str  # "within" or "for"
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Anchor:
    """A reference event; ``within`` is the direction "within N of <anchor>" means."""

    name: str
    kind: str
    within: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class TemporalRules:
    units: tuple[Unit, ...]
    after_quantity: tuple[Cue, ...]
    gap: re.Pattern[str]
    before_quantity: tuple[Mark, ...]
    connector: re.Pattern[str]
    windows: tuple[Cue, ...]
    anchor_lead: re.Pattern[str]
    anchor_limit: int
    phrase_stop: re.Pattern[str]
    phrase_words: int
    anchors: tuple[Anchor, ...]
    any_anchor: Mapping[str, re.Pattern[str]]  # per kind, every anchor's pattern in one
    quantity: re.Pattern[str]  # number + unit, for alternatives and half-life windows
    uncalendared: re.Pattern[str] | None  # the units with no ISO 8601 form (half-lives)
    alternative: re.Pattern[str]  # "or 5 half-lives" right after a quantity
    preceding: re.Pattern[str]  # "5 half-lives or " right before a quantity
    combine: tuple[tuple[str, re.Pattern[str]], ...]
    relations: Mapping[str, Mapping[str, str]]
    within_direction: str
    implied_anchor: str | None


@dataclass(frozen=True, slots=True)
class _Found:
    """An anchor found after a cue: the rule (None when unknown) and where it is written."""

    anchor: Anchor | None
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Reading:
    """Everything read around one quantity; ``stop`` is where the window's words end."""

    direction: str | None
    anchor: str | None
    anchor_text: str | None
    relation: str | None
    alternatives: list[dict[str, Any]]
    combine: str | None
    begin: int
    stop: int


# --- loading ------------------------------------------------------------------------------


def _bad(path: Path, rule: str, what: str, value: Any) -> PatternError:
    return PatternError(f"{path}: rule {rule!r}: bad {what} {value!r}")


def _choice(path: Path, rule: str, what: str, value: Any, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise _bad(path, rule, what, value)
    return value


def _items(
    path: Path, rule: str, body: dict[str, Any], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """The objects of list ``rule``, each checked for ``keys``."""
    items = body[rule]
    if not isinstance(items, list) or not items:
        raise _bad(path, rule, "list", items)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(path, f"{rule}[{i}]", "rule", item)
        require(path, f"{rule}[{i}]", item, keys)
    return items


def _positive(path: Path, rule: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _bad(path, rule, "positive integer", value)
    return value


def _units(path: Path, body: dict[str, Any]) -> tuple[Unit, ...]:
    out = []
    for i, rule in enumerate(_items(path, "units", body, ("unit", "iso", "pattern"))):
        name, iso = rule["unit"], rule["iso"]
        if not isinstance(name, str) or not name:
            raise _bad(path, f"units[{i}]", "unit", name)
        if iso is not None and not (isinstance(iso, str) and _ISO_TEMPLATE.fullmatch(iso)):
            raise _bad(path, f"units[{i}]", "ISO 8601 template", iso)
        out.append(Unit(name, iso, compile_regex(path, f"units[{i}]", rule["pattern"])))
    return tuple(out)


def _cues(
    path: Path, body: dict[str, Any], rule: str, directions: frozenset[str]
) -> tuple[Cue, ...]:
    out = []
    keys = ("direction", "kind", "pattern")
    for i, item in enumerate(_items(path, rule, body, keys)):
        name = f"{rule}[{i}]"
        takes = item.get("takes_anchor", True)
        if not isinstance(takes, bool):
            raise _bad(path, name, "takes_anchor", takes)
        out.append(
            Cue(
                _choice(path, name, "direction", item["direction"], directions),
                _choice(path, name, "kind", item["kind"], KINDS),
                takes,
                compile_regex(path, name, item["pattern"]),
            )
        )
    return tuple(out)


def _marks(path: Path, body: dict[str, Any]) -> tuple[Mark, ...]:
    out = []
    for i, item in enumerate(
        _items(path, "before_quantity", body, ("direction", "mark", "pattern"))
    ):
        name = f"before_quantity[{i}]"
        direction = item["direction"]
        if direction is not None:
            _choice(path, name, "direction", direction, DIRECTIONS - {"at"})
        mark = _choice(path, name, "mark", item["mark"], MARKS)
        out.append(Mark(direction, mark, compile_regex(path, name, item["pattern"])))
    return tuple(out)


def _anchors(path: Path, body: dict[str, Any]) -> tuple[Anchor, ...]:
    out = []
    seen: set[str] = set()
    for i, item in enumerate(
        _items(path, "anchors", body, ("anchor", "kind", "within", "pattern"))
    ):
        name = f"anchors[{i}]"
        anchor = item["anchor"]
        if not isinstance(anchor, str) or not anchor or anchor in seen:
            raise _bad(path, name, "anchor name (empty or repeated)", anchor)
        seen.add(anchor)
        kind = _choice(path, name, "kind", item["kind"], KINDS)
        within = _choice(path, name, "within", item["within"], DIRECTIONS - {"at"})
        out.append(Anchor(anchor, kind, within, compile_regex(path, name, item["pattern"])))
    return tuple(out)


def _relations(path: Path, body: dict[str, Any]) -> dict[str, dict[str, str]]:
    tables = body["relations"]
    if not isinstance(tables, dict):
        raise _bad(path, "relations", "table", tables)
    require(path, "relations", tables, ("undirected", "directed", "for"))
    out: dict[str, dict[str, str]] = {}
    for table, mapping in tables.items():
        name = f"relations.{table}"
        if not isinstance(mapping, dict):
            raise _bad(path, name, "table", mapping)
        for comparator, relation in mapping.items():
            _choice(path, name, "comparator", comparator, COMPARATORS)
            _choice(path, f"{name}[{comparator}]", "relation", relation, RELATIONS)
        out[table] = dict(mapping)
    return out


def load_temporal_rules(
    path: Path | None = None, comparators: thresholds.ComparatorRules | None = None
) -> TemporalRules:
    """Read and validate ``patterns/temporal.json``; numbers are read as the threshold
    grammar reads them (digits and number words of ``comparators.json``)."""
    path = path or patterns_path("temporal.json")
    body = load_rule_file(path, "temporal")
    keys = (
        "units", "after_quantity", "gap", "before_quantity", "connectors", "windows",
        "anchor_lead", "anchor_limit", "phrase_stop", "phrase_words", "anchors", "alternative",
        "alternative_tail", "combine", "relations", "within_direction", "implied_anchor",
    )  # fmt: skip
    require(path, "temporal", body, keys)
    units = _units(path, body)
    anchors = _anchors(path, body)
    number = (comparators or thresholds.default_comparator_rules()).number.pattern
    unit_alt = "|".join(f"(?:{u.pattern.pattern})" for u in units)
    quantity = rf"(?P<value>{number})\s*-?\s*(?P<unit>{unit_alt})(?![\w/])"
    alternative, tail = body["alternative"], body["alternative_tail"]
    compile_regex(path, "alternative", alternative)
    compile_regex(path, "alternative_tail", tail)
    combine = []
    for i, item in enumerate(_items(path, "combine", body, ("combine", "pattern"))):
        name = f"combine[{i}]"
        rule = _choice(path, name, "combine", item["combine"], COMBINE)
        compile_regex(path, name, item["pattern"])
        combine.append((rule, compile_regex(path, name, rf"{tail}(?:{item['pattern']})\s*\)?")))
    implied = body["implied_anchor"]
    points = {a.name for a in anchors if a.kind == "point"}
    if implied is not None and implied not in points:
        raise _bad(path, "implied_anchor", "anchor (not a point anchor of 'anchors')", implied)
    return TemporalRules(
        units=units,
        after_quantity=_cues(path, body, "after_quantity", DIRECTIONS - {"at"}),
        gap=compile_regex(path, "gap", body["gap"]),
        before_quantity=_marks(path, body),
        connector=compile_regex(path, "connectors", body["connectors"]),
        windows=_cues(path, body, "windows", DIRECTIONS),
        anchor_lead=compile_regex(path, "anchor_lead", body["anchor_lead"]),
        anchor_limit=_positive(path, "anchor_limit", body["anchor_limit"]),
        phrase_stop=compile_regex(path, "phrase_stop", body["phrase_stop"]),
        phrase_words=_positive(path, "phrase_words", body["phrase_words"]),
        anchors=anchors,
        any_anchor={
            kind: compile_regex(
                path,
                "anchors",
                "|".join(f"(?:{a.pattern.pattern})" for a in anchors if a.kind == kind),
            )
            for kind in {a.kind for a in anchors}
        },
        quantity=compile_regex(path, "units", quantity),
        uncalendared=compile_regex(
            path, "units", "|".join(f"(?:{u.pattern.pattern})" for u in units if u.iso is None)
        )
        if any(u.iso is None for u in units)
        else None,
        alternative=compile_regex(path, "alternative", rf"(?:{alternative}){quantity}"),
        preceding=compile_regex(
            path, "alternative", rf"{quantity}(?:\s+of\s+[\w\s/-]{{0,40}}?)?(?:{alternative})$"
        ),
        combine=tuple(combine),
        relations=_relations(path, body),
        within_direction=_choice(
            path,
            "within_direction",
            "direction",
            body["within_direction"],
            frozenset({"before", "after"}),
        ),
        implied_anchor=implied,
    )


@cache
def default_temporal_rules() -> TemporalRules:
    """The shipped rules, loaded once on first use (never at import time)."""
    return load_temporal_rules()


# --- small pure helpers -------------------------------------------------------------------


def unit_of(unit: str, rules: TemporalRules | None = None) -> Unit | None:
    """The duration unit a surface form names: ``"Days"`` -> day, ``"half-lives"`` -> half-life."""
    rules = rules or default_temporal_rules()
    u = unit.strip()
    return next((x for x in rules.units if x.pattern.fullmatch(u)), None)


def iso_duration(value: float, unit: str, rules: TemporalRules | None = None) -> str | None:
    """ISO 8601 duration of ``value`` ``unit`` (``14, "days"`` -> ``"P14D"``, ``24, "h"`` ->
    ``"PT24H"``); None for units with no calendar length (half-lives) or unknown units.
    A fraction stays a decimal, which ISO 8601 allows on the last component ("P1.5Y")."""
    found = unit_of(unit, rules)
    if found is None or found.iso is None:
        return None
    return found.iso.replace("{n}", _format(value))


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(float(value))


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _quantity(m: re.Match[str], rules: TemporalRules, comparator: str = "==") -> dict[str, Any]:
    """A matched "5 half-lives" as a window dict (without direction, anchor and relation)."""
    value = thresholds.parse_number(m.group("value")) or 0.0
    unit = unit_of(m.group("unit"), rules)
    start, end = m.start("value"), m.end("unit")
    return {
        "text": m.string[start:end],
        "start": start,
        "end": end,
        "iso": iso_duration(value, m.group("unit"), rules),
        "value": _number(value),
        "unit": unit.name if unit else m.group("unit"),
        "comparator": comparator,
    }


def _alternatives(
    text: str, start: int, end: int, rules: TemporalRules
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Alternatives joined by "or" and their combination rule; returns where reading resumes."""
    alts: list[dict[str, Any]] = []
    before = rules.preceding.search(text, max(0, start - 100), start)
    if before:
        alts.append(_quantity(before, rules))
    pos = end
    while m := rules.alternative.match(text, pos):
        alts.append(_quantity(m, rules))
        pos = m.end()
    combine = None
    if alts:
        for rule, pattern in rules.combine:
            cm = pattern.match(text, pos)
            if cm:
                combine, pos = rule, cm.end()
                break
    return alts, combine, pos


def find_anchor(text: str, pos: int, kind: str, rules: TemporalRules) -> _Found | None:
    """The anchor of ``kind`` written at ``pos`` (after lead words such as "the", "planned",
    "the time of"); the earliest one wins, then the longest, then the first rule."""
    best: tuple[int, int, int, re.Match[str], Anchor] | None = None
    # an anchor starts within ``anchor_limit`` characters: the search need not read the
    # rest of the statement (the slack leaves room for the longest anchor phrase)
    end = pos + rules.anchor_limit + 200
    some = rules.any_anchor.get(kind)
    if some is None or not some.search(text, pos, end):
        return None  # one scan for all anchors: after most cue words none follows
    for index, anchor in enumerate(rules.anchors):
        if anchor.kind != kind:
            continue
        m = anchor.pattern.search(text, pos, end)
        if not m or m.start() - pos > rules.anchor_limit:
            continue
        if not rules.anchor_lead.fullmatch(text, pos, m.start()):
            continue
        key = (m.start(), -(m.end() - m.start()), index, m, anchor)
        if best is None or key[:3] < best[:3]:
            best = key
    if best is None:
        return None
    return _Found(best[4], best[3].start(), best[3].end())


def _phrase(text: str, pos: int, rules: TemporalRules) -> _Found | None:
    """An unknown anchor as written: up to ``phrase_words`` words after a cue, stopping at a
    clause break ("prior to the start of this project")."""
    stop = rules.phrase_stop.search(text, pos)
    limit = stop.start() if stop else len(text)
    m = _words(rules.phrase_words).match(text, pos, limit)
    if not m or not re.search(r"[A-Za-z]{2,}", m.group(1)):
        return None
    return _Found(None, m.start(1), m.end(1))


@cache
def _words(count: int) -> re.Pattern[str]:
    """Up to ``count`` words, after spaces or a hyphen ("post-menopausal" -> "menopausal")."""
    return re.compile(rf"[\s-]*(\S+(?:\s+\S+){{0,{count - 1}}})")


def _mark_before(text: str, start: int, rules: TemporalRules) -> Mark | None:
    window_start = max(0, start - 60)
    return next(
        (m for m in rules.before_quantity if m.pattern.search(text, window_start, start)), None
    )


def _cue_after(text: str, pos: int, rules: TemporalRules) -> tuple[Cue | None, int]:
    """The direction cue after a quantity (None if none) and where it (or the gap) ends."""
    gap = rules.gap.match(text, pos)
    at = gap.end() if gap else pos
    for cue in rules.after_quantity:
        m = cue.pattern.match(text, at)
        if m:
            return cue, m.end()
    return None, at


def relation_of(
    comparator: str, direction: str | None, mark: str | None, rules: TemporalRules
) -> str | None:
    """How the duration bounds the window: a "within" cue wins; "for" with an equality is a
    state held throughout; else the comparator, as a distance when a direction is known."""
    if mark == "within":
        return "within"
    if mark == "for" and comparator in rules.relations["for"]:
        return rules.relations["for"][comparator]
    table = "directed" if direction in ("before", "after") else "undirected"
    return rules.relations[table].get(comparator)


_RECENT: OrderedDict[tuple[int, str, int, int, str], _Reading] = OrderedDict()


def _read(text: str, start: int, end: int, comparator: str, rules: TemporalRules) -> _Reading:
    """``_read_words``, remembered for the last few quantities: ``describe`` and then
    ``find_windows`` read the same quantity of the same statement, once."""
    key = (id(rules), text, start, end, comparator)
    reading = _RECENT.get(key)
    if reading is None:
        reading = _read_words(text, start, end, comparator, rules)
        _RECENT[key] = reading
        if len(_RECENT) > 64:
            _RECENT.popitem(last=False)
    return reading


def _read_words(text: str, start: int, end: int, comparator: str, rules: TemporalRules) -> _Reading:
    """Read the words around one quantity in the order of the module docstring."""
    alternatives, combine, resume = _alternatives(text, start, end, rules)
    mark = _mark_before(text, start, rules)
    cue, pos = _cue_after(text, resume, rules)
    stop = pos if cue else resume
    direction: str | None = cue.direction if cue else None
    found: _Found | None = None
    if cue and cue.takes_anchor:
        found = find_anchor(text, pos, cue.kind, rules) or _phrase(text, pos, rules)
    elif cue is None:
        connector = rules.connector.match(text, pos)
        if connector:
            found = find_anchor(text, connector.end(), "point", rules)
            if found is None and mark and mark.mark == "within":
                found = _phrase(text, connector.end(), rules)  # "within 2 weeks of <event>"
    if direction is None and mark and mark.direction:
        direction = mark.direction
    if direction is None and found and found.anchor:
        direction = found.anchor.within
    if direction is None and found is None and mark and mark.mark == "within":
        direction = rules.within_direction  # "within six months": counted back from now
    anchor = found.anchor.name if found and found.anchor else None
    anchor_text = text[found.start : found.end] if found else None
    if found is None and direction == "before":
        anchor = rules.implied_anchor  # deictic: counted back from the eligibility assessment
    relation = relation_of(comparator, direction, mark.mark if mark else None, rules)
    stop = max(stop, found.end if found else stop)
    begin = min([start] + [alt["start"] for alt in alternatives])
    return _Reading(direction, anchor, anchor_text, relation, alternatives, combine, begin, stop)


# --- the API ------------------------------------------------------------------------------


def describe(
    text: str,
    start: int,
    end: int,
    value: float,
    unit: str,
    comparator: str,
    rules: TemporalRules | None = None,
) -> dict[str, Any]:
    """Normalise the time quantity at ``[start, end)`` of statement ``text``.

    Returns ``iso`` (ISO 8601 duration, null for half-lives), ``value``, ``unit`` (canonical:
    minute|hour|day|week|month|year|half-life), ``comparator``, ``direction``
    (before|after|during|null), ``anchor`` (canonical name or null), ``anchor_text`` (as
    written; null when the anchor is implied or absent), ``relation``
    (within|at_least|at_most|exactly|throughout), ``alternatives`` (windows joined by "or",
    each with its offsets in ``text``) and ``combine`` (max|min|null, from "whichever is
    longer/shorter").
    """
    rules = rules or default_temporal_rules()
    reading = _read(text, start, end, comparator, rules)
    found = unit_of(unit, rules)
    shared = {
        "direction": reading.direction,
        "anchor": reading.anchor,
        "anchor_text": reading.anchor_text,
        "relation": reading.relation,
    }
    return {
        "iso": iso_duration(value, unit, rules),
        "value": _number(value),
        "unit": found.name if found else unit,
        "comparator": comparator,
        **shared,
        "alternatives": [{**alt, **shared} for alt in reading.alternatives],
        "combine": reading.combine,
    }


def find_windows(
    text: str,
    rules: TemporalRules | None = None,
    comparisons: Sequence[thresholds.Comparison] | None = None,
) -> list[dict[str, Any]]:
    """Windows of statement ``text`` that are not calendar quantities: a cue and an anchor
    ("at the time of signing the informed consent", "during the study", "prior to
    randomization") and half-life washouts with no calendar alternative ("5 half-lives prior
    to the first dose"). Each has ``text``, ``start``, ``end`` and the keys of ``describe``.

    Words that belong to a numeric window ("4 weeks prior to C1D1") are left to ``describe``:
    ``comparisons`` are the statement's ``thresholds.find_comparisons`` (computed when not
    given), so a caller that already has them does not scan twice.
    """
    rules = rules or default_temporal_rules()
    if comparisons is None:
        comparisons = thresholds.find_comparisons(text)
    taken: list[tuple[int, int]] = []
    for c in comparisons:
        if c.temporal:
            reading = _read(text, c.start, c.end, c.comparator, rules)
            taken.append((reading.begin, reading.stop))
    out: list[dict[str, Any]] = []
    # a half-life window needs a unit with no calendar form: most statements have none
    some = rules.uncalendared is not None and rules.uncalendared.search(text)
    for m in rules.quantity.finditer(text) if some else ():
        window = _half_life(text, m, comparisons, taken, rules)
        if window:
            out.append(window)
            taken.append((window["start"], window["end"]))
    for cue in rules.windows:
        for m in cue.pattern.finditer(text):
            if _inside(m.start(), taken):
                continue
            found = find_anchor(text, m.end(), cue.kind, rules)
            if found is None or found.anchor is None:
                continue
            out.append(_window(text, m.start(), cue.direction, found))
            taken.append((m.start(), found.end))
    return sorted(out, key=lambda w: w["start"])


def shifted(window: dict[str, Any], base: int) -> dict[str, Any]:
    """``window`` with its offsets (and its alternatives') moved by ``base``: statement
    offsets to document offsets, as the pipeline reports them."""
    out = dict(window)
    for key in ("start", "end"):
        if key in out:
            out[key] = out[key] + base
    out["alternatives"] = [shifted(alt, base) for alt in window.get("alternatives", [])]
    return out


def _inside(pos: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= pos < end for start, end in spans)


def _half_life(
    text: str,
    m: re.Match[str],
    comparisons: Sequence[thresholds.Comparison],
    taken: Sequence[tuple[int, int]],
    rules: TemporalRules,
) -> dict[str, Any] | None:
    """A half-life quantity that is a window of its own (not an alternative already read)."""
    unit = unit_of(m.group("unit"), rules)
    if unit is None or unit.iso is not None or _inside(m.start(), taken):
        return None
    own = next((c for c in comparisons if c.value_start == m.start() and not c.temporal), None)
    start = own.start if own else m.start()
    comparator = own.comparator if own else "=="
    value = thresholds.parse_number(m.group("value")) or 0.0
    described = describe(text, start, m.end(), value, m.group("unit"), comparator, rules)
    stop = _read(text, start, m.end(), comparator, rules).stop
    return {"text": text[start:stop], "start": start, "end": stop, **described}


def _window(text: str, start: int, direction: str, found: _Found) -> dict[str, Any]:
    assert found.anchor is not None
    return {
        "text": text[start : found.end],
        "start": start,
        "end": found.end,
        "iso": None,
        "value": None,
        "unit": None,
        "comparator": None,
        "direction": direction,
        "anchor": found.anchor.name,
        "anchor_text": text[found.start : found.end],
        "relation": None,
        "alternatives": [],
        "combine": None,
    }
