"""Screen one patient against a trial's structured criteria: met, not met, or unknown.

Every criterion gets a ``status`` saying whether its statement holds for the patient (an
exclusion criterion that is met excludes), the evidence it rests on and a one-line reason.
The trial-level answer uses three-valued (Kleene) logic over the criteria tree:

* a parent combines its regular children with its ``logic`` ("and"/"or"); children flagged
  ``exception`` cancel it: ``parent AND NOT any(exceptions)``;
* eligible = AND(top-level inclusion) AND NOT OR(top-level exclusion); a top-level criterion
  of section "unknown" can only leave the answer open.

Missing data give ``unknown``, never a silent met or not met, and the rules below prefer
``unknown`` whenever the record cannot settle a statement:

* A criterion with thresholds is decided by them. Thresholds combine with AND unless the text
  joining two of them says "or" ("GFR < 40 ... or creatinine > 2 mg/dL", "< 0.26 or > 1.65");
  a limit with a ``condition`` is an alternative that counts only when the record shows the
  condition; thresholds given as examples ("e.g. ... LVEF < 40%") can show the statement
  holds, never that it does not.
* Labs are matched by analyte (LOINC code or name, via the lexicon), the most recent value on
  or before the screening date counts (inside the criterion's time window when it has one),
  and values are converted with the pipeline's one Pint layer into the threshold's normalised
  unit. ULN/LLN limits use the Observation's own reference range.
* A criterion without thresholds is met only when its first sentence names a condition, drug
  or procedure of the record in a plain statement (no exception, allergy, negation, severity
  or time qualifier the record cannot confirm); otherwise it is unknown. These text cues are
  word lists and patterns in ``patterns/screening.json``, loaded on first use.

Plain data only: this module must not import spaCy.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from . import units
from .analytes import Analyte, load_analytes
from .errors import InputError, PatternError, UnitError
from .patient import ClinicalRecord, Lab, Patient, read_patient
from .rules import compile_all, compile_regex, load_rule_file, patterns_path, require
from .schema import Criterion, Threshold, Trial

Truth = bool | None
Status = Literal["met", "not_met", "unknown"]
STATUS: dict[Truth, Status] = {True: "met", False: "not_met", None: "unknown"}


# --- Kleene logic -------------------------------------------------------------------------------


def kleene_and(values: Iterable[Truth]) -> Truth:
    """False if any is False, else unknown if any is unknown, else True (True when empty)."""
    result: Truth = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def kleene_or(values: Iterable[Truth]) -> Truth:
    """True if any is True, else unknown if any is unknown, else False (False when empty)."""
    result: Truth = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def kleene_not(value: Truth) -> Truth:
    """Negation that keeps unknown unknown."""
    return None if value is None else not value


# --- Results ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Evidence:
    """One fact from the record behind a decision, with how it was read.

    For a lab: the value as recorded, the converted value, the limit it was compared with (in
    the same unit) and the conversion applied; for a condition, drug or procedure: the record
    and the name that matched the criterion text.
    """

    source: str  # "Observation/anc", "Patient.birthDate", "labs[2]"
    kind: str  # "lab", "age", "sex", "condition", "medication", "procedure"
    holds: Truth
    analyte: str | None = None
    recorded: dict[str, Any] | None = None
    converted: dict[str, Any] | None = None
    conversion: str | None = None
    threshold: dict[str, Any] | None = None
    matched: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "kind": self.kind, "holds": self.holds}
        for key in (
            "analyte",
            "recorded",
            "converted",
            "conversion",
            "threshold",
            "matched",
            "note",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(slots=True)
class CriterionResult:
    """Whether one criterion's statement holds for the patient, and why."""

    id: str
    status: Status
    reason: str
    evidence: list[Evidence] = field(default_factory=list)
    section: str = "unknown"
    parent_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section": self.section,
            "parent_id": self.parent_id,
            "status": self.status,
            "evidence": [e.to_dict() for e in self.evidence],
            "reason": self.reason,
        }


@dataclass(slots=True)
class ScreeningResult:
    """The screening of one patient: per-criterion statuses and the trial-level answer.

    ``undecided`` lists the top-level criteria whose unknown status keeps ``eligible`` open.
    """

    eligible: Truth
    criteria: list[CriterionResult]
    trial_id: str | None = None
    patient_id: str | None = None
    on: date | None = None
    undecided: list[str] = field(default_factory=list)

    def status(self, criterion_id: str) -> Status:
        """The status of one criterion by id (KeyError if the trial has no such criterion)."""
        for result in self.criteria:
            if result.id == criterion_id:
                return result.status
        raise KeyError(criterion_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id,
            "patient_id": self.patient_id,
            "on": self.on.isoformat() if self.on else None,
            "eligible": self.eligible,
            "undecided": list(self.undecided),
            "criteria": [c.to_dict() for c in self.criteria],
        }


@dataclass(slots=True)
class _Outcome:
    """A partial decision: truth value, the evidence behind it, and reasons to report."""

    truth: Truth
    evidence: list[Evidence] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def _combine(op: str, outcomes: Sequence[_Outcome]) -> _Outcome:
    """Kleene AND/OR of outcomes; the reasons kept are those of the parts that decided."""
    truths = [o.truth for o in outcomes]
    truth = kleene_or(truths) if op == "or" else kleene_and(truths)
    deciding = [o for o in outcomes if o.truth == truth] or list(outcomes)
    return _Outcome(
        truth,
        [e for o in outcomes for e in o.evidence],
        [r for o in deciding for r in o.reasons],
    )


