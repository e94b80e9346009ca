"""Numeric thresholds in criteria text: analyte, comparator, value, unit, ULN/LLN multiples.

Method (a rule-based extractor in the spirit of Valx, Hao et al. 2016, generalised beyond
HbA1c and glucose): every number in a statement is a candidate. Around it the extractor reads,
with the surface forms of ``patterns/comparators.json``:

- a comparator before it ("≥", "at least", "no more than", "-≤") or after it ("or more",
  "and older"); several numbers joined by "to"/"-"/"between ... and" form a range, numbers
  joined by "or"/"," with no comparator form a set (``in``);
- a unit after it (``[x 10^9] atom (/ atom)*`` from the unit atoms), or a ULN/LLN multiple
  ("≤ 2.5 × ULN", "twice the upper limit of normal") or offset ("2 g/dL below LLN");
- a parenthesised restatement right after it ("≥ 0.5 g/dL (≥ 5 g/L)"), which is kept as the
  threshold's ``equivalent`` rather than as a second threshold;
- a condition after it ("... in patients with Gilbert's syndrome").

The analyte is the nearest analyte mention before the comparison in the same clause (or after
it, as in "≥ 1 bone lytic lesion"); one limit shared by a coordination ("AST and ALT ≤ 3 × ULN",
"AST/ALT") gives one threshold per analyte. Without a lexicon mention, the words just before
the comparison stand in (``analyte`` is then their lower-cased text), so unknown measures are
still captured. Time quantities without an age cue are temporal windows, not thresholds.

Pure functions over plain strings: the spaCy component only supplies analyte mentions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .errors import PatternError
from .rules import compile_regex, load_rule_file, patterns_path, require


@dataclass(frozen=True, slots=True)
class Mention:
    """An analyte named in the text (offsets relative to the text being scanned)."""

    start: int
    end: int
    name: str  # canonical analyte name
    text: str
    lexicon: bool = True  # False for a fallback phrase


@dataclass(slots=True)
class Comparison:
    """One comparison found in text, before an analyte is attached."""

    comparator: str
    value: float | list[float]
    unit: str | None
    start: int
    end: int
    relative_to: str | None = None
    relative_mode: str | None = None
    equivalent: dict[str, Any] | None = None
    condition: str | None = None
    temporal: bool = False
    age: bool = False
    value_start: int = 0
    unit_span: tuple[int, int] | None = None  # where the unit is written, to quote it verbatim
    condition_end: int | None = None
    analyte_hint: str | None = None  # "140/90 mmHg": systolic / diastolic blood pressure
    unit_suffix: str | None = None  # rate words told apart from the unit ("mg ... per day")
    stated: bool = False  # a value with no comparator ("PSA 20 ng/ml"): kept only by its name
    daily_sample: bool = False  # the statement names a 24-hour sample ("24 hour urine")


@dataclass(slots=True)
class Found:
    """A threshold: a comparison with its analyte (offsets relative to the scanned text)."""

    analyte: Mention
    comparison: Comparison
    start: int
    end: int
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ComparatorRules:
    prefix: tuple[tuple[str, re.Pattern[str]], ...]
    postfix: tuple[tuple[str, re.Pattern[str]], ...]
    range_joiner: re.Pattern[str]
    range_prefix: re.Pattern[str]
    set_joiner: re.Pattern[str]
    relative: tuple[tuple[str, re.Pattern[str]], ...]
    times: re.Pattern[str]
    offset: re.Pattern[str]
    bare_relative: tuple[tuple[str, re.Pattern[str]], ...]
    number_words: dict[str, float]
    multiplier_words: frozenset[str]
    unit: re.Pattern[str]
    counted_rate: re.Pattern[str]  # "6 caffeinated drinks per day": a counted thing, qualified
    daily_sample: re.Pattern[str]  # "24-hour urine": amounts are per 24 hours
    rate: re.Pattern[str]  # a denominator inside a unit: "hours per week" is a rate, not a time
    score_scale: re.Pattern[str]  # "4/10": the scale a score is out of, written as its unit
    temporal_units: frozenset[str]
    age_before: re.Pattern[str]
    age_after: re.Pattern[str]
    age_within: re.Pattern[str]  # "older than 18", "18 y.o.": the words of the quantity
    age_joined: re.Pattern[str]  # "≥ 45 and ≤ 90 years": what joins two bounds of one age
    greater_words: re.Pattern[str]  # "twice higher than normal" implies ">"
    lesser_words: re.Pattern[str]  # "2 g/dL below the LLN" is an offset below it
    demographic_start: re.Pattern[str]
    temporal_anchor: re.Pattern[str]
    condition: re.Pattern[str]
    number: re.Pattern[str]
    quantifier: re.Pattern[str]
    infix_nouns: re.Pattern[str]
    roman_cue: re.Pattern[str]
    roman: dict[str, float]
    roman_numeral: re.Pattern[str]  # the numerals of ``roman``, upper case, longest first
    restated_symbol: re.Pattern[str]
    equals: re.Pattern[str]  # "a Clinical Dementia Rating of 0": a score stated, no bound
    stated_glue: re.Pattern[str]  # what may stand between a measure and its stated value
    bound_before_name: tuple[tuple[str, re.Pattern[str]], ...]
    rate_after: re.Pattern[str]
    bare_patterns: tuple[tuple[str, str, re.Pattern[str]], ...]  # (symbol, ULN|LLN, regex)
    candidate: re.Pattern[str]  # anything a comparison could be built from
    name_trim: re.Pattern[str]  # words before a measure's name that are not part of it
    name_tail: re.Pattern[str]  # words after it ("is", "level", "should be")
    clause_break: re.Pattern[str]
    time_qualifier: re.Pattern[str]  # "6 previous months", "8 consecutive weeks"
    generic_names: frozenset[str]  # "score", "value": names that say nothing of the measure
    named_after: re.Pattern[str]  # "... on the Wrinkle Severity Rating Scale (WSRS)"
    scale_after: re.Pattern[str]  # "fatigue ≥ 4/10 on the ... scale": the instrument measures
    counted_after: re.Pattern[str]  # "at least 2 fully erupted teeth"
    same_analyte: re.Pattern[str]  # "<0.26 or >1.65": the earlier analyte again
    coordination: re.Pattern[str]  # "AST and ALT", "AST/ALT" share one limit
    conjunction: re.Pattern[str]
    reference_words: re.Pattern[str]
    blood_pressure: re.Pattern[str]  # "140/90 mmHg"
    mass_unit: re.Pattern[str]  # units that take a later "per day"


_NUMBER = (
    r"(?<![A-Za-z0-9.,/^])(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?![\d])"
    r"|(?<![\w.])\.\d+"
    r"|(?<=than)\d+(?:\.\d+)?(?![\d])"  # "greater than100 g/L": a space lost in typing
)


def load_comparator_rules(path: Path | None = None) -> ComparatorRules:
    path = path or patterns_path("comparators.json")
    body = load_rule_file(path, "comparators")
    keys = (
        "prefix",
        "postfix",
        "range_joiners",
        "range_prefix",
        "set_joiners",
        "relative",
        "times",
        "offset",
        "bare_relative",
        "number_words",
        "multiplier_words",
        "units",
        "temporal_units",
        "age_cues",
        "condition",
        "quantifier",
        "infix_nouns",
        "roman",
        "restated_symbol",
        "equals",
        "stated_glue",
        "bound_before_name",
        "rate_after",
        "analyte_words",
        "time_qualifiers",
        "joins",
        "compound_units",
        "daily_sample",
        "direction_words",
    )
    require(path, "comparators", body, keys)

    def pairs(name: str, key: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
        out = []
        for i, rule in enumerate(body[name]):
            require(path, f"{name}[{i}]", rule, (key, "pattern"))
            out.append((rule[key], compile_regex(path, f"{name}[{i}]", rule["pattern"])))
        return tuple(out)

    words = body["number_words"]
    if not isinstance(words, dict) or not all(isinstance(v, int | float) for v in words.values()):
        raise PatternError(f"{path}: rule 'number_words': values must be numbers")
    units = body["units"]
    require(path, "units", units, ("multiplier", "atoms", "stop_after", "score_scale", "counted"))
    atoms = sorted(units["atoms"], key=len, reverse=True)
    atom = "(?:" + "|".join(atoms) + ")"
    denominator = (
        rf"(?:\s*(?:/|\bper\b|\b(?:in\s+)?a\b)\s*(?:\d+(?:\.\d+)?\s*)?{atom}{units['stop_after']})"
    )
    unit = (
        rf"(?:{units['multiplier']}\s*(?:{atom}{units['stop_after']})?{denominator}*"
        rf"|{atom}{units['stop_after']}{denominator}*"
        rf"|(?:/|\bper\b)\s*{atom}{units['stop_after']}{denominator}*)"
    )
    word_alt = "|".join(sorted(words, key=len, reverse=True))
    numerals = body["roman"].get("numerals") if isinstance(body["roman"], dict) else None
    if not isinstance(numerals, dict) or not all(
        isinstance(k, str) and k.isalpha() and isinstance(v, int | float)
        for k, v in numerals.items()
    ):
        raise PatternError(f"{path}: rule 'roman.numerals': expected numerals mapped to numbers")
    # upper case only: a lower-case "i" or "v" is a word, not a numeral
    roman_alt = "|".join(sorted((k.upper() for k in numerals), key=len, reverse=True))
    number = rf"{_NUMBER}|\b(?:{word_alt})\b"
    ages = body["age_cues"]
    require(path, "age_cues", ages, ("before", "after", "within", "joined"))
    directions = body["direction_words"]
    require(path, "direction_words", directions, ("greater", "lesser"))
    joins, compound = body["joins"], body["compound_units"]
    require(
        path, "joins", joins, ("same_analyte", "coordination", "conjunction", "reference_words")
    )
    require(path, "compound_units", compound, ("blood_pressure", "mass"))
    names = body["analyte_words"]
    require(path, "analyte_words", names, ("before", "after", "clause_breaks"))
    bare = pairs("bare_relative", "comparator")
    relative = pairs("relative", "relative_to")
    return ComparatorRules(
        prefix=pairs("prefix", "comparator"),
        postfix=pairs("postfix", "comparator"),
        range_joiner=compile_regex(path, "range_joiners", body["range_joiners"]),
        range_prefix=compile_regex(path, "range_prefix", body["range_prefix"]),
        set_joiner=compile_regex(path, "set_joiners", body["set_joiners"]),
        relative=relative,
        times=compile_regex(path, "times", body["times"]),
        offset=compile_regex(path, "offset", body["offset"]),
        bare_relative=bare,
        number_words={k.lower(): float(v) for k, v in words.items()},
        multiplier_words=frozenset(w.lower() for w in body["multiplier_words"]),
        unit=compile_regex(path, "units", unit),
        rate=compile_regex(path, "units", denominator),
        daily_sample=compile_regex(path, "daily_sample", body["daily_sample"]),
        counted_rate=compile_regex(
            path,
            "units.counted",
            rf"(?:[A-Za-z][\w-]*\s+)?(?:{'|'.join(units['counted'])}){units['stop_after']}{denominator}+",
        ),
        score_scale=compile_regex(path, "units.score_scale", units["score_scale"]),
        temporal_units=frozenset(u.lower() for u in body["temporal_units"]),
        age_before=compile_regex(path, "age_cues.before", ages["before"]),
        age_after=compile_regex(path, "age_cues.after", ages["after"]),
        age_within=compile_regex(path, "age_cues.within", ages["within"]),
        age_joined=compile_regex(path, "age_cues.joined", ages["joined"]),
        greater_words=compile_regex(path, "direction_words.greater", directions["greater"]),
        lesser_words=compile_regex(path, "direction_words.lesser", directions["lesser"]),
        demographic_start=compile_regex(
            path, "age_cues.demographic_start", ages["demographic_start"]
        ),
        temporal_anchor=compile_regex(path, "age_cues.temporal_anchor", ages["temporal_anchor"]),
        condition=compile_regex(path, "condition", body["condition"]),
        number=compile_regex(path, "number", number),
        quantifier=compile_regex(path, "quantifier", body["quantifier"]),
        infix_nouns=compile_regex(path, "infix_nouns", body["infix_nouns"]),
        roman_cue=compile_regex(path, "roman.cue", body["roman"]["cue"]),
        roman={k.lower(): float(v) for k, v in body["roman"]["numerals"].items()},
        roman_numeral=re.compile(rf"\b(?:{roman_alt})\b"),
        restated_symbol=compile_regex(path, "restated_symbol", body["restated_symbol"]),
        equals=compile_regex(path, "equals", body["equals"]),
        stated_glue=compile_regex(path, "stated_glue", body["stated_glue"]),
        bound_before_name=pairs("bound_before_name", "comparator"),
        rate_after=compile_regex(path, "rate_after", body["rate_after"]),
        name_trim=compile_regex(
            path, "analyte_words.before", rf"^(?:(?:{'|'.join(names['before'])})\s+)+"
        ),
        name_tail=compile_regex(
            path, "analyte_words.after", rf"(?:\s+(?:{'|'.join(names['after'])}))+\s*$"
        ),
        clause_break=compile_regex(
            path, "analyte_words.clause_breaks", "|".join(names["clause_breaks"])
        ),
        generic_names=frozenset(w.lower() for w in names.get("generic", [])),
        named_after=re.compile(names.get("named_after", "(?!)")),  # case matters: names
        scale_after=compile_regex(
            path, "analyte_words.scale_after", names.get("scale_after", "(?!)")
        ),
        counted_after=compile_regex(
            path, "analyte_words.counted_after", names.get("counted_after", "(?!)")
        ),
        same_analyte=compile_regex(path, "joins.same_analyte", joins["same_analyte"]),
        coordination=compile_regex(path, "joins.coordination", joins["coordination"]),
        conjunction=compile_regex(path, "joins.conjunction", joins["conjunction"]),
        reference_words=compile_regex(path, "joins.reference_words", joins["reference_words"]),
        blood_pressure=compile_regex(
            path, "compound_units.blood_pressure", compound["blood_pressure"]
        ),
        mass_unit=compile_regex(path, "compound_units.mass", compound["mass"]),
        time_qualifier=compile_regex(
            path, "time_qualifiers", rf"(?:(?:{'|'.join(body['time_qualifiers'])})\s+){{1,2}}"
        ),
        candidate=re.compile(
            rf"\d|\b(?:{word_alt})\b|\b(?:{roman_alt})\b|ULN|LLN|UNL|ULRR|normal|upper|lower",
            re.IGNORECASE,
        ),
        bare_patterns=tuple(
            (
                symbol,
                relative_to,
                re.compile(rf"(?<![\w.])(?:{cue.pattern})(?:{rel.pattern})", re.I),
            )
            for symbol, cue in bare
            for relative_to, rel in relative
        ),
    )


@cache
def default_comparator_rules() -> ComparatorRules:
    return load_comparator_rules()


# --- small pure helpers -------------------------------------------------------------------


def parse_number(text: str, rules: ComparatorRules | None = None) -> float | None:
    """``"50,000"`` -> 50000.0, ``"two"`` -> 2.0; None when ``text`` is not a number."""
    t = text.strip().lower()
    rules = rules or default_comparator_rules()
    if t in rules.number_words:
        return rules.number_words[t]
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def parse_comparator(text: str, rules: ComparatorRules | None = None) -> str | None:
    """The comparator symbol a word or symbol form means (``"no more than"`` -> ``"<="``)."""
    rules = rules or default_comparator_rules()
    t = text.strip()
    for symbol, pattern in rules.prefix + rules.postfix:
        if pattern.fullmatch(t):
            return symbol
    return None


def _as_number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


@cache
def _ending(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` anchored at the end of the text, spaces allowed (compiled once: this runs
    before every number)."""
    return re.compile(rf"(?:{pattern.pattern})\s*$", re.IGNORECASE)


