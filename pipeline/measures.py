"""From extracted comparisons to schema objects: thresholds with normalised values, and
temporal windows as ISO 8601 durations.

Kept apart from the spaCy component so the mapping can be tested on plain strings.
"""

from __future__ import annotations

from typing import Any

from .analytes import AnalyteLexicon, normalize
from .schema import Normalized, Threshold
from .thresholds import Comparison, Found


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _per_24h(canonical: str | None, unit: str, comp: Comparison) -> bool:
    """A bare amount for a daily-excretion analyte, in a statement naming a 24-hour sample
    (``Comparison.daily_sample``, read with the ``daily_sample`` rule of comparators.json)."""
    return bool(
        canonical and canonical.endswith("/(24.h)") and "/" not in unit and comp.daily_sample
    )


def build_threshold(
    found: Found, base: int, lexicon: AnalyteLexicon, raw: str, statement: str | None = None
) -> Threshold:
    """A schema ``Threshold`` with offsets into the whole text (``base`` + relative)."""
    comp = found.comparison
    mention = found.analyte
    analyte = lexicon.get(mention.name) or lexicon.lookup(mention.text)
    name = analyte.name if analyte else mention.name
    unit_raw = (
        raw[base + comp.unit_span[0] : base + comp.unit_span[1]] + (comp.unit_suffix or "")
        if comp.unit_span
        else comp.unit
    )
    normalized: Normalized | None = None
    warnings: list[str] = []
    if analyte is not None and comp.unit and not isinstance(comp.value, list):
        if comp.relative_mode in (None, "above", "below"):
            normalized = normalize(analyte, float(comp.value), comp.unit)
            if normalized is None and _per_24h(analyte.unit, comp.unit, comp):
                # "≥ 200 mg of monoclonal protein in the urine on 24 hour electrophoresis"
                normalized = normalize(analyte, float(comp.value), f"{comp.unit}/24 h")
                if normalized is not None:
                    normalized.conversion = (
                        f"amount in a 24-hour collection; {normalized.conversion}"
                    )
            if normalized is None:
                warnings.append(f"cannot convert {comp.unit!r} to {analyte.unit!r} for {name}")
    if comp.stated:
        warnings.append("no comparator in the text: the value is stated, not bounded")
    equivalent = None
    if comp.equivalent and "range_upper" not in comp.equivalent:
        equivalent = dict(comp.equivalent)
        span = equivalent.pop("unit_span", None)
        if span:
            equivalent["unit"] = raw[base + span[0] : base + span[1]]
        if analyte is not None and comp.equivalent.get("unit") and normalized is not None:
            other = normalize(analyte, float(equivalent["value"]), comp.equivalent["unit"])
            agrees = other is not None and _close(other.value, normalized.value)
            equivalent["agrees"] = agrees
            if not agrees:
                warnings.append(
                    f"parenthesised equivalent {equivalent['value']} {equivalent['unit']} "
                    f"disagrees with {comp.value} {comp.unit}"
                )
    value = (
        [_number(v) for v in comp.value] if isinstance(comp.value, list) else _number(comp.value)
    )
    return Threshold(
        analyte=name,
        analyte_text=raw[base + mention.start : base + mention.end],
        analyte_span={"start": base + mention.start, "end": base + mention.end},
        comparator=comp.comparator,
        value=value,
        unit=unit_raw,
        relative_to=comp.relative_to,
        normalized=normalized,
        start=base + found.start,
        end=base + found.end,
        relative_mode=comp.relative_mode,
        condition=comp.condition,
        equivalent=equivalent,
        loinc=analyte.loinc if analyte else None,
        warnings=warnings,
    )


def _close(a: Any, b: Any) -> bool:
    try:
        return abs(float(a) - float(b)) <= 0.02 * max(abs(float(a)), abs(float(b)), 1e-9)
    except (TypeError, ValueError):
        return False


def build_temporal(
    comp: Comparison, base: int, raw: str, statement: str | None = None
) -> dict[str, Any]:
    """A temporal window: ISO 8601 duration, direction, anchor and relation read by
    ``temporal.describe`` in the (cleaned) ``statement`` text, with offsets into ``raw``."""
    from .temporal import describe, shifted

    value = comp.value if not isinstance(comp.value, list) else comp.value[0]
    text = statement if statement is not None else raw[base:]
    window = describe(text, comp.start, comp.end, float(value), comp.unit or "", comp.comparator)
    span = {"text": raw[base + comp.start : base + comp.end], "start": comp.start, "end": comp.end}
    return shifted({**span, **window}, base)


def restated_temporal(
    comp: Comparison, base: int, raw: str, statement: str | None = None
) -> list[dict[str, Any]]:
    """ "6 months (180 days)": the parenthesised restatement of a window, as its own item."""
    eq = comp.equivalent or {}
    if eq.get("value") is None or not eq.get("unit") or not eq.get("unit_span"):
        return []
    start, end = eq["unit_span"]
    twin = Comparison(
        comp.comparator, eq["value"], eq["unit"], comp.value_start, end, temporal=True
    )
    item = build_temporal(twin, base, raw, statement)
    item["restates"] = raw[base + comp.start : base + comp.end]
    return [item]
