"""Unit parsing and normalisation: the one Pint registry of the pipeline.

Eligibility criteria write units the way people type them ("x 10^9/L", "/µL", "K/µL",
"mL/min/1.73 m²", "mg/24 hours"); thresholds are compared in one canonical UCUM unit per
analyte. This module turns the first into the second without guessing:

* ``clean_unit`` rewrites spellings that Pint would reject, or - worse - parse silently wrong
  ("mg/24 h" is (mg/24)·h to Pint, "mL/min/1.73 m²" is (mL/min/1.73)·m², "K" is kelvin), into
  names defined in ``patterns/units.txt``.
* ``parse_unit`` parses the cleaned text (cached) and refuses any leftover numeric factor.
* ``to_canonical`` converts a value with factors computed by Pint, enabling contexts only when
  the analyte supplies what they need (molar mass for mass <-> molar, valence for mEq), and
  returns ``None`` rather than a number whenever the two units do not measure the same thing.

Nothing is loaded at import time: the registry is built on first use and every parse and
conversion factor is cached, so a warm ``to_canonical`` call is plain arithmetic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import PatternError, UnitError
from pipeline.schema import Normalized

if TYPE_CHECKING:  # pint is imported lazily, with the registry
    import pint

PATTERNS_DIR = Path(__file__).resolve().parent.parent / "patterns"
UNITS_FILE = PATTERNS_DIR / "units.txt"

# The IFCC-NGSP master equation (HbA1c): NGSP % = 0.09148 x IFCC mmol/mol + 2.152. An affine
# relation between two scales of one measurand, which no unit definition can express.
IFCC_NGSP_SLOPE = 0.09148
IFCC_NGSP_INTERCEPT = 2.152

_SIGNIFICANT_DIGITS = 12  # enough for any lab value; drops float noise such as 75.00000000000001


# --- Registry -------------------------------------------------------------------------------


@cache
def registry() -> pint.UnitRegistry:
    """The pipeline's one Pint registry: Pint defaults plus ``patterns/units.txt``.

    Built on first call (about 1 s: Pint parses its definitions), then shared, so every unit in the
    pipeline is comparable with every other one.
    """
    return build_registry(UNITS_FILE)


def build_registry(definitions: Path) -> pint.UnitRegistry:
    """A fresh registry with ``definitions`` loaded; ``PatternError`` names a bad file.

    Only ``registry()`` should call this outside tests: two registries' units do not mix.
    """
    import pint

    ureg = pint.UnitRegistry(cache_folder=None)
    try:
        ureg.load_definitions(str(definitions))
    except (OSError, ValueError, pint.errors.PintError) as exc:
        raise PatternError(f"{definitions}: cannot load unit definitions: {exc}") from exc
    return ureg


# --- Cleaning registry text -----------------------------------------------------------------

_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

_TEN_TO = " ten_to_\\1 "  # "x 10^9" -> the unit ten_to_9 of patterns/units.txt

_RATE_WORDS = ("rate_words", "", 0)  # marks where the rate words of the rule file go


@cache
def _rewrites() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The ordered rewrites of ``clean_unit``, with the rate words ("3 times a week") read from
    ``patterns/comparators.json`` (``units.rate_words``), validated when first needed."""
    out: list[tuple[re.Pattern[str], str]] = []
    for pattern, replacement, flags in _SPELLINGS:
        if pattern == _RATE_WORDS[0]:
            out.extend(rate_words())
        else:
            out.append((re.compile(pattern, flags), replacement))
    return tuple(out)