def _prefix_comparator(text: str, pos: int, rules: ComparatorRules) -> tuple[str, int] | None:
    """A comparator ending right before ``pos`` (spaces allowed): (symbol, its start)."""
    window_start = max(0, pos - 48)
    window = text[window_start:pos]
    best: tuple[str, int] | None = None
    for symbol, pattern in rules.prefix:
        for m in _ending(pattern).finditer(window):
            start = window_start + m.start()
            is_word = text[start : start + 1].isalpha()
            if is_word and start > 0 and text[start - 1].isalnum():
                continue
            if best is None or start < best[1]:
                best = (symbol, start)
            break
    return best


def _postfix_comparator(text: str, pos: int, rules: ComparatorRules) -> tuple[str, int] | None:
    for symbol, pattern in rules.postfix:
        m = pattern.match(text, pos + len(text[pos:]) - len(text[pos:].lstrip(" ")))
        if m and m.end() > m.start():
            end = m.end()
            if end < len(text) and text[end - 1].isalpha() and text[end].isalnum():
                continue
            return symbol, end
    return None


_UNIT_LEAD = re.compile(r"(?:st|nd|rd|th)?[ \t]*(?:-(?=[A-Za-zµμ]))?")  # "25th", "5-mg"


def _unit_at(text: str, pos: int, rules: ComparatorRules) -> tuple[str, int, int] | None:
    """A unit starting at ``pos`` (after optional spaces): (unit text, start, end)."""
    m = _UNIT_LEAD.match(text, pos)
    start = m.end() if m else pos
    um = rules.unit.match(text, start)
    if not um or um.end() == um.start():
        um = rules.counted_rate.match(text, start)  # "2 alcoholic drinks per day"
    if not um or um.end() == um.start():
        # "6 previous months", "8 consecutive weeks": a time unit behind one qualifier
        qm = rules.time_qualifier.match(text, start)
        um = rules.unit.match(text, qm.end()) if qm else None
        if not um or not _is_temporal(text[um.start() : um.end()], rules):
            return None
    unit = text[um.start() : um.end()].rstrip()
    # A lone letter is a unit only when written as one: "0.8 L", "5 U", "10h", "3d", "6s"; never
    # the words "a", "in", "s" after a space.
    if len(unit) <= 2 and unit.isalpha() and "/" not in unit:
        if unit in ("in", "m", "K", "G", "T") or (start > pos and unit in ("l", "s")):
            return None
    return unit, um.start(), um.start() + len(unit)