# --- Threshold plans (shared with export) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThresholdGroup:
    """Thresholds (or nested groups) joined by one operator."""

    op: Literal["and", "or"]
    items: tuple[Threshold | ThresholdGroup, ...]


@dataclass(frozen=True, slots=True)
class Alternative:
    """A limit that applies under a condition ("in Gilbert syndrome, direct bilirubin <= 5")."""

    condition: str
    group: ThresholdGroup


@dataclass(frozen=True, slots=True)
class ThresholdPlan:
    """How a criterion's thresholds decide it.

    ``base``: the unconditional thresholds; ``alternatives``: conditional limits, any of which
    may satisfy the criterion instead; ``examples``: the thresholds only illustrate the
    statement (any one shows it holds, none shows it does not).
    """

    base: ThresholdGroup | None
    alternatives: tuple[Alternative, ...] = ()
    examples: bool = False


def threshold_plan(criterion: Criterion) -> ThresholdPlan | None:
    """The combination of a criterion's thresholds, or None when it has none."""
    if not criterion.thresholds:
        return None
    base = sorted((t for t in criterion.thresholds if not t.condition), key=lambda t: t.start)
    by_condition: dict[str, list[Threshold]] = {}
    for t in criterion.thresholds:
        if t.condition:
            by_condition.setdefault(t.condition, []).append(t)
    alternatives = tuple(
        Alternative(condition, _group(criterion, sorted(ts, key=lambda t: t.start)))
        for condition, ts in by_condition.items()
    )
    examples = bool(base) and _introduced_as_examples(criterion, base[0])
    group = _group(criterion, base) if base else None
    if group is not None and examples:
        group = ThresholdGroup("or", group.items)  # any one example shows the statement holds
    return ThresholdPlan(base=group, alternatives=alternatives, examples=examples)


def _introduced_as_examples(criterion: Criterion, first: Threshold) -> bool:
    if criterion.start is None:
        return False
    head = criterion.text[: max(0, first.start - criterion.start)]
    return bool(default_cues().examples.search(head))


def _group(criterion: Criterion, thresholds: list[Threshold]) -> ThresholdGroup:
    """Adjacent limits on one analyte first ("< 0.26 or > 1.65"), then across analytes."""
    clusters: list[list[Threshold]] = []
    for t in thresholds:
        if clusters and clusters[-1][-1].analyte == t.analyte:
            clusters[-1].append(t)
        else:
            clusters.append([t])
    nodes = [_precedence(list(cluster), _connectors(criterion, cluster)) for cluster in clusters]
    between = [_connector(criterion, a[-1], b[0]) for a, b in pairwise(clusters)]
    top = _precedence(nodes, between)
    return top if isinstance(top, ThresholdGroup) else ThresholdGroup("and", (top,))


def _connectors(criterion: Criterion, thresholds: list[Threshold]) -> list[str]:
    return [_connector(criterion, a, b) for a, b in pairwise(thresholds)]


def _connector(criterion: Criterion, a: Threshold, b: Threshold) -> str:
    """ "or" when the last conjunction between two thresholds is "or"/"and/or", else "and".

    Shared-analyte limits overlap ("ratio (<0.26 or >1.65)"): the text after the first one up
    to the end of the second holds their conjunction.
    """
    if criterion.start is None:
        return "and"
    lo = a.end - criterion.start
    hi = (b.start if b.start >= a.end else b.end) - criterion.start
    between = criterion.text[lo:hi] if 0 <= lo <= hi <= len(criterion.text) else ""
    words = [w.lower() for w in default_cues().conjunction.findall(between)]
    return "or" if words and words[-1] in ("or", "and/or") else "and"


def _precedence(
    items: list[Threshold | ThresholdGroup], connectors: list[str]
) -> Threshold | ThresholdGroup:
    """AND binds tighter than OR: "a and b or c" is (a and b) or c."""
    runs: list[list[Threshold | ThresholdGroup]] = [[items[0]]]
    for item, connector in zip(items[1:], connectors, strict=True):
        if connector == "or":
            runs.append([item])
        else:
            runs[-1].append(item)
    terms = [run[0] if len(run) == 1 else ThresholdGroup("and", tuple(run)) for run in runs]
    return terms[0] if len(terms) == 1 else ThresholdGroup("or", tuple(terms))


def contradiction(group: ThresholdGroup) -> str | None:
    """Why an AND of limits on one analyte cannot hold together ("ANC >= 1000 and < 1000").

    No value satisfies such a group, so a not-met answer would only reflect a misread
    structure (an alternative or a permission read as a requirement): screening says unknown.
    """
    if group.op != "and":
        return None
    scales: dict[tuple[str, str | None, str | None, str | None], list[Threshold]] = {}
    for item in group.items:
        if isinstance(item, Threshold) and not isinstance(item.value, list):
            unit = item.normalized.unit if item.normalized else item.unit
            key = (item.analyte, unit, item.relative_to, item.relative_mode)
            scales.setdefault(key, []).append(item)
    for limits in scales.values():
        if _disjoint(limits):
            shown = " and ".join(f"{t.comparator} {_fmt(_limit_value(t))}" for t in limits)
            return f"{limits[0].analyte} limits {shown} contradict each other: structure unclear"
    return None