def rate_words(path: Path | None = None) -> list[tuple[re.Pattern[str], str]]:
    """``units.rate_words`` of the comparator rules: (pattern, replacement) pairs that spell a
    rate's denominator as "/" ("cigarettes a day" -> "cigarettes / day")."""
    from .rules import compile_regex, load_rule_file, require

    path = path or PATTERNS_DIR / "comparators.json"
    units = load_rule_file(path, "comparators").get("units", {})
    rules = units.get("rate_words") if isinstance(units, dict) else None
    if not isinstance(rules, list):
        raise PatternError(f"{path}: rule 'units.rate_words': expected a list of rules")
    out = []
    for i, rule in enumerate(rules):
        name = f"units.rate_words[{i}]"
        if not isinstance(rule, dict):
            raise PatternError(f"{path}: rule {name!r}: expected an object, got {rule!r}")
        require(path, name, rule, ("pattern", "replacement"))
        if not isinstance(rule["replacement"], str):
            raise PatternError(f"{path}: rule {name!r}: replacement must be a string")
        out.append((compile_regex(path, name, rule["pattern"]), rule["replacement"]))
    return out


# Ordered (pattern, replacement, flags) rewrites. They handle syntax (how a unit is written),
# never factors: every replacement is a name that patterns/units.txt or Pint defines.
_SPELLINGS: tuple[tuple[str, str, int], ...] = (
    # UCUM codes: annotations and bracketed atoms
    (r"\{\s*1[.,]73_?m2\s*\}", "standard_body_surface", 0),
    (r"\{\s*copies\s*\}", "copy", re.I),
    (r"\{\s*cells\s*\}", "cell", re.I),
    (r"\[\s*iu\s*\]", "IU", re.I),
    (r"\bmm\s*\[\s*Hg\s*\]", "mmHg", 0),
    # "/1.73 m²" (eGFR): a named standard body surface, not a factor
    (
        r"(?:/|\bper\b)\s*1[.,]73\s*(?:m\s*\^?\s*2\b|sq\.?\s*m\w*|m\s*sq\b|square\s+met\w*)",
        "/ standard_body_surface",
        re.I,
    ),
    # "/24 hours", "per 24 hour", "/(24.h)": a named 24-hour span, not a factor
    (
        r"(?:/|\bper\b|\bin\b|\bevery\b|\beach\b)\s*\(?\s*24\s*[-.]?\s*(?:h|hrs?|hours?)\b\s*\)?",
        "/ twenty_four_hours",
        re.I,
    ),
    # powers of ten: "x 10^9", "10*9", "10e9", "10**9", "x10(9)", "x109"
    (r"(?:[x×*·]\s*)?(?<![\d.])10\s*(?:\^|\*\*?|e)\s*\(?\s*(\d{1,2})\s*\)?", _TEN_TO, re.I),
    (r"(?:[x×*·]\s*)?(?<![\d.])10\s*\(\s*(\d{1,2})\s*\)", _TEN_TO, re.I),
    (r"[x×]\s*10(3|6|9|12)(?=\s*(?:/|cells?\b|$))", _TEN_TO, re.I),
    # "K/µL", "thou/µL", "G/L", "T/L", "M/µL": count prefixes, not kelvin/thou/gauss/tesla
    (r"^(?:K|k|thou(?:sand)?s?)\s*(?=/|cells?\b)", "ten_to_3 ", 0),
    (r"^(?:M|mill(?:ion)?s?)\s*(?=/|cells?\b)", "ten_to_6 ", 0),
    (r"^(?:G|Gi|giga)\s*(?=/)", "ten_to_9 ", 0),
    (r"^T\s*(?=/)", "ten_to_12 ", 0),
    # cubic millimetres and mercury columns written as words
    (r"\bcu(?:bic)?\.?\s*mm\b|\bcumm\b|\bcubic\s+millimet(?:er|re)s?\b", "mm^3", re.I),
    (r"\bmm\s+Hg\b", "mmHg", re.I),
    # temperatures
    (r"(?:°|º|\bdeg(?:rees?)?\.?)\s*C(?:elsius)?\b", "degC", re.I),
    (r"(?:°|º|\bdeg(?:rees?)?\.?)\s*F(?:ahrenheit)?\b", "degF", re.I),
    # words
    (r"\bper\s*cent\b", "percent", re.I),
    (r"\b(?:years?|yrs?)\s+(?:old|of\s+age)\b|\by\.?\s*/?\s*o\.?(?=\s|$)", "year", re.I),
    _RATE_WORDS,  # "a day", "in a week", "daily": from patterns/comparators.json
    # time words in any case ("18 Years" in API v2 fields, "3 MONTHS"); a lone "y" is a year
    (r"\b(?:years?|yrs?)\b(?!\s*/)|^y$", "year", re.I),
    (r"\b(?:months?|mos?)\b", "month", re.I),
    (r"\b(?:weeks?|wks?)\b", "week", re.I),
    (r"\bdays?\b", "day", re.I),
    (r"\b(?:hours?|hrs?)\b", "hour", re.I),
    (r"\bper\b", "/", re.I),
    # UCUM-style exponents ("m2", "mm3") and products ("kg.m")
    (r"(?<=[A-Za-z])([23])\b", "^\\1", 0),
    (r"(?<=[A-Za-z\]])\.(?=[A-Za-z\[])", " * ", 0),
    (r"[·⋅]", " * ", 0),
    # a leading "/" ("/µL", "/min") means "per one"
    (r"^\s*/", "1 / ", 0),
)