def _score_scale_at(
    text: str, pos: int, value: float, rules: ComparatorRules
) -> tuple[str, int, int] | None:
    """ "pain ≥ 4/10": the scale a score is out of, kept as its unit ("/10"); a second number
    larger than the scale ("140/100", a blood pressure) is not a scale."""
    m = rules.score_scale.match(text, pos)
    if not m or value > float(m.group("scale")):
        return None
    return text[m.start("unit") : m.end("unit")], m.start("unit"), m.end("unit")


def _relative_at(text: str, pos: int, rules: ComparatorRules) -> tuple[str, int, str | None] | None:
    """``× ULN`` / ``times the upper limit of normal`` at ``pos``: (ULN|LLN, end, comparator
    implied by the words, as in "twice higher than normal")."""
    tm = rules.times.match(text, pos)
    at = tm.end() if tm else pos
    between = text[pos:at].lower()
    implied = ">" if rules.greater_words.search(between) else None
    for relative_to, pattern in rules.relative:
        m = pattern.match(text, at)
        if m:
            bare = text[m.start() : m.end()].strip().lower()
            if bare in ("n", "normal") and not (tm and tm.group().strip()):
                continue  # a bare "N"/"normal" is a reference limit only after "x"/"times"
            return relative_to, m.end(), implied
    return None


def _age_cue(text: str, start: int, end: int, rules: ComparatorRules) -> bool:
    """Is the quantity at [start, end) an age? "aged 18", "18 years of age", "older than 18"."""
    before = text[max(0, start - 30) : start]
    return bool(
        rules.age_before.search(before)
        or rules.age_after.match(text, end)
        or rules.age_within.search(text[start:end])
    )