def _limit_value(t: Threshold) -> float:
    value = t.normalized.value if t.normalized is not None and not t.relative_to else t.value
    assert not isinstance(value, list)
    return float(value)


def _disjoint(limits: list[Threshold]) -> bool:
    """True when no number satisfies every limit (lower bounds above upper bounds)."""
    lows = [(_limit_value(t), t.comparator == ">") for t in limits if t.comparator in (">", ">=")]
    highs = [(_limit_value(t), t.comparator == "<") for t in limits if t.comparator in ("<", "<=")]
    if not lows or not highs:
        return False
    low, low_strict = max(lows, key=lambda b: (b[0], b[1]))
    high, high_strict = min(highs, key=lambda b: (b[0], not b[1]))
    return low > high or (_close(low, high) and (low_strict or high_strict))


# --- Text evidence cues -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScreeningCues:
    """The word cues of ``patterns/screening.json``; its descriptions say what each one is for."""

    conjunction: re.Pattern[str]
    examples: re.Pattern[str]
    doubt: re.Pattern[str]
    negation: re.Pattern[str]
    qualifier: re.Pattern[str]
    current: re.Pattern[str]
    time_window: re.Pattern[str]
    sentence_end: re.Pattern[str]


_WORD_LISTS = ("conjunction", "examples", "doubt", "negation", "qualifier", "current")
_WORD_CHAR = re.compile(r"\w")


def load_screening_cues(path: Path | None = None) -> ScreeningCues:
    """Read and validate a screening rule file (by default ``patterns/screening.json``)."""
    path = path or patterns_path("screening.json")
    body = load_rule_file(path, "screening")
    require(path, "screening", body, ScreeningCues.__slots__)
    values = {
        name: compile_regex(
            path, f"{name}.words", _word_alternation(path, name, _entry(path, body, name, "words"))
        )
        for name in _WORD_LISTS
    }
    windows = compile_all(
        path, "time_window.patterns", _entry(path, body, "time_window", "patterns")
    )
    values["time_window"] = compile_regex(
        path, "time_window.patterns", "|".join(p.pattern for p in windows)
    )
    end = _entry(path, body, "sentence_end", "pattern")
    values["sentence_end"] = compile_regex(path, "sentence_end.pattern", end)
    return ScreeningCues(**values)


def _entry(path: Path, body: dict[str, Any], name: str, key: str) -> Any:
    """The ``key`` value of entry ``name``, which must also explain itself in a description."""
    entry = body[name]
    if not isinstance(entry, dict):
        raise PatternError(f"{path}: rule {name!r}: expected an object, got {entry!r}")
    require(path, name, entry, ("description", key))
    return entry[key]


def _word_alternation(path: Path, name: str, words: Any) -> str:
    """One regex alternative per word or phrase, whole words only; "stem*" ends in any letters."""
    if not isinstance(words, list) or not words:
        raise PatternError(
            f"{path}: rule '{name}.words': expected a non-empty list of words, got {words!r}"
        )
    alternatives = []
    for i, word in enumerate(words):
        stem = isinstance(word, str) and word.endswith("*")
        core = word[:-1] if stem else word
        if not isinstance(core, str) or not core or core != core.strip() or "*" in core:
            raise PatternError(
                f"{path}: rule '{name}.words[{i}]': expected a word or phrase "
                f"(with '*' only at its end), got {word!r}"
            )
        # \b only next to a word character: "e.g." ends in a full stop, not in a word
        before = r"\b" if _WORD_CHAR.match(core[0]) else ""
        after = r"\b" if _WORD_CHAR.match(core[-1]) else ""
        alternatives.append(before + re.escape(core) + (r"\w*" if stem else "") + after)
    return "|".join(alternatives)


@cache
def default_cues() -> ScreeningCues:
    """The shipped cues, loaded once per process on first use."""
    return load_screening_cues()


def first_sentence(text: str) -> str:
    """The statement proper: later sentences of an item are mostly permissions or notes."""
    match = default_cues().sentence_end.search(text)
    return text[: match.start()] if match else text


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str] | None:
    """Whole-word, case-, hyphen- and possessive-tolerant pattern of a record name."""
    tokens = re.findall(r"[a-z0-9]+", re.sub(r"['’]s\b", "", name.lower()))
    if not tokens or len("".join(tokens)) < 3:
        return None
    body = r"[\s\-/]+".join(re.escape(t) + r"(?:['’]s)?" for t in tokens)
    return re.compile(r"(?<![a-z0-9])" + body + r"(?![a-z0-9])", re.I)


def _finds(name: str, text: str) -> re.Match[str] | None:
    pattern = _name_pattern(name)
    return pattern.search(text) if pattern else None


# --- ISO 8601 windows ---------------------------------------------------------------------------

_ISO = re.compile(
    r"^P(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?:(?P<H>\d+(?:\.\d+)?)H)?(?:\d+(?:\.\d+)?M)?"
    r"(?:\d+(?:\.\d+)?S)?)?$"
)