def clean_unit(text: str) -> str:
    """Rewrite a unit as written in registry text (or a UCUM code) into a Pint expression.

    Examples: ``"× 10\\^9/L"`` -> ``"ten_to_9 / L"``, ``"mL/min/1.73 m²"`` ->
    ``"mL/min / standard_body_surface"``, ``"mg/24 hours"`` -> ``"mg / twenty_four_hours"``.
    The result is only meant for ``parse_unit``; it is not a display form.
    """
    cleaned = text.strip().replace("\\", "").rstrip(" .,;:")
    cleaned = _SUPERSCRIPT_RUN.sub(_superscript_power, cleaned)
    cleaned = cleaned.replace("µ", "u").replace("μ", "u")
    for pattern, replacement in _rewrites():
        cleaned = pattern.sub(replacement, cleaned)
    return " ".join(cleaned.split())


def _superscript_power(match: re.Match[str]) -> str:
    """ "10⁹" -> "10^9", "m²" -> "m^2"."""
    return "^" + match.group().translate(_SUPERSCRIPT_DIGITS)


# --- Parsing ----------------------------------------------------------------------------------


def parse_unit(text: str) -> pint.Unit:
    """Parse a unit written in criteria text or as a UCUM code; raise ``UnitError`` if unknown.

    Results (and failures) are cached per exact text, so repeated units cost a dict lookup.
    """
    result = _parse_cached(text)
    if isinstance(result, str):
        raise UnitError(result)
    return result


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> pint.Unit | str:
    """Parse once; a failure is cached as its message so bad units stay cheap too."""
    import pint

    cleaned = clean_unit(text)
    if not cleaned:
        return f"empty unit {text!r}"
    try:
        parsed = registry().parse_expression(cleaned)
    except (
        pint.errors.PintError,
        AttributeError,
        TypeError,
        SyntaxError,
        ValueError,
        AssertionError,  # Pint's expression parser asserts on some malformed input ("mg//L")
        KeyError,
        IndexError,
    ) as exc:
        return f"unknown unit {text!r} (read as {cleaned!r}): {exc}"
    if not isinstance(parsed, pint.Quantity):
        return f"not a unit: {text!r}"
    if not math.isclose(float(parsed.magnitude), 1.0, rel_tol=1e-12):
        # A stray number ("mg/100 mL") would silently scale every value: refuse it.
        return f"unit {text!r} carries a numeric factor {parsed.magnitude:g} (read as {cleaned!r})"
    return parsed.units