def _is_temporal(unit: str | None, rules: ComparatorRules) -> bool:
    if not unit:
        return False
    head = re.split(r"[\s/]", unit.strip(), maxsplit=1)[0]
    if len(head) > 1:  # a lone letter keeps its case: "3 d" is days, "27 D" dioptres
        head = head.lower()
    return head in rules.temporal_units and not rules.rate.search(unit)


# --- the scanner --------------------------------------------------------------------------


def find_comparisons(text: str, rules: ComparatorRules | None = None) -> list[Comparison]:
    """Every comparison in ``text`` (see the module docstring), in text order."""
    rules = rules or default_comparator_rules()
    if not rules.candidate.search(text):
        return []  # no digit, number word, numeral or reference limit: most statements
    numbers = [
        (m.start(), m.end(), parse_number(m.group(), rules))
        for m in rules.number.finditer(text)
        if not rules.quantifier.match(text, m.end())  # "at least one of the following"
    ]
    numbers = sorted(
        _decimal_commas(text, [n for n in numbers if n[2] is not None], rules)
        + _roman_numbers(text, rules),
        key=lambda n: n[0],
    )
    out: list[Comparison] = []
    consumed_to = -1
    i = 0
    while i < len(numbers):
        start, end, value = numbers[i]
        if start < consumed_to:
            i += 1
            continue
        comp, used = _read_comparison(text, numbers, i, rules)
        if comp is None and out and re.fullmatch(r"\s*\(\s*", text[out[-1].end : start]):
            # "≥1000/µL (1 × 10^9/L)": a restatement without its own comparator
            unit_info = _unit_at(text, end, rules)
            if unit_info:
                comp = Comparison(
                    "==",
                    _as_number(value),
                    unit_info[0],
                    start,
                    unit_info[2],
                    unit_span=(unit_info[1], unit_info[2]),
                )
                used = i + 1
        if comp is None:
            i += 1
            continue
        # A parenthesised restatement right after the comparison is its equivalent.
        if out and _is_equivalent(text, out[-1], comp):
            prev = out[-1]
            prev.equivalent = {
                "value": comp.value,
                "unit": comp.unit,
                "comparator": comp.comparator,
                "unit_span": comp.unit_span,
            }
            prev.end = max(prev.end, comp.end)
        else:
            out.append(comp)
        consumed_to = comp.end
        i = used
    if out and rules.daily_sample.search(text):
        for c in out:
            c.daily_sample = True
    return _propagate_ages(text, _with_bare_relatives(text, out, rules), rules)


def _propagate_ages(text: str, found: list[Comparison], rules: ComparatorRules) -> list[Comparison]:
    """Ages told once and shared: "age ≥ 45 and ≤ 90 years", "below 18 years or above 80
    years"; and a years quantity that opens a statement or follows only who it applies to
    ("Male or female, ≥ 19 years") is an age too, unless a time anchor follows it."""
    for a, b in zip(found, found[1:], strict=False):
        if not rules.age_joined.fullmatch(text[a.end : b.start]):
            continue
        if a.unit is None and b.unit and not a.relative_to and not b.relative_to and a.age:
            a.unit, a.unit_span = b.unit, b.unit_span  # "≥ 45 and ≤ 90 years"
        if a.age or b.age:
            for c in (a, b):
                if c.unit is None or _is_temporal(c.unit, rules):
                    c.age, c.temporal = True, False
    for c in found:
        years = c.temporal and c.unit and re.match(r"y", c.unit.strip(), re.I)
        # "patients <18": a bare bound after only who it applies to is an age as well
        bare = c.unit is None and c.relative_to is None and c.comparator in _BOUNDS
        if not (years or bare):
            continue
        head = text[: c.start]
        clause = re.split(r"[;:.()]\s|\n|\s-\s", head)[-1]
        if bare and (not re.search(r"[A-Za-z]", clause) or re.search(r"\d", clause)):
            continue  # "(<0.26 or >1.65)": the second bound of another measure, not an age
        if rules.demographic_start.match(clause) and not rules.temporal_anchor.match(text, c.end):
            c.age, c.temporal = True, False
    return found


_BOUNDS = frozenset({">", ">=", "<", "<="})


def _with_bare_relatives(
    text: str, found: list[Comparison], rules: ComparatorRules
) -> list[Comparison]:
    """Add limits stated without a number: "above the upper limit of normal" is ``> 1 × ULN``."""
    extra: list[Comparison] = []
    if not rules.reference_words.search(text):
        return found  # no reference-limit words at all: the common case, kept cheap
    for symbol, relative_to, rx in rules.bare_patterns:
        for m in rx.finditer(text):
            if any(
                c.start <= m.start() < c.end or m.start() <= c.start < m.end()
                for c in found + extra
            ):
                continue
            if (
                text[m.start() : m.end()].strip().endswith("N")
                and " N" in text[m.start() : m.end()]
            ):
                continue  # the bare "N" alias of ULN needs a number before it
            extra.append(
                Comparison(
                    symbol,
                    1,
                    None,
                    m.start(),
                    m.end(),
                    relative_to,
                    "multiple",
                    value_start=m.start(),
                )
            )
    return sorted(found + extra, key=lambda c: c.start)


def _is_equivalent(text: str, prev: Comparison, comp: Comparison) -> bool:
    between = text[prev.end : comp.start]
    if not re.fullmatch(r"\s*\(\s*", between):
        return False
    if isinstance(prev.value, list) or isinstance(comp.value, list):
        return False
    if prev.relative_to or comp.relative_to:
        return False
    if not re.match(r"\s*\)", text[comp.end :]):
        return False  # "(≥0.5 g/dL in case of IgA disease)" is an alternative, not a restatement
    return comp.comparator in (prev.comparator, "==") and bool(comp.unit)


_DECIMAL_COMMA = re.compile(r",(\d{1,2})(?!\d)")


def _decimal_commas(
    text: str, numbers: list[tuple[int, int, float | None]], rules: ComparatorRules
) -> list[tuple[int, int, float | None]]:
    """ "7,0 mmol/l": a comma with one or two digits and a unit after is a decimal comma (a
    thousands separator always has three digits; "ECOG 0,1" has no unit after)."""
    out: list[tuple[int, int, float | None]] = []
    skip_until = -1
    for start, end, value in numbers:
        if start < skip_until:
            continue
        m = _DECIMAL_COMMA.match(text, end)
        if m and value is not None and "," not in text[start:end]:
            decimal = (
                len(m.group(1)) == 2  # "39,99"
                or _unit_at(text, m.end(), rules)  # "7,0 mmol/l"
                or re.search(r"[<>≤≥⩽⩾]=?\s*$", text[max(0, start - 3) : start])  # "≥18,5"
            )
            if decimal:
                out.append((start, m.end(), float(f"{int(value)}.{m.group(1)}")))
            else:  # "ECOG 0,1 or 2": a list written without spaces
                out.extend([(start, end, value), (m.start(1), m.end(), float(m.group(1)))])
            skip_until = m.end()
            continue
        out.append((start, end, value))
    return out