def window_start(on: date, iso: str) -> date | None:
    """The first day of a look-back window of ISO 8601 duration ``iso`` ending on ``on``."""
    match = _ISO.match(iso.strip())
    if not match or iso.strip() in ("P", "PT"):
        return None
    part = {k: float(v) for k, v in match.groupdict().items() if v}
    months = part.get("Y", 0.0) * 12 + part.get("M", 0.0)
    whole = int(months)
    days = (months - whole) * 30.4375 + part.get("W", 0.0) * 7 + part.get("D", 0.0)
    days += part.get("H", 0.0) / 24
    return _months_before(on, whole) - timedelta(days=math.ceil(days))


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- Comparisons --------------------------------------------------------------------------------


def compare(value: float, comparator: str, limit: float | Sequence[float]) -> bool:
    """``value comparator limit`` with a relative tolerance, so 1000/uL x 0.001 equals 1."""
    if comparator == "in":
        options = limit if isinstance(limit, Sequence) else [limit]
        return any(_close(value, float(v)) for v in options)
    if isinstance(limit, Sequence):
        raise ValueError(f"comparator {comparator!r} needs one limit, got {list(limit)}")
    close = _close(value, limit)
    return {
        ">": value > limit and not close,
        ">=": value > limit or close,
        "<": value < limit and not close,
        "<=": value < limit or close,
        "==": close,
        "!=": not close,
    }[comparator]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def decide(low: float, high: float, comparator: str, limit: float | Sequence[float]) -> Truth:
    """Compare a value known only to lie in [low, high]: decided when both ends agree.

    A point value has low == high. Partial birth dates and censored results ("<5") give
    intervals; a comparison that depends on where the value lies is unknown.
    """
    if low == high:
        return compare(low, comparator, limit)
    if comparator not in ("<", "<=", ">", ">="):
        return None
    at_low, at_high = compare(low, comparator, limit), compare(high, comparator, limit)
    return at_low if at_low == at_high else None


def _fmt(value: float | Sequence[float] | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.6g}"


def _quantity(value: float | Sequence[float] | None, unit: str | None) -> str:
    return f"{_fmt(value)} {unit}" if unit else _fmt(value)


# --- Unit conversion ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Converted:
    """A recorded value (or interval) in the comparison unit, and how it got there."""

    low: float
    high: float
    unit: str | None
    record: str


def _is_unitless(unit: str | None) -> bool:
    return (
        unit is None or not unit.strip() or re.fullmatch(r"1|\{[^{}]*\}", unit.strip()) is not None
    )


def convert(
    low: float, high: float, unit: str | None, target: str | None, analyte: Analyte | None
) -> _Converted | str:
    """[low, high] in ``unit`` expressed in ``target``; a string says why it cannot be."""
    if target is None or _is_unitless(target):
        if _is_unitless(unit):
            return _Converted(low, high, target, "no unit")
        return f"recorded in {unit}, but the limit has no unit"
    if _is_unitless(unit):
        return f"recorded without a unit; the limit is in {target}"
    assert unit is not None
    try:
        pair = [_convert_one(v, unit, target, analyte) for v in (low, high)]
    except UnitError as exc:
        return f"unit {unit!r} not understood ({exc})"
    if pair[0] is None or pair[1] is None:
        return _not_convertible(unit, target, analyte)
    return _Converted(pair[0][0], pair[1][0], target, pair[0][1])


def _convert_one(
    value: float, unit: str, target: str, analyte: Analyte | None
) -> tuple[float, str] | None:
    if math.isinf(value):
        probe = _convert_one(1.0, unit, target, analyte)
        return None if probe is None else (value, probe[1])
    mass = analyte.molar_mass if analyte else None
    valence = analyte.valence if analyte else None
    result = units.to_canonical(value, unit, target, molar_mass=mass, valence=valence)
    if result is None and analyte is not None and analyte.name == "hemoglobin a1c":
        result = units.hba1c_scale(value, unit, target)
    if result is None or isinstance(result.value, list):
        return None
    return float(result.value), result.conversion or f"{unit} -> {target}"


def _not_convertible(unit: str, target: str, analyte: Analyte | None) -> str:
    reason = f"{unit} cannot be converted to {target}"
    molar = "mol" in unit.lower() or "mol" in target.lower()
    if analyte is not None and molar and analyte.molar_mass is None:
        reason += f" (the analyte lexicon gives {analyte.name} no molar mass)"
    return reason


# --- Screening ----------------------------------------------------------------------------------


def as_trial(trial: Trial | dict[str, Any]) -> Trial:
    """A ``Trial`` from a ``Trial`` or its ``to_dict()`` form (gold files have that shape)."""
    if isinstance(trial, Trial):
        return trial
    if not isinstance(trial, dict) or not isinstance(trial.get("criteria"), list):
        raise InputError("a trial must be a Trial or a dict with a 'criteria' list")
    try:
        return Trial.from_dict(trial)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"trial criteria do not have the Trial shape: {exc}") from exc


def screen(
    trial: Trial | dict[str, Any],
    patient: Patient | dict[str, Any] | str | Path,
    *,
    on: date | None = None,
) -> ScreeningResult:
    """Screen ``patient`` (FHIR Bundle, simple dict, JSON path or Patient) against ``trial``.

    ``on`` is the screening date (default today): ages are computed and labs chosen as of it.
    Raises ``ScreeningError`` for an unreadable patient, ``InputError`` for a malformed trial.
    """
    structured = as_trial(trial)
    record = read_patient(patient)
    return _Screener(record, on or date.today()).screen(structured)