def same_quantity(unit_a: str, unit_b: str) -> bool:
    """True when values in the two units are directly convertible (no molar mass or valence).

    Percentages only match percentages, and dimensionless ratios only match ratios of the same
    things (mmol/mol is not mg/g), even though Pint calls all of them dimensionless. Units that
    do not parse are not the same quantity as anything.
    """
    try:
        a, b = parse_unit(unit_a), parse_unit(unit_b)
    except UnitError:
        return False
    return _same_kind(a, b) and a.dimensionality == b.dimensionality


def same_unit(unit_a: str, unit_b: str) -> bool:
    """True when the two spellings name one unit: convertible with a factor of exactly 1.

    "/µL", "cells/mm3" and "10*6/L" are one unit; "mg/dL" and "g/dL" are the same quantity
    (``same_quantity``) but not the same unit. Unparseable units are never the same unit.
    """
    if not same_quantity(unit_a, unit_b):
        return False
    try:
        rule = _conversion(unit_a.strip(), unit_b.strip(), None, None)
    except UnitError:
        return False
    return rule is not None and rule.offset == 0 and math.isclose(rule.scale, 1.0, rel_tol=1e-12)


# --- UCUM <-> Pint ----------------------------------------------------------------------------

# UCUM atoms for Pint units whose symbols differ (the rest use Pint's symbol, µ spelled u).
_UCUM_ATOMS: dict[str, str] = {
    "ten_to_3": "10*3",
    "ten_to_6": "10*6",
    "ten_to_9": "10*9",
    "ten_to_12": "10*12",
    "standard_body_surface": "{1.73_m2}",
    "twenty_four_hours": "(24.h)",
    "degree_Celsius": "Cel",
    "degree_Fahrenheit": "[degF]",
    "millimeter_Hg": "mm[Hg]",
    "international_unit": "[iU]",
    "beat": "{beats}",
    "breath": "{breaths}",
    "enzyme_unit": "U",
    "year": "a",
    "month": "mo",
    "week": "wk",
    "day": "d",
    "liter": "L",
    "percent": "%",
    "cell": "{cells}",
    "copy": "{copies}",
    "equivalent": "eq",
    "beats_per_minute": "/min",
    "breaths_per_minute": "/min",
}


def ucum_to_pint(code: str) -> pint.Unit:
    """The Pint unit of a UCUM code ("10*9/L", "mg/(24.h)", "mL/min/{1.73_m2}", "mm[Hg]")."""
    return parse_unit(code)


def is_duration(code: str | None) -> bool:
    """Whether a UCUM code measures time alone ("a", "wk", "min"), by Pint's dimensionality:
    the measures whose values are durations ("life expectancy", "gestational age")."""
    if not code:
        return False
    try:
        return parse_unit(code).dimensionality == parse_unit("s").dimensionality
    except Exception:  # noqa: BLE001 - a code Pint cannot read is no duration
        return False


def pint_to_ucum(unit: pint.Unit) -> str:
    """The UCUM code of a Pint unit: numerator atoms joined by ".", each divisor after "/"."""
    numerator: list[str] = []
    denominator: list[str] = []
    for name, exponent in unit._units.items():  # Pint has no public accessor
        atom = _ucum_atom(name)
        power = abs(exponent)
        term = atom if power == 1 else f"{atom}{power:g}"
        (numerator if exponent > 0 else denominator).append(term)
    return ".".join(numerator) + "".join(f"/{term}" for term in denominator)


@cache
def _ucum_atom(name: str) -> str:
    """UCUM spelling of one (possibly prefixed) Pint unit name."""
    ureg = registry()
    if name in _UCUM_ATOMS:
        return _UCUM_ATOMS[name]
    prefix, base, _suffix = ureg.parse_unit_name(name)[0]
    base_symbol = _UCUM_ATOMS.get(base) or ureg.get_symbol(base)
    prefix_symbol = ""
    if prefix:
        full = ureg.get_symbol(name)
        prefix_symbol = full[: len(full) - len(ureg.get_symbol(base))]
    return (prefix_symbol + base_symbol).replace("µ", "u")