def _roman_numbers(text: str, rules: ComparatorRules) -> list[tuple[int, int, float | None]]:
    """Roman numerals where a class or grade is named ("NYHA III-IV", "class II or III")."""
    out: list[tuple[int, int, float | None]] = []
    for m in rules.roman_numeral.finditer(text):
        before = text[max(0, m.start() - 24) : m.start()]
        chained = out and re.fullmatch(r"\s*(?:-|–|to|or|,|and|/)\s*", text[out[-1][1] : m.start()])
        if rules.roman_cue.search(before) or chained:
            out.append((m.start(), m.end(), rules.roman[m.group().lower()]))
    return out


def _class_named_before(text: str, start: int, rules: ComparatorRules) -> bool:
    """A class word right before the number ("NYHA class IV", "ECOG status: 2"), not merely
    nearby: in "performance status of 0 or 1 5. An adequate ..." the 5 numbers a list item."""
    cues = list(rules.roman_cue.finditer(text, max(0, start - 24), start))
    if not cues:
        return False
    cue = cues[-1]  # the last cue before the number
    between = text[cue.end() : start]
    # a few words may stand between ("status of", "class:"), another number may not
    return len(between.split()) <= 3 and not re.search(r"\d", between)


def _read_comparison(
    text: str, numbers: list[tuple[int, int, float | None]], i: int, rules: ComparatorRules
) -> tuple[Comparison | None, int]:
    start, end, value = numbers[i]
    assert value is not None
    word = text[start:end].lower()
    if start and text[start - 1] == "-" and _prefix_comparator(text, start - 1, rules):
        start, value = start - 1, -value  # "MIP < -20 cm H2O": a negative limit
    at = start
    restated = rules.restated_symbol.search(text, max(0, start - 12), start)
    if restated:
        at = restated.start()  # "less than or equal to (<=) 1": the words carry the comparator
    prefix = _prefix_comparator(text, at, rules)
    noun = re.search(rf"(?:{rules.infix_nouns.pattern})$", text[max(0, at - 40) : at], re.I)
    if prefix is None and noun:
        # "≥ grade 2", "> NYHA class 2": the comparator stands before the measure's name
        prefix = _prefix_comparator(text, at - len(noun.group()), rules)
    if prefix is None:
        # "maximum dose prednisone 10 mg/day": the bound names the measure before the number
        window = text[max(0, at - 50) : at]
        for symbol, pattern in rules.bound_before_name:
            bm = pattern.search(window)
            if bm:
                prefix = (symbol, max(0, at - 50) + bm.start())
                break
    comparator = prefix[0] if prefix else None
    expr_start = prefix[1] if prefix else start

    # "twice the ULN", "three times the upper limit of normal"
    rel = _relative_at(text, end, rules)
    if word in rules.multiplier_words and not rel:
        return None, i + 1
    bp = None if rel else rules.blood_pressure.match(text, end)
    if bp and comparator:
        # "≥ 130/80 mmHg": systolic and diastolic limits told together
        unit = text[bp.start("unit") : bp.end("unit")]
        systolic = Comparison(
            comparator,
            _as_number(value),
            unit,
            expr_start,
            bp.end(),
            value_start=start,
            unit_span=(bp.start("unit"), bp.end("unit")),
            analyte_hint="systolic blood pressure",
        )
        systolic.equivalent = {"diastolic": _as_number(float(bp.group("low")))}
        return systolic, i + 2
    unit_info = (
        None if rel else _unit_at(text, end, rules) or _score_scale_at(text, end, value, rules)
    )
    unit = unit_info[0] if unit_info else None
    cursor = unit_info[2] if unit_info else end
    relative_to = rel[0] if rel else None
    relative_mode = "multiple" if rel else None
    if rel:
        cursor = rel[1]
        comparator = comparator or rel[2]
    elif unit_info:
        # "2 g/dL below the lower limit of normal", "> 1 mg/dL above the ULN"
        om = rules.offset.match(text, cursor)
        if om:
            for relative_to_, pattern in rules.relative:
                m = pattern.match(text, om.end())
                if m:
                    relative_to, relative_mode = (
                        relative_to_,
                        ("below" if rules.lesser_words.match(om.group("direction")) else "above"),
                    )
                    cursor = m.end()
                    if comparator is None:
                        comparator = "<=" if relative_mode == "below" else ">="
                    break

    used = i + 1
    values: float | list[float] = value
    # Ranges: "10% to <60%", "between 18.5 and 30 kg/m2", "100-126 mg/dl", "BMI = 18.5-29.9"
    if comparator in (None, "==") or (prefix and rules.range_prefix.search(text[: prefix[1]])):
        rng = _read_range(text, numbers, i, cursor, unit, rules)
        if rng is not None:
            return rng
    # Sets: "ECOG 0, 1 or 2", "0 or 1"
    if comparator is None and not unit and not relative_to:
        classes = bool(noun or rules.roman_cue.search(text, max(0, start - 24), start))
        members, last, used_set = _read_set(text, numbers, i, rules, classes)
        if len(members) > 1:
            # "at 500, 1000, and 2000 Hz": a unit after the last member is the set's unit
            set_unit = _unit_at(text, last, rules)
            if set_unit is None or _is_temporal(set_unit[0], rules):
                return Comparison("in", members, None, start, last, value_start=start), used_set
            return (
                Comparison(
                    "in",
                    members,
                    set_unit[0],
                    start,
                    set_unit[2],
                    value_start=start,
                    unit_span=(set_unit[1], set_unit[2]),
                ),
                used_set,
            )

    post = _postfix_comparator(text, cursor, rules)
    if post is None and unit_info:
        # "18 years of age or older"
        am = rules.age_after.match(text, cursor)
        if am:
            post = _postfix_comparator(text, am.end(), rules)
    if comparator is None and post:
        comparator = post[0]
        cursor = post[1]
        if unit_info is None:
            late = _unit_at(text, cursor, rules)  # "18+ years"
            if late and _is_temporal(late[0], rules):
                unit_info, unit = late, late[0]
                cursor = late[2]
    age = _age_cue(text, expr_start, unit_info[2] if unit_info else end, rules)
    if age and unit is not None and not _is_temporal(unit, rules):
        age = False
    if comparator is None and _is_temporal(unit, rules) and not age:
        comparator = "=="  # a bare duration ("within 14 days"): temporal, never a threshold
    if comparator is None and not unit and (noun or _class_named_before(text, start, rules)):
        comparator = "=="  # "NYHA class IV", "Mallampati grade 3": a stated class, no bound
    stated = False
    if comparator is None and unit and not age and not relative_to:
        comparator, stated = "==", True  # "PSA 20 ng/ml": a value stated without a bound
    if (
        comparator is None
        and not age
        and not relative_to
        and rules.equals.search(text, max(0, start - 8), start)
    ):
        comparator, stated = "==", True  # "a Clinical Dementia Rating of 0", "MMSE: 26"
    if comparator is None:
        return None, used

    comp = Comparison(
        comparator=comparator,
        value=_as_number(values) if not isinstance(values, list) else values,
        unit=unit,
        start=expr_start,
        end=cursor,
        relative_to=relative_to,
        relative_mode=relative_mode,
        temporal=_is_temporal(unit, rules) and not age,
        age=age,
        value_start=start,
        unit_span=(unit_info[1], unit_info[2]) if unit_info else None,
        stated=stated,
    )
    cm = rules.condition.match(text, cursor)
    if cm:
        comp.condition = cm.group("condition").strip()
        comp.condition_end = cm.end()
    if unit and rules.mass_unit.fullmatch(unit.strip()) and rules.rate_after.match(text, cursor):
        # "> 10 mg prednisone or equivalent per day": a dose rate told in two pieces
        comp.unit = f"{unit} per day"
        comp.unit_suffix = " per day"
    return comp, used