class _Screener:
    """Screens one patient on one date; holds what every criterion needs."""

    def __init__(self, patient: Patient, on: date) -> None:
        self.patient = patient
        self.on = on
        self.lexicon = load_analytes()
        self._children: dict[str, list[Criterion]] = {}
        self._results: dict[str, CriterionResult] = {}
        self._truths: dict[str, Truth] = {}

    # Tree ------------------------------------------------------------------------------------

    def screen(self, trial: Trial) -> ScreeningResult:
        ids = {c.id for c in trial.criteria}
        self._children, self._results, self._truths = {}, {}, {}
        for c in trial.criteria:
            if c.parent_id in ids and c.parent_id != c.id:
                self._children.setdefault(c.parent_id, []).append(c)
        for c in trial.criteria:
            self._visit(c, frozenset())
        top = [c for c in trial.criteria if c.parent_id not in ids or c.parent_id == c.id]
        eligible = self._eligible(top, self._truths)
        undecided = [c.id for c in top if self._truths[c.id] is None] if eligible is None else []
        return ScreeningResult(
            eligible=eligible,
            criteria=[self._results[c.id] for c in trial.criteria],
            trial_id=trial.trial_id,
            patient_id=self.patient.id,
            on=self.on,
            undecided=undecided,
        )

    @staticmethod
    def _eligible(top: list[Criterion], truths: dict[str, Truth]) -> Truth:
        inclusion = kleene_and(truths[c.id] for c in top if c.section == "inclusion")
        exclusion = kleene_or(truths[c.id] for c in top if c.section == "exclusion")
        # A met criterion of unknown section may include or exclude: it cannot decide.
        open_section: Truth = (
            None if any(c.section not in ("inclusion", "exclusion") for c in top) else True
        )
        return kleene_and([inclusion, kleene_not(exclusion), open_section])

    def _visit(self, c: Criterion, path: frozenset[str]) -> Truth:
        """Decide ``c`` (after its children), memoised; ``path`` guards against parent cycles."""
        if c.id in self._truths:
            return self._truths[c.id]
        if c.id in path:  # a parent cycle in malformed input: nothing can be decided
            return None
        path = path | {c.id}
        kids = self._children.get(c.id, [])
        regular = [k for k in kids if not k.exception]
        exceptions = [k for k in kids if k.exception]
        outcome = self._own(c, regular, path)
        if c.negated:
            outcome = _negate(outcome)
        if exceptions:
            outcome = self._with_exceptions(outcome, exceptions, path)
        self._truths[c.id] = outcome.truth
        self._results[c.id] = CriterionResult(
            id=c.id,
            status=STATUS[outcome.truth],
            reason="; ".join(_unique(outcome.reasons)) or "nothing in the record decides it",
            evidence=outcome.evidence,
            section=c.section,
            parent_id=c.parent_id,
        )
        return outcome.truth

    def _own(self, c: Criterion, regular: list[Criterion], path: frozenset[str]) -> _Outcome:
        """The statement before exceptions: children's combination, thresholds, or text."""
        if not regular:
            return self.statement(c)
        op = c.logic or "and"
        kid_truths = [self._visit(k, path) for k in regular]
        truth = kleene_or(kid_truths) if op == "or" else kleene_and(kid_truths)
        listing = ", ".join(f"{k.id} {STATUS[t]}" for k, t in zip(regular, kid_truths, strict=True))
        combined = _Outcome(truth, [], [f"{'any' if op == 'or' else 'all'} of: {listing}"])
        if not c.thresholds:
            return combined
        return _combine("and", [self.statement(c), combined])

    def _with_exceptions(
        self, outcome: _Outcome, exceptions: list[Criterion], path: frozenset[str]
    ) -> _Outcome:
        """parent AND NOT any(exception): an exception that holds cancels the parent."""
        exc_truths = [self._visit(k, path) for k in exceptions]
        cancelled = kleene_or(exc_truths)
        truth = kleene_and([outcome.truth, kleene_not(cancelled)])
        listing = ", ".join(
            f"{k.id} {STATUS[t]}" for k, t in zip(exceptions, exc_truths, strict=True)
        )
        reasons = list(outcome.reasons) if truth == outcome.truth else []
        reasons.append(f"exceptions: {listing}")
        return _Outcome(truth, outcome.evidence, reasons)

    # Statements --------------------------------------------------------------------------------

    def statement(self, c: Criterion) -> _Outcome:
        """What the criterion's own words say about the patient (before negation)."""
        if c.origin == "sex":
            return self._sex(c)
        if c.origin == "healthyVolunteers":
            return _healthy_volunteers(c)
        plan = threshold_plan(c)
        if plan is not None:
            return self._plan(c, plan)
        return self._mentions(c)

    def _sex(self, c: Criterion) -> _Outcome:
        """The API v2 ``sex`` field: ALL, FEMALE or MALE against Patient.gender."""
        wanted = c.text.split(":", 1)[-1].strip().lower()
        sex = self.patient.sex
        evidence = Evidence("Patient.gender", "sex", None, recorded={"gender": sex})
        if wanted == "all":
            evidence.holds = True
            return _Outcome(True, [evidence], ["open to all sexes"])
        if sex not in ("male", "female") or wanted not in ("male", "female"):
            return _Outcome(None, [evidence], [f"sex {wanted} required; record gives {sex}"])
        evidence.holds = sex == wanted
        return _Outcome(sex == wanted, [evidence], [f"sex {wanted} required; record: {sex}"])

    def _plan(self, c: Criterion, plan: ThresholdPlan) -> _Outcome:
        window = self._window(c)
        if plan.base is not None:
            base = self._group(plan.base, window)
        else:
            base = _Outcome(None, [], ["only conditional limits"])
        if plan.examples and base.truth is not True:
            note = "its limits are examples: failing them does not rule it out"
            base = _Outcome(None, base.evidence, [note, *base.reasons])
        if base.truth is True or not plan.alternatives:
            return base
        terms = [base]
        for alternative in plan.alternatives:
            applies = self._applies(alternative.condition)
            limit = self._group(alternative.group, window)
            term = _combine("and", [applies, limit])
            term.reasons = [
                f"alternative for {alternative.condition!r}: " + "; ".join(term.reasons)
            ]
            terms.append(term)
        return _combine("or", terms)

    def _group(self, group: ThresholdGroup, window: date | None) -> _Outcome:
        conflict = contradiction(group)
        if conflict is not None:
            return _Outcome(None, [], [conflict])
        parts = [
            self._group(item, window)
            if isinstance(item, ThresholdGroup)
            else self.threshold(item, window)
            for item in group.items
        ]
        return _combine(group.op, parts)

    def _window(self, c: Criterion) -> date | None:
        """Start of the criterion's look-back window (the shortest, if several); None if none."""
        starts = []
        for item in c.temporal:
            iso = item.get("iso") if isinstance(item, dict) else None
            if isinstance(iso, str) and item.get("comparator") not in (">", ">="):
                start = window_start(self.on, iso)
                if start is not None:
                    starts.append(start)
        return max(starts) if starts else None

    def _applies(self, condition: str) -> _Outcome:
        """True when the record shows the condition of an alternative limit, else unknown."""
        for record in self.patient.records:
            for name in record.names:
                if _finds(name, condition):
                    evidence = _record_evidence(record, name, True, f"condition {condition!r}")
                    return _Outcome(True, [evidence], [f"{record.source} shows {name}"])
        return _Outcome(None, [], [f"the record does not show {condition!r}"])

    # Thresholds ------------------------------------------------------------------------------

    def threshold(self, t: Threshold, window: date | None) -> _Outcome:
        """One threshold against the patient's most recent matching value."""
        if t.analyte == "age":
            return self._age(t)
        analyte = self.lexicon.get(t.analyte)
        lab, why_none = self._latest_lab(t, window)
        if lab is None:
            return _Outcome(None, [], [why_none])
        if t.relative_to:
            return self._relative(t, lab, analyte)
        return self._absolute(t, lab, analyte)

    def _latest_lab(self, t: Threshold, window: date | None) -> tuple[Lab | None, str]:
        matching = [
            lab
            for lab in self.patient.labs
            if lab.analyte == t.analyte or (t.loinc is not None and lab.loinc == t.loinc)
        ]
        usable = [
            lab
            for lab in matching
            if lab.value is not None and (lab.date is None or lab.date <= self.on)
        ]
        if window is not None:
            usable = [lab for lab in usable if lab.date is not None and lab.date >= window]
        if not usable:
            where = f" between {window} and {self.on}" if window else f" on or before {self.on}"
            seen = f" ({len(matching)} outside it)" if matching and window else ""
            return None, f"no {t.analyte} value recorded{where}{seen}"
        dated = [lab for lab in usable if lab.date is not None]
        if dated:
            return max(dated, key=lambda lab: lab.date or date.min), ""
        return usable[-1], ""

    def _absolute(self, t: Threshold, lab: Lab, analyte: Analyte | None) -> _Outcome:
        norm = t.normalized
        target = norm.unit if norm is not None else t.unit
        limit = norm.value if norm is not None else t.value
        converted = convert(*_interval(lab), lab.unit, target, analyte)
        threshold = _threshold_record(t, limit, target)
        return self._judge(t, lab, analyte, converted, limit, threshold)

    def _relative(self, t: Threshold, lab: Lab, analyte: Analyte | None) -> _Outcome:
        """A multiple of, or an offset from, the Observation's own ULN/LLN."""
        bound = lab.high if t.relative_to == "ULN" else lab.low
        if bound is None:
            reason = (
                f"{lab.source} has no reference range {'high' if t.relative_to == 'ULN' else 'low'}"
            )
            reason += f": {t.relative_to} unknown"
            return _Outcome(None, [_lab_evidence(lab, t.analyte, None, note=reason)], [reason])
        if isinstance(t.value, list):
            return _Outcome(None, [], [f"a list of {t.relative_to} multiples cannot be compared"])
        target = analyte.unit if analyte is not None and analyte.unit else lab.unit
        converted = convert(*_interval(lab), lab.unit, target, analyte)
        reference = convert(bound, bound, lab.range_unit, target, analyte)
        if isinstance(reference, str):
            return self._judge(t, lab, analyte, reference, None, None)
        limit, derivation = self._relative_limit(t, reference.low, target, analyte, lab)
        if limit is None:
            return self._judge(t, lab, analyte, derivation, None, None)
        threshold = _threshold_record(t, limit, target)
        threshold["derivation"] = derivation
        return self._judge(t, lab, analyte, converted, limit, threshold)

    @staticmethod
    def _relative_limit(
        t: Threshold, bound: float, target: str | None, analyte: Analyte | None, lab: Lab
    ) -> tuple[float | None, str]:
        """(limit in ``target``, how it was derived) or (None, why not)."""
        name = t.relative_to
        shown = _quantity(bound, target)
        mode = t.relative_mode or "multiple"
        assert not isinstance(t.value, list)
        if mode == "multiple":
            return t.value * bound, f"{_fmt(t.value)} x {name} {shown} ({lab.source})"
        if mode not in ("above", "below"):
            return None, f"relative mode {mode!r} is not understood"
        norm = t.normalized
        offset_value, offset_unit = (norm.value, norm.unit) if norm else (t.value, t.unit)
        if isinstance(offset_value, list):
            return None, "a list of offsets cannot be compared"
        offset = convert(offset_value, offset_value, offset_unit, target, analyte)
        if isinstance(offset, str):
            return None, f"offset: {offset}"
        sign = 1 if mode == "above" else -1
        limit = bound + sign * offset.low
        word = "+" if mode == "above" else "-"
        return limit, f"{name} {shown} ({lab.source}) {word} {_quantity(offset.low, target)}"

    def _judge(
        self,
        t: Threshold,
        lab: Lab,
        analyte: Analyte | None,
        converted: _Converted | str,
        limit: float | list[float] | None,
        threshold: dict[str, Any] | None,
    ) -> _Outcome:
        """Compare a converted lab value with its limit, recording everything used."""
        name = t.analyte
        if isinstance(converted, str) or limit is None:
            reason = f"{name}: {converted if isinstance(converted, str) else 'no limit'}"
            evidence = _lab_evidence(lab, name, None, threshold=threshold, note=reason)
            return _Outcome(None, [evidence], [reason])
        truth = decide(converted.low, converted.high, t.comparator, limit)
        value = _value_text(converted)
        recorded = f"{_recorded_text(lab)}{' on ' + str(lab.date) if lab.date else ''}"
        verdict = {True: "", False: "not ", None: "perhaps "}[truth]
        reason = (
            f"{name} {value} (recorded {recorded}) is {verdict}{t.comparator} "
            f"{_quantity(limit, converted.unit)}"
        )
        if threshold and threshold.get("derivation"):
            reason += f" = {threshold['derivation']}"
        evidence = _lab_evidence(lab, name, truth, threshold=threshold)
        evidence.converted = {"value": _interval_value(converted), "unit": converted.unit}
        evidence.conversion = converted.record
        return _Outcome(truth, [evidence], [reason])

    def _age(self, t: Threshold) -> _Outcome:
        """Age in completed years on the screening date (an interval for partial birth dates)."""
        ages = self.patient.age_on(self.on)
        if ages is None:
            return _Outcome(None, [], ["no birth date recorded"])
        norm = t.normalized
        target = norm.unit if norm is not None else "a"
        limit = norm.value if norm is not None else t.value
        converted = convert(float(ages[0]), float(ages[1]), "a", target, None)
        recorded = {"birth_date": self.patient.birth_date, "on": self.on.isoformat()}
        threshold = _threshold_record(t, limit, target)
        evidence = Evidence("Patient.birthDate", "age", None, "age", recorded, threshold=threshold)
        if isinstance(converted, str):
            evidence.note = converted
            return _Outcome(None, [evidence], [f"age: {converted}"])
        truth = decide(converted.low, converted.high, t.comparator, limit)
        evidence.holds = truth
        evidence.converted = {"value": _interval_value(converted), "unit": converted.unit}
        evidence.conversion = f"completed years on {self.on}" + (
            "" if converted.unit == "a" else f"; {converted.record}"
        )
        age = _value_text(converted)
        verdict = {True: "", False: "not ", None: "perhaps "}[truth]
        reason = f"age {age} on {self.on} is {verdict}{t.comparator} {_quantity(limit, target)}"
        return _Outcome(truth, [evidence], [reason])

    # Text evidence ---------------------------------------------------------------------------

    def _mentions(self, c: Criterion) -> _Outcome:
        """Met when the statement names something the record has, in a plain assertion."""
        sentence = first_sentence(c.text)
        judged = [
            self._judge_mention(c, sentence, record, name, position)
            for record, name, position in self._hits(c, sentence)
        ]
        if not judged:
            return _Outcome(None, [], ["nothing in the record is named by this criterion"])
        return _combine("or", judged)

    def _hits(self, c: Criterion, sentence: str) -> list[tuple[ClinicalRecord, str, int]]:
        """(record, name, position in the sentence) for each record the statement names."""
        hits: list[tuple[ClinicalRecord, str, int]] = []
        for record in self.patient.records:
            for name in record.names:
                match = _finds(name, sentence)
                if match:
                    hits.append((record, name, match.start()))
                    break
            else:
                hit = self._entity_hit(c, sentence, record)
                if hit is not None:
                    hits.append(hit)
        return hits

    @staticmethod
    def _entity_hit(
        c: Criterion, sentence: str, record: ClinicalRecord
    ) -> tuple[ClinicalRecord, str, int] | None:
        """A parsed entity (by canonical name or text) that names the record."""
        if c.start is None:
            return None
        for entity in c.entities:
            if entity.negated or entity.hypothetical or entity.family or entity.uncertain:
                continue
            position = entity.start - c.start
            if not 0 <= position < len(sentence):
                continue
            for term in (entity.canonical, entity.text):
                if term and any(_finds(term, n) or _finds(n, term) for n in record.names):
                    return record, term, position
        return None

    def _judge_mention(
        self, c: Criterion, sentence: str, record: ClinicalRecord, name: str, position: int
    ) -> _Outcome:
        doubt = self._mention_doubt(c, sentence, record, position)
        if doubt is not None:
            reason = f"{record.source} records {name!r}, but {doubt}"
            return _Outcome(None, [_record_evidence(record, name, None, doubt)], [reason])
        reason = f"{record.source} records {name!r}"
        return _Outcome(True, [_record_evidence(record, name, True, None)], [reason])

    def _mention_doubt(
        self, c: Criterion, sentence: str, record: ClinicalRecord, position: int
    ) -> str | None:
        """Why a mention is not evidence that the statement holds, or None when it is."""
        prefix = sentence[:position]
        names = " ".join(record.names).lower()
        cues = default_cues()
        cue = cues.doubt.search(prefix)
        if cue:
            return f"the criterion names it after {cue.group()!r}"
        negation = cues.negation.search(prefix)
        if negation and not c.negated:
            return f"the criterion names it after {negation.group()!r}"
        qualifiers = [q.group() for q in cues.qualifier.finditer(sentence)]
        unstated = [q for q in qualifiers if q.lower() not in names]
        if unstated:
            return (
                f"the criterion requires it to be {unstated[0]!r}, which the record does not state"
            )
        if cues.current.search(sentence) and record.active is not True:
            status = record.status or "without status"
            return f"the criterion asks for a current one and the record is {status}"
        if cues.time_window.search(sentence):
            return self._window_doubt(c, record)
        return None

    def _window_doubt(self, c: Criterion, record: ClinicalRecord) -> str | None:
        start = self._window(c)
        if start is None:
            return "the criterion has a time window that is not in structured form"
        if record.date is not None and start <= record.date <= self.on:
            return None
        if record.active is True and (record.date is None or record.date <= self.on):
            return None  # current, so inside any look-back window
        return f"its date ({record.date or 'none'}) is not within the window from {start}"