# --- Conversion -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Affine:
    """A cached conversion y = scale * x + offset, with its human-readable record."""

    scale: float
    offset: float
    record: str

    def apply(self, value: float) -> float:
        return _round(self.scale * value + self.offset)


def to_canonical(
    value: float | Sequence[float],
    unit: str,
    canonical: str,
    *,
    molar_mass: float | None = None,
    valence: int | None = None,
) -> Normalized | None:
    """Express ``value unit`` in the ``canonical`` UCUM unit, or return ``None``.

    ``None`` means the units measure different things (g/dL vs %, mg vs mg/(24.h), mg/dL vs
    umol/L without a molar mass): a threshold is never given a guessed number. ``molar_mass``
    (g/mol) enables Pint's chemistry context, ``valence`` the mEq <-> mmol one. An unknown
    unit raises ``UnitError``. The factor is computed by Pint once per unit pair and cached.
    """
    rule = _conversion(unit.strip(), canonical, molar_mass, valence)
    if rule is None:
        return None
    if isinstance(value, Sequence):
        converted: float | list[float] = [rule.apply(float(v)) for v in value]
    else:
        converted = rule.apply(float(value))
    return Normalized(value=converted, unit=canonical, conversion=rule.record)


def hba1c_scale(value: float | Sequence[float], unit: str, canonical: str) -> Normalized | None:
    """Convert HbA1c between IFCC (mmol/mol) and NGSP (%) with the master equation.

    Only for the HbA1c measurand: Pint sees both units as dimensionless and would turn
    48 mmol/mol into 4.8 %, when the clinical equivalent is 6.5 %. ``None`` for other units.
    """
    src, dst = parse_unit(unit), parse_unit(canonical)
    ifcc, ngsp = parse_unit("mmol/mol"), parse_unit("%")
    if src == ifcc and dst == ngsp:
        rule = _Affine(
            IFCC_NGSP_SLOPE,
            IFCC_NGSP_INTERCEPT,
            f"{unit.strip()} -> {canonical} (IFCC -> NGSP): "
            f"x {IFCC_NGSP_SLOPE:g} + {IFCC_NGSP_INTERCEPT:g}",
        )
    elif src == ngsp and dst == ifcc:
        rule = _Affine(
            1 / IFCC_NGSP_SLOPE,
            -IFCC_NGSP_INTERCEPT / IFCC_NGSP_SLOPE,
            f"{unit.strip()} -> {canonical} (NGSP -> IFCC): "
            f"(x - {IFCC_NGSP_INTERCEPT:g}) / {IFCC_NGSP_SLOPE:g}",
        )
    else:
        return None
    if isinstance(value, Sequence):
        return Normalized([rule.apply(float(v)) for v in value], canonical, rule.record)
    return Normalized(rule.apply(float(value)), canonical, rule.record)


def is_percent(unit: str) -> bool:
    """True when ``unit`` is a percentage (a share of a whole, not a concentration)."""
    try:
        return parse_unit(unit) == _percent()
    except UnitError:
        return False


@lru_cache(maxsize=8192)
def _conversion(
    unit: str, canonical: str, molar_mass: float | None, valence: int | None
) -> _Affine | None:
    """Ask Pint once for the affine map from ``unit`` to ``canonical``; None if none exists."""
    src, dst = parse_unit(unit), parse_unit(canonical)
    if not _same_kind(src, dst):
        return None
    points = _convert_points(src, dst, molar_mass, valence)
    if points is None:
        return None
    y0, y1, y100 = points
    scale, offset = y1 - y0, y0
    if scale == 0 or not math.isclose(y100, offset + 100 * scale, rel_tol=1e-9, abs_tol=1e-12):
        return None  # a zero or non-affine map means a context parameter was missing
    record = _record(unit, canonical, src, dst, scale, offset, molar_mass, valence)
    return _Affine(scale, offset, record)