def _read_range(
    text: str,
    numbers: list[tuple[int, int, float | None]],
    i: int,
    cursor: int,
    unit: str | None,
    rules: ComparatorRules,
) -> tuple[Comparison, int] | None:
    if i + 1 >= len(numbers):
        return None
    start, end, low = numbers[i]
    nstart, nend, high = numbers[i + 1]
    am = rules.age_after.match(text, cursor)
    jm = rules.range_joiner.match(text, am.end() if am else cursor)
    if not jm:
        return None
    # the upper bound may carry its own comparator: "10% to <60%"
    between = text[jm.end() : nstart]
    upper = "<="
    if between.strip():
        sym = parse_comparator(between.strip(), rules)
        if sym not in ("<", "<="):
            return None
        upper = sym
    joiner = text[jm.start() : jm.end()].strip().lower()
    prefix = _prefix_comparator(text, start, rules)
    has_between = bool(rules.range_prefix.search(text[:start]))
    if joiner == "and" and not has_between and not _and_range_ok(text, nend, rules):
        return None
    if prefix and not has_between and prefix[0] != "==":
        return None
    if low is None or high is None or high <= low:
        return None
    unit2 = _unit_at(text, nend, rules)
    if (
        unit2 is None
        and not unit
        and start
        and text[start - 1] == "("
        and text[nend : nend + 1] == ")"
    ):
        unit2 = _unit_at(text, nend + 1, rules)  # "between (16-24) weeks of gestation"
    end2 = unit2[2] if unit2 else nend
    unit_final = unit or (unit2[0] if unit2 else None)
    unit_span = None
    if unit2:
        unit_span = (unit2[1], unit2[2])
    elif unit:
        unit_info = _unit_at(text, end, rules)
        unit_span = (unit_info[1], unit_info[2]) if unit_info else None
    rel = _relative_at(text, nend, rules)
    relative_to = rel[0] if rel else None
    if rel:
        end2 = rel[1]
    temporal = _is_temporal(unit_final, rules)
    age = _age_cue(text, start, end2, rules) and (temporal or unit_final is None)
    pm = rules.range_prefix.search(text[max(0, start - 40) : start])
    expr_start = max(0, start - 40) + pm.start() if pm else start
    low_cmp = Comparison(
        ">=",
        _as_number(low),
        unit_final,
        expr_start,
        end2,
        relative_to=relative_to,
        relative_mode="multiple" if rel else None,
        temporal=temporal and not age,
        age=age,
        value_start=start,
        unit_span=unit_span,
    )
    low_cmp.equivalent = {"range_upper": {"comparator": upper, "value": _as_number(high)}}
    return low_cmp, i + 2


def _and_range_ok(text: str, nend: int, rules: ComparatorRules) -> bool:
    """ "18 and 65 years old": an age cue after the second number makes "and" a range."""
    unit = _unit_at(text, nend, rules)
    return bool(rules.age_after.match(text, unit[2] if unit else nend))


def _read_set(
    text: str,
    numbers: list[tuple[int, int, float | None]],
    i: int,
    rules: ComparatorRules,
    classes: bool = False,
) -> tuple[list[float], int, int]:
    """ "ECOG 0, 1 or 2" -> [0, 1, 2]; with ``classes`` (a class or grade is named) "and"
    joins alternatives too: "NYHA III and IV", "ASA physical status I and II"."""
    members = [numbers[i][2]]
    last = numbers[i][1]
    j = i + 1
    while j < len(numbers):
        gap = text[last : numbers[j][0]]
        if not rules.set_joiner.fullmatch(gap):
            break
        members.append(numbers[j][2])
        last = numbers[j][1]
        j += 1
    joined = text[numbers[i][1] : last].lower()
    if len(members) > 1 and not classes and not any(w in joined for w in ("or", ",")):
        return [members[0]], numbers[i][1], i + 1
    return [_as_number(m) for m in members if m is not None], last, j


def expand(comparisons: list[Comparison]) -> list[Comparison]:
    """Split each range into its two bounds (``>=`` low, ``<=``/``<`` high)."""
    out: list[Comparison] = []
    for c in comparisons:
        diastolic = (c.equivalent or {}).get("diastolic")
        if diastolic is not None:
            c.equivalent = None
            out.append(c)
            out.append(
                Comparison(
                    **{**_fields(c), "value": diastolic, "analyte_hint": "diastolic blood pressure"}
                )
            )
            continue
        upper = (c.equivalent or {}).get("range_upper")
        if upper is None:
            out.append(c)
            continue
        low = Comparison(**{**_fields(c), "equivalent": None})
        high = Comparison(
            **{
                **_fields(c),
                "equivalent": None,
                "comparator": upper["comparator"],
                "value": upper["value"],
            }
        )
        out.extend([low, high])
    return out


def _fields(c: Comparison) -> dict[str, Any]:
    return {name: getattr(c, name) for name in Comparison.__slots__}


# --- attaching analytes -------------------------------------------------------------------


def _age_named_next(
    text: str,
    comp: Comparison,
    comparisons: list[Comparison],
    idx: int,
    mentions: list[Mention],
    rules: ComparatorRules,
) -> Mention | None:
    """The age mention in or right after the next comparison, when that one is an age bound
    joined to ``comp`` by "and"/"or"/"to" ("over 18 and under 75 years of age")."""
    if idx + 1 >= len(comparisons):
        return None
    nxt = comparisons[idx + 1]
    if not nxt.age or not rules.same_analyte.fullmatch(text[comp.end : nxt.start]):
        return None
    for m in mentions:
        if m.name == "age" and nxt.value_start < m.start <= nxt.end + 1:
            return m
    return None