def _healthy_volunteers(c: Criterion) -> _Outcome:
    """API v2 ``healthyVolunteers``: "true" restricts nobody; "false" needs a clinical judgement."""
    accepted = c.text.split(":", 1)[-1].strip().lower() in ("true", "yes")
    if accepted:
        return _Outcome(True, [], ["the trial also accepts healthy volunteers"])
    return _Outcome(None, [], ["the trial does not accept healthy volunteers"])


# --- Evidence helpers ---------------------------------------------------------------------------


def _negate(outcome: _Outcome) -> _Outcome:
    reasons = [f"negated statement: {'; '.join(outcome.reasons)}"] if outcome.reasons else []
    return _Outcome(kleene_not(outcome.truth), outcome.evidence, reasons)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _interval(lab: Lab) -> tuple[float, float]:
    """The values a (possibly censored) lab result can have."""
    assert lab.value is not None
    if lab.comparator in ("<", "<="):
        return -math.inf, lab.value
    if lab.comparator in (">", ">="):
        return lab.value, math.inf
    return lab.value, lab.value


def _interval_value(converted: _Converted) -> float | list[float]:
    if converted.low == converted.high:
        return converted.low
    return [converted.low, converted.high]


def _value_text(converted: _Converted) -> str:
    if converted.low == converted.high:
        return _quantity(converted.low, converted.unit)
    return f"{_fmt(converted.low)}..{_quantity(converted.high, converted.unit)}"