def _convert_points(
    src: pint.Unit, dst: pint.Unit, molar_mass: float | None, valence: int | None
) -> tuple[float, float, float] | None:
    """Convert 0, 1 and 100 with the contexts the analyte allows; None when Pint cannot."""
    import pint

    ureg = registry()
    names, params = _contexts(molar_mass, valence)
    try:
        with ureg.context(*names, **params):
            values = tuple(
                float(ureg.Quantity(x, src).to(dst).magnitude) for x in (0.0, 1.0, 100.0)
            )
    except (pint.errors.PintError, ZeroDivisionError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in values):
        return None
    return values  # type: ignore[return-value]


def _contexts(molar_mass: float | None, valence: int | None) -> tuple[list[str], dict[str, object]]:
    """Pint contexts to enable: enzyme activity always, the others only with their parameter."""
    names: list[str] = ["activity"]
    params: dict[str, object] = {}
    if molar_mass is not None:
        names += ["chemistry", "molar_ratio"]
        params["mw"] = registry().Quantity(molar_mass, "g/mol")
    if valence is not None:
        names.append("ionic")
        params["valence"] = valence
    return names, params


@cache
def _percent() -> pint.Unit:
    return registry().parse_units("percent")


def _same_kind(src: pint.Unit, dst: pint.Unit) -> bool:
    """Refuse conversions Pint would allow between dimensionless units of different kinds.

    A percentage is a share, a count is a count, mmol/mol is a molar ratio and mg/g a mass
    ratio: to Pint they are all dimensionless and inter-convertible, to a clinician not.
    """
    percent = _percent()
    if (src == percent) != (dst == percent):
        return False
    if src.dimensionless and dst.dimensionless:
        return _factor_dimensions(src) == _factor_dimensions(dst)
    return True


def _factor_dimensions(unit: pint.Unit) -> frozenset[str]:
    """Base dimensions named by the unit's factors before they cancel (mg/g -> {[mass]})."""
    ureg = registry()
    names = unit._units.keys()  # Pint has no public accessor
    return frozenset(dim for name in names for dim in ureg.get_dimensionality(name).keys())


def _record(
    unit: str,
    canonical: str,
    src: pint.Unit,
    dst: pint.Unit,
    scale: float,
    offset: float,
    molar_mass: float | None,
    valence: int | None,
) -> str:
    """Human-readable conversion, e.g. "mg/dL -> umol/L via molar mass 113.12 g/mol: x 88.402"."""
    via = _bridges(src, dst, molar_mass, valence)
    head = f"{unit} -> {canonical}" + (f" via {' and '.join(via)}" if via else "")
    if scale == 1 and offset == 0:
        return f"{head}: identity"
    if offset == 0:
        return f"{head}: x {_format_factor(scale)}"
    sign = "+" if offset > 0 else "-"
    return f"{head}: x {_format_factor(scale)} {sign} {_format_factor(abs(offset))}"


def _bridges(
    src: pint.Unit, dst: pint.Unit, molar_mass: float | None, valence: int | None
) -> list[str]:
    """Which analyte property a conversion crossed dimensions with (for the record)."""
    a, b = src.dimensionality, dst.dimensionality
    changed = {dim for dim in set(a) | set(b) if a.get(dim, 0) != b.get(dim, 0)}
    via: list[str] = []
    if "[charge_equivalent]" in changed and valence is not None:
        via.append(f"valence {valence}")
    if "[mass]" in changed and molar_mass is not None:
        via.append(f"molar mass {molar_mass:g} g/mol")
    if "[international_unit]" in changed:
        via.append("enzyme activity (1 IU = 1 U)")
    return via


def _format_factor(factor: float) -> str:
    return f"{factor:.5g}"


def _round(value: float) -> float:
    """Drop binary float noise (75000 x 0.001 = 75.00000000000001) without losing precision."""
    return float(f"{value:.{_SIGNIFICANT_DIGITS}g}")