def _named_inside(comp: Comparison, mentions: list[Mention]) -> list[Mention]:
    """Mentions within the comparison ("≥ grade 2"), or starting inside it and running on
    ("16 weeks of gestation": the name "weeks of gestation" starts at the unit)."""
    return [
        m
        for m in mentions
        if m.start >= comp.start and (m.end <= comp.end or comp.value_start < m.start < comp.end)
    ]


def _range_twin(comp: Comparison, previous: Comparison) -> bool:
    """The two bounds of one range share their start and their analyte hint."""
    return previous.start == comp.start and previous.analyte_hint == comp.analyte_hint


def attach_analytes(
    text: str,
    comparisons: list[Comparison],
    mentions: list[Mention],
    time_analytes: frozenset[str] = frozenset(),
    unitless: frozenset[str] = frozenset(),
    rules: ComparatorRules | None = None,
) -> list[Found]:
    """Give each comparison its analyte(s), trying in order: a mention inside the comparison
    ("≥ grade 2"), the nearest mention before it (with its coordination: "AST and ALT"), an
    age cue, a mention right after it ("≥ 1 bone lytic lesion"), the previous comparison's
    analyte ("<0.26 or >1.65"), the words before it, a mention shortly after it.

    A time quantity is a threshold only when it measures an analyte of ``time_analytes``
    ("life expectancy of at least 3 months"); otherwise it is a temporal window. A mention of
    an analyte in ``unitless`` (counts, scores) cannot take a comparison with a unit.
    """
    rules = rules or default_comparator_rules()
    mentions = merge_abbreviations(text, sorted(mentions, key=lambda m: m.start))
    found: list[Found] = []
    for idx, comp in enumerate(comparisons):
        prev_end = comparisons[idx - 1].end if idx else 0
        if comp.temporal and idx and _range_twin(comp, comparisons[idx - 1]):
            # "menstrual cycle 21-35 days": the upper bound goes where the lower bound went
            comp.temporal = comparisons[idx - 1].temporal
        if comp.temporal:
            # "a minimum life expectancy of 12 weeks", "≥ 33 gestational weeks": named inside
            timed = _named_inside(comp, mentions)[-1:]
            timed = timed or _left_analytes(text, comp, mentions, prev_end, rules)
            near = bool(timed) and len(text[timed[-1].end : comp.start]) <= 20
            if not near:  # "37 weeks of gestational age"
                right = _right_analyte(text, comp, mentions, comparisons, idx, rules, adjacent=True)
                timed, near = ([right], True) if right else ([], False)
            if not near or any(m.name not in time_analytes for m in timed):
                continue
            comp.temporal = False
        previous = comparisons[idx - 1] if idx else None
        if previous is not None and _range_twin(comp, previous) and found:
            # the upper bound of a range: same analytes as its lower bound
            twins = [f for f in found if f.comparison is comparisons[idx - 1]]
            for f in twins:
                found.append(Found(f.analyte, comp, f.start, max(f.end, comp.end)))
            if twins:
                continue
        if comp.stated:
            # a bare value counts only right after a named measure: "PSA 20 ng/ml"
            named = [m for m in mentions if m.end <= comp.start and m.start >= prev_end]
            if comp.unit is None:  # a bare number is a score's value, never a lab's
                named = [m for m in named if m.name in unitless]
            if named and rules.stated_glue.fullmatch(text, named[-1].end, comp.start):
                found.append(Found(named[-1], comp, named[-1].start, comp.end))
            continue
        fits = _fits(comp, unitless)
        # "≥ grade 2", "≥ 33 gestational weeks": named inside the comparison
        targets = [
            m
            for m in _named_inside(comp, mentions)
            if m.end <= comp.value_start or m.start > comp.value_start
        ]
        targets = [m for m in targets if fits(m)][-1:]
        if not targets:
            targets = [m for m in _left_analytes(text, comp, mentions, prev_end, rules) if fits(m)]
            right = _right_analyte(text, comp, mentions, comparisons, idx, rules, adjacent=True)
            if (
                targets
                and right is not None
                and text[comp.end : right.start] == " "
                and rules.conjunction.search(text[targets[-1].end : comp.start])
            ):
                targets = [right]  # "≥140 mmHg SBP and/or ≥90 mmHg DBP": the name follows
        before = found[-1].comparison if found else None
        if (
            not targets
            and before is not None
            and before.age == comp.age
            and rules.same_analyte.fullmatch(
                text[max(before.end, before.condition_end or 0) : comp.start]
            )
        ):
            targets = [found[-1].analyte]  # "age ≥ 18 and ≤ 90 years", "<0.26 or >1.65"
        if not targets and comp.age:
            # "> 18 and < 60 years of age": the age named after the second bound names both
            shared = _age_named_next(text, comp, comparisons, idx, mentions, rules)
            targets = [
                shared or Mention(comp.start, comp.end, "age", text[comp.start : comp.end], False)
            ]
        if not targets:
            right = _right_analyte(text, comp, mentions, comparisons, idx, rules, adjacent=True)
            targets = [right] if right else []
        before = found[-1].comparison if found else None
        if (
            not targets
            and before
            and rules.same_analyte.fullmatch(
                text[max(before.end, before.condition_end or 0) : comp.start]
            )
        ):
            targets = [found[-1].analyte]  # "<0.26 or >1.65": the same analyte again
        if not targets:
            fallback = _fallback_analyte(text, comp, prev_end, rules)
            if fallback is None or fallback.name in rules.generic_names:
                # "a score of 3 or 4 on the Wrinkle Severity Rating Scale": named after
                nm = rules.named_after.match(text, _after_condition(comp, comparisons, idx))
                if nm:
                    start, end = nm.start("name"), nm.end("name")
                    name = text[start:end].rstrip()
                    fallback = Mention(start, start + len(name), name.lower(), name, False)
            targets = [fallback] if fallback else []
        if not targets:
            right = _right_analyte(text, comp, mentions, comparisons, idx, rules, adjacent=False)
            targets = [right] if right else []
        if not targets and comp.relative_to is None:
            # "at least 2 fully erupted teeth", "≥ 80% diary compliance": named after
            cm = rules.counted_after.match(text, comp.end)
            trim = rules.name_trim.fullmatch if comp.unit is None else rules.name_trim.match
            if cm and not trim(cm.group("name") + " "):
                start, end = cm.start("name"), cm.end("name")
                name = text[start:end]
                targets = [Mention(start, end, name.lower(), name, False)]
        if not comp.age and all(not m.lexicon for m in targets):
            # "≥ 20 on the Hamilton depression scale": the instrument named after the value
            # measures it, rather than words guessed before it
            sm = rules.scale_after.match(text, _after_condition(comp, comparisons, idx))
            if sm:
                start, end = sm.start("name"), sm.end("name")
                name = text[start:end]
                targets = [Mention(start, end, name.lower(), name, False)]
        if comp.analyte_hint:
            # the words name blood pressure; the compound value says which one
            targets = [
                Mention(m.start, m.end, comp.analyte_hint, m.text, m.lexicon)
                for m in (targets or [Mention(comp.start, comp.end, "", "", False)])
            ]
        for m in targets:
            found.append(Found(m, comp, min(m.start, comp.start), max(m.end, comp.end)))
    return found