def _recorded_text(lab: Lab) -> str:
    return f"{lab.comparator or ''}{_quantity(lab.value, lab.unit)}"


def _threshold_record(
    t: Threshold, limit: float | list[float] | None, unit: str | None
) -> dict[str, Any]:
    """The threshold as written, and the limit actually compared (in the comparison unit)."""
    written = " ".join(
        part
        for part in (
            t.comparator,
            _fmt(t.value),
            t.unit or "",
            f"{t.relative_mode or 'x'} {t.relative_to}" if t.relative_to else "",
        )
        if part
    )
    record: dict[str, Any] = {
        "written": written,
        "comparator": t.comparator,
        "value": limit,
        "unit": unit,
    }
    if t.condition:
        record["condition"] = t.condition
    return record


def _lab_evidence(
    lab: Lab,
    analyte: str,
    holds: Truth,
    *,
    threshold: dict[str, Any] | None = None,
    note: str | None = None,
) -> Evidence:
    recorded: dict[str, Any] = {"value": lab.value, "unit": lab.unit}
    if lab.comparator:
        recorded["comparator"] = lab.comparator
    if lab.date:
        recorded["date"] = lab.date.isoformat()
    if lab.text:
        recorded["name"] = lab.text
    if lab.low is not None or lab.high is not None:
        recorded["reference_range"] = {"low": lab.low, "high": lab.high, "unit": lab.range_unit}
    return Evidence(lab.source, "lab", holds, analyte, recorded, threshold=threshold, note=note)


def _record_evidence(record: ClinicalRecord, name: str, holds: Truth, note: str | None) -> Evidence:
    recorded: dict[str, Any] = {"names": list(record.names)}
    if record.date:
        recorded["date"] = record.date.isoformat()
    if record.status:
        recorded["status"] = record.status
    return Evidence(record.source, record.kind, holds, recorded=recorded, matched=name, note=note)