def _after_condition(comp: Comparison, comparisons: list[Comparison], idx: int) -> int:
    """Where the text after a comparison (or after the set/range it ends) begins."""
    end = comp.end
    for other in comparisons[idx + 1 :]:
        if other.start > end + 8:
            break
        end = max(end, other.end)
    return end


def _fits(comp: Comparison, unitless: frozenset[str]):  # noqa: ANN202
    has_unit = bool(comp.unit) and comp.unit.strip() != "%"

    def fits(m: Mention) -> bool:
        return not (has_unit and m.name in unitless)

    return fits


def merge_abbreviations(text: str, mentions: list[Mention]) -> list[Mention]:
    """``aspartate transaminase (ALT)``: a mention and the abbreviation after it in
    parentheses are one mention, named by the abbreviation (the more specific of the two)."""
    out: list[Mention] = []
    i = 0
    while i < len(mentions):
        m = mentions[i]
        if i + 1 < len(mentions):
            n = mentions[i + 1]
            if re.fullmatch(r"\s*\(\s*", text[m.end : n.start]) and re.match(
                r"\s*\)", text[n.end :]
            ):
                close = text.index(")", n.end) + 1
                out.append(Mention(m.start, close, n.name, text[m.start : close], n.lexicon))
                i += 2
                continue
        out.append(m)
        i += 1
    return out


def _left_analytes(
    text: str, comp: Comparison, mentions: list[Mention], prev_end: int, rules: ComparatorRules
) -> list[Mention]:
    before = [m for m in mentions if m.end <= comp.start]
    if not before:
        return []
    nearest = before[-1]
    gap = text[nearest.end : comp.start]
    # another comparison between them, a clause break or a long gap: not this analyte
    if nearest.start < prev_end:
        if not re.fullmatch(r"\s*(?:,|or|and|/)?\s*", text[prev_end : comp.start]):
            return []
        # "<0.26 or >1.65": the earlier analyte again, handled by the caller's fallback
        return []
    if len(gap) > 60 or (rules.clause_break.search(gap) and not re.fullmatch(r"\s*:\s*", gap)):
        return []
    group = [nearest]
    for m in reversed(before[:-1]):
        between = text[m.end : group[-1].start]
        # "A, B and C ≤ x": a bare comma joins only inside a list closed by and/or
        if rules.coordination.fullmatch(between) and (len(group) > 1 or between.strip() != ","):
            group.append(m)
        else:
            break
    return list(reversed(group))


def _right_analyte(
    text: str,
    comp: Comparison,
    mentions: list[Mention],
    comparisons: list[Comparison],
    idx: int,
    rules: ComparatorRules,
    *,
    adjacent: bool,
) -> Mention | None:
    """The mention after a comparison: right after it ("2 cycles", "5 mm in diameter") when
    ``adjacent``, else within a few words in the same clause."""
    later = [c.start for c in comparisons[idx + 1 :] if c.start > comp.start]  # not its twin
    nxt = later[0] if later else len(text)
    for m in mentions:
        if m.start >= comp.end and m.start < nxt:
            gap = text[comp.end : m.start]
            if adjacent:
                # "2 cycles", "5 mm in diameter", "1 bone focal lesion" (one modifier word)
                ok = re.fullmatch(
                    r"['’]?\s*(?:(?:of|in)\s+)?(?:(?:the|prior|previous)\s+)?"
                    r"(?:(?!(?:and|or|but|with|to)\b)[A-Za-z]+\s+)?",
                    gap,
                    re.I,
                )
                return m if ok else None
            between = text[m.end : nxt]
            owned = later and (not between.strip() or rules.name_tail.fullmatch(" " + between))
            if len(gap) <= 25 and not rules.clause_break.search(gap) and not owned:
                return m  # not "10 ug/min and lactate >4": that name has its own limit
            return None
    return None


def _fallback_analyte(
    text: str, comp: Comparison, prev_end: int, rules: ComparatorRules
) -> Mention | None:
    """The words just before a comparison, when no lexicon analyte names it: "serum
    galactomannan index >0.5", "white blood cell(WBC) is less than 3000/µL"."""
    left = max(prev_end, comp.start - 60)
    end = comp.start
    paren_end: int | None = None  # "ER (Estrogen Receptors)": the name keeps its gloss
    # drop what sits between the measure's name and the comparison: "is", "(WBC)", "["
    while True:
        window = text[left:end]
        tail = rules.name_tail.search(window)
        if tail and tail.start() < len(window):
            end = left + tail.start()
            continue
        stripped = window.rstrip()
        if stripped.endswith(("(", "[", ":", "=", ",")):  # "BMI:", "Mini Mental Test Score,"
            end = left + len(stripped) - 1
            continue
        paren = re.search(r"[(\[][^()\[\]]{1,30}[)\]]\s*$", stripped)
        if paren and re.search(r"[A-Za-z]{2,}", stripped[: paren.start()]):
            paren_end = paren_end or left + len(stripped)
            end = left + paren.start()
            continue
        end = left + len(stripped)
        break
    window = text[left:end]
    cut = max(
        (
            m.end()
            for m in re.finditer(r"[;:.(),\[\]]\s*|\s(?:and|or|but|if|with)\s|\s-\s+", window)
        ),
        default=0,
    )
    phrase = window[cut:]
    m = rules.name_trim.match(phrase + " ")  # "Have less than ...": no name at all
    offset = min(m.end(), len(phrase)) if m else 0
    phrase = phrase[offset:].rstrip(" -:")
    if not re.search(r"[A-Za-z]{2,}", phrase):
        return None
    start = left + cut + offset
    words = phrase.split()
    if len(words) > 6:
        drop = len(" ".join(words[:-6])) + 1
        start += drop
        phrase = phrase[drop:]
    stop = paren_end or start + len(phrase)
    return Mention(start, stop, phrase.lower().strip(), text[start:stop], False)


def extract(
    text: str,
    mentions: list[Mention],
    rules: ComparatorRules | None = None,
    time_analytes: frozenset[str] = frozenset(),
) -> list[Found]:
    """Thresholds of one statement (offsets relative to ``text``)."""
    comparisons = expand(find_comparisons(text, rules))
    return attach_analytes(text, comparisons, mentions, time_analytes)
