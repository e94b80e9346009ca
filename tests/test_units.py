"""Unit cleaning, parsing and conversion on units as eligibility criteria write them."""

from __future__ import annotations

import subprocess
import sys
import timeit
from pathlib import Path

import pytest

from pipeline.errors import PatternError, UnitError
from pipeline.schema import Normalized
from pipeline.units import (
    UNITS_FILE,
    build_registry,
    clean_unit,
    hba1c_scale,
    parse_unit,
    pint_to_ucum,
    registry,
    same_quantity,
    same_unit,
    to_canonical,
    ucum_to_pint,
)

CREATININE, BILIRUBIN, CALCIUM, GLUCOSE = 113.12, 584.66, 40.078, 180.16

# (value, unit as written, canonical UCUM, molar mass, valence, expected value)
CONVERSIONS = [
    # mass concentrations
    (0.5, "g/dL", "g/L", None, None, 5.0),
    (8, "g/dl", "g/L", None, None, 80.0),
    (10, "mg/dL", "mg/L", None, None, 100.0),
    (100, "mg/L", "mg/L", None, None, 100.0),
    # cell counts: per µL, thousands per µL, x 10^9/L in all its spellings
    (1000, "/µL", "10*9/L", None, None, 1.0),
    (1000, "/μL", "10*9/L", None, None, 1.0),
    (1000, "/uL", "10*9/L", None, None, 1.0),
    (1000, "/mcL", "10*9/L", None, None, 1.0),
    (50000, "/µL", "10*9/L", None, None, 50.0),
    (75000, "/µL", "10*9/L", None, None, 75.0),
    (1500, "cells/µL", "10*9/L", None, None, 1.5),
    (1500, "cells/mm3", "10*9/L", None, None, 1.5),
    (1500, "cells/mm³", "10*9/L", None, None, 1.5),
    (1500, "/mm3", "10*9/L", None, None, 1.5),
    (1500, "/cu mm", "10*9/L", None, None, 1.5),
    (100, "K/µL", "10*9/L", None, None, 100.0),
    (100, "k/ul", "10*9/L", None, None, 100.0),
    (100, "10^3/µL", "10*9/L", None, None, 100.0),
    (100, "x10³/µL", "10*9/L", None, None, 100.0),
    (1.5, "x109/L", "10*9/L", None, None, 1.5),
    (1.5, "x 10^9/L", "10*9/L", None, None, 1.5),
    (1.5, "× 10\\^9/L", "10*9/L", None, None, 1.5),
    (1.5, "10^9/L", "10*9/L", None, None, 1.5),
    (1.5, "10e9/L", "10*9/L", None, None, 1.5),
    (1.5, "10⁹/L", "10*9/L", None, None, 1.5),
    (1.5, "x10(9)/L", "10*9/L", None, None, 1.5),
    (1.5, "10*9/L", "10*9/L", None, None, 1.5),
    (1.5, "G/L", "10*9/L", None, None, 1.5),
    (200, "cells/mm3", "10*6/L", None, None, 200.0),
    # molar mass: mass <-> molar concentrations
    (2, "mg/dL", "umol/L", CREATININE, None, 176.8),
    (1.5, "mg/dL", "umol/L", BILIRUBIN, None, 25.65),
    (3, "mg/dL", "umol/L", BILIRUBIN, None, 51.31),
    (11, "mg/dL", "mmol/L", CALCIUM, None, 2.745),
    (126, "mg/dL", "mmol/L", GLUCOSE, None, 6.99),
    (176.8, "µmol/L", "umol/L", CREATININE, None, 176.8),
    (0.177, "mmol/L", "umol/L", CREATININE, None, 177.0),
    # valence: mEq/L -> mmol/L
    (135, "mEq/L", "mmol/L", 22.99, 1, 135.0),
    (5, "mEq/L", "mmol/L", CALCIUM, 2, 2.5),
    (5, "meq/l", "mmol/L", None, 2, 2.5),
    # GFR keeps its per-1.73 m² normalisation; 24-hour collections are per day
    (40, "mL/min/1.73 m²", "mL/min/{1.73_m2}", None, None, 40.0),
    (40, "mL/min/1.73m2", "mL/min/{1.73_m2}", None, None, 40.0),
    (40, "ml/min per 1.73 m2", "mL/min/{1.73_m2}", None, None, 40.0),
    (40, "mL/min/{1.73_m2}", "mL/min/{1.73_m2}", None, None, 40.0),
    (200, "mg/24 hours", "mg/(24.h)", None, None, 200.0),
    (500, "mg per 24 hour", "mg/(24.h)", None, None, 500.0),
    (0.5, "g/24h", "mg/(24.h)", None, None, 500.0),
    (200, "mg/day", "mg/(24.h)", None, None, 200.0),
    (10, "mg/day", "mg/d", None, None, 10.0),
    (10, "mg daily", "mg/d", None, None, 10.0),
    # ratios, time, vitals, body
    (35, "%", "%", None, None, 35.0),
    (500, "mg/g", "mg/g", None, None, 500.0),
    (30, "mg/mmol", "mg/g", CREATININE, None, 265.2),
    (18, "years", "a", None, None, 18.0),
    (6, "months", "a", None, None, 0.5),
    (12, "weeks", "mo", None, None, 2.76),
    (3, "months", "mo", None, None, 3.0),
    (140, "mmHg", "mm[Hg]", None, None, 140.0),
    (90, "mm Hg", "mm[Hg]", None, None, 90.0),
    (100, "bpm", "/min", None, None, 100.0),
    (100, "beats per minute", "/min", None, None, 100.0),
    (38, "°C", "Cel", None, None, 38.0),
    (100.4, "°F", "Cel", None, None, 38.0),
    (30, "kg/m2", "kg/m2", None, None, 30.0),
    (30, "kg/m²", "kg/m2", None, None, 30.0),
    (2, "cm", "mm", None, None, 20.0),
    (470, "msec", "ms", None, None, 470.0),
    # international and enzyme units
    (40, "IU/L", "U/L", None, None, 40.0),
    (40, "U/L", "U/L", None, None, 40.0),
    (5, "µIU/mL", "m[iU]/L", None, None, 5.0),
    (5, "µU/mL", "m[iU]/L", None, None, 5.0),
    (2000, "IU/mL", "[iU]/mL", None, None, 2000.0),
    (200, "copies/mL", "{copies}/mL", None, None, 200.0),
]


@pytest.mark.parametrize(("value", "unit", "canonical", "mw", "valence", "expected"), CONVERSIONS)
def test_to_canonical_converts_real_criteria_units(
    value: float,
    unit: str,
    canonical: str,
    mw: float | None,
    valence: int | None,
    expected: float,
) -> None:
    result = to_canonical(value, unit, canonical, molar_mass=mw, valence=valence)
    assert isinstance(result, Normalized)
    assert result.unit == canonical
    assert result.value == pytest.approx(expected, abs=0.01, rel=1e-3)
    assert result.conversion and result.conversion.startswith(f"{unit.strip()} -> {canonical}")


@pytest.mark.parametrize(
    ("value", "unit", "canonical", "mw", "valence"),
    [
        (1, "g/dL", "%", None, None),  # a concentration is not a percentage
        (5, "cells", "%", None, None),  # nor is a count, though both are dimensionless
        (35, "%", "umol/L", BILIRUBIN, None),  # a share of total is not a concentration
        (48, "mmol/mol", "%", None, None),  # HbA1c scales need the IFCC-NGSP equation
        (50, "mg/g", "mmol/mol", None, None),  # mass ratio vs molar ratio
        (0.4, "L/L", "%", None, None),  # percent analytes only accept percentages
        (40, "mL/min/1.73 m²", "mL/min", None, None),  # eGFR is not creatinine clearance
        (40, "mL/min", "mL/min/{1.73_m2}", None, None),
        (200, "mg", "mg/(24.h)", None, None),  # an amount is not an excretion rate
        (2, "mg/dL", "umol/L", None, None),  # mass -> molar needs a molar mass
        (5, "mEq/L", "mmol/L", None, None),  # mEq -> mmol needs a valence
        (1, "mg", "umol/L", CREATININE, None),  # a mass is not a concentration
        (30, "mg/mmol", "mg/g", None, None),
        (5, "IU/mL", "ug/L", None, None),  # an IU is defined per substance
    ],
)
def test_to_canonical_refuses_to_guess(
    value: float, unit: str, canonical: str, mw: float | None, valence: int | None
) -> None:
    assert to_canonical(value, unit, canonical, molar_mass=mw, valence=valence) is None


def test_conversion_records_factor_and_bridge() -> None:
    hb = to_canonical(0.5, "g/dL", "g/L")
    creat = to_canonical(2, "mg/dL", "umol/L", molar_mass=CREATININE)
    ca = to_canonical(5, "mEq/L", "mmol/L", valence=2)
    same = to_canonical(35, "%", "%")
    assert hb is not None and hb.conversion == "g/dL -> g/L: x 10"
    assert creat is not None
    assert creat.conversion == "mg/dL -> umol/L via molar mass 113.12 g/mol: x 88.402"
    assert ca is not None and ca.conversion == "mEq/L -> mmol/L via valence 2: x 0.5"
    assert same is not None and same.conversion == "% -> %: identity"


def test_to_canonical_keeps_lists_and_rounds_float_noise() -> None:
    result = to_canonical([1000, 75000, 300], "cells/mm3", "10*9/L")
    assert result is not None
    assert result.value == [1.0, 75.0, 0.3]  # not 0.30000000000000004


@pytest.mark.parametrize("spelling", ["µmol/L", "μmol/L", "umol/L", "mcmol/L", "µmol/l"])
def test_micro_spellings_are_one_unit(spelling: str) -> None:
    assert parse_unit(spelling) == parse_unit("umol/L")
    assert same_quantity(spelling, "umol/L")


@pytest.mark.parametrize("spelling", ["µg/L", "μg/L", "ug/L", "mcg/L"])
def test_microgram_spellings_are_one_unit(spelling: str) -> None:
    assert parse_unit(spelling) == parse_unit("ug/L")


@pytest.mark.parametrize(
    ("text", "pint_form"),
    [
        ("mL/min/1.73 m²", "mL/min/ standard_body_surface"),
        ("mg/24 hours", "mg/ twenty_four_hours"),
        ("mg per 24 hour", "mg / twenty_four_hours"),
        ("× 10\\^9/L", "ten_to_9 /L"),
        ("x109/L", "ten_to_9 /L"),
        ("K/µL", "ten_to_3 /uL"),
        ("/µL", "1 / uL"),
        ("mm Hg", "mmHg"),
        ("cu mm", "mm^3"),
        ("kg/m²", "kg/m^2"),
        ("°C", "degC"),
    ],
)
def test_clean_unit_rewrites_spellings_pint_misreads(text: str, pint_form: str) -> None:
    assert clean_unit(text) == pint_form


def test_gfr_unit_is_not_ml_per_min_per_m2_times_1_73() -> None:
    """Pint alone reads "mL/min/1.73 m²" as (mL/min/1.73)·m²; ours is per 1.73 m² of body."""
    gfr = parse_unit("mL/min/1.73 m²")
    assert gfr == ucum_to_pint("mL/min/{1.73_m2}")
    assert gfr.dimensionality == parse_unit("mL/min/m2").dimensionality
    per_m2 = to_canonical(60, "mL/min/1.73 m²", "mL/min/m2")
    assert per_m2 is not None and per_m2.value == pytest.approx(60 / 1.73)
    naive = registry().Quantity("mL/min/1.73 m**2")  # the silent misreading we avoid
    assert naive.dimensionality != gfr.dimensionality


def test_24_hour_unit_is_a_rate_not_mg_times_hours() -> None:
    urine = parse_unit("mg/24 hours")
    assert urine == ucum_to_pint("mg/(24.h)")
    assert same_quantity("mg/24 hours", "mg/d")
    assert registry().Quantity("mg/24 h").dimensionality != urine.dimensionality


@pytest.mark.parametrize("bad", ["xyz", "x ULN", "log10 copies/mL", "", "   ", "mg/100 mL"])
def test_unknown_or_scaled_units_raise_unit_error(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_unit(bad)
    with pytest.raises(UnitError):
        to_canonical(1.0, bad, "g/L")


def test_unknown_canonical_unit_raises_unit_error() -> None:
    with pytest.raises(UnitError):
        to_canonical(1.0, "g/L", "{not_a_unit}")


@pytest.mark.parametrize(
    "code",
    [
        "10*9/L",
        "10*6/L",
        "mg/(24.h)",
        "mL/min/{1.73_m2}",
        "umol/L",
        "mmol/L",
        "a",
        "mo",
        "%",
        "mmol/mol",
        "[iU]/L",
        "m[iU]/L",
        "U/L",
        "mm[Hg]",
        "/min",
        "Cel",
        "kg/m2",
        "mg/g",
        "mg/d",
        "{copies}/mL",
    ],
)
def test_ucum_codes_round_trip_through_pint(code: str) -> None:
    assert pint_to_ucum(ucum_to_pint(code)) == code


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("g/dL", "g/L", True),
        ("/µL", "10*9/L", True),
        ("cells/mm3", "K/µL", True),
        ("mg/24 hours", "mg/(24.h)", True),
        ("g/dL", "%", False),
        ("mmol/mol", "%", False),
        ("mg/dL", "umol/L", False),
        ("mL/min", "mL/min/1.73 m²", False),
        ("not a unit", "g/L", False),
    ],
)
def test_same_quantity(a: str, b: str, same: bool) -> None:
    assert same_quantity(a, b) is same


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("/µL", "cells/mm3", True),
        ("/µL", "10*6/L", True),
        ("µmol/L", "umol/l", True),
        ("mg/24 hours", "mg/(24.h)", True),
        ("mL/min/1.73 m²", "mL/min/{1.73_m2}", True),
        ("x 10^9/L", "G/L", True),
        ("mg/dL", "g/dL", False),  # same quantity, different unit
        ("/µL", "10*9/L", False),
        ("°C", "K", False),  # an offset is not the same unit either
        ("mmol/mol", "%", False),
        ("not a unit", "not a unit", False),
    ],
)
def test_same_unit(a: str, b: str, same: bool) -> None:
    assert same_unit(a, b) is same


@pytest.mark.parametrize(
    ("value", "unit", "canonical", "expected"),
    [
        (48, "mmol/mol", "%", 6.5),
        (53, "mmol/mol", "%", 7.0),
        (6.5, "%", "mmol/mol", 47.5),
    ],
)
def test_hba1c_ifcc_ngsp_master_equation(
    value: float, unit: str, canonical: str, expected: float
) -> None:
    result = hba1c_scale(value, unit, canonical)
    assert result is not None and result.unit == canonical
    assert result.value == pytest.approx(expected, abs=0.05)
    assert "0.09148" in (result.conversion or "")


def test_hba1c_scale_ignores_other_units() -> None:
    assert hba1c_scale(7, "%", "%") is None
    assert hba1c_scale(7, "g/dL", "%") is None


def test_registry_is_built_once_and_shared() -> None:
    assert registry() is registry()
    assert parse_unit("g/L") is parse_unit("g/L")


def test_default_units_file_defines_project_units() -> None:
    ureg = registry()
    for name in ("cell", "ten_to_9", "standard_body_surface", "twenty_four_hours", "IU", "mEq"):
        assert name in ureg, name
    assert UNITS_FILE.name == "units.txt"


def test_malformed_units_file_raises_pattern_error(tmp_path: Path) -> None:
    bad = tmp_path / "units.txt"
    bad.write_text("cell = count\nbroken = [\n", encoding="utf-8")
    with pytest.raises(PatternError, match=str(bad)):
        build_registry(bad)


def test_warm_to_canonical_costs_microseconds() -> None:
    to_canonical(2, "mg/dL", "umol/L", molar_mass=CREATININE)  # warm the caches
    runs = 2000
    per_call = timeit.timeit(
        lambda: to_canonical(2, "mg/dL", "umol/L", molar_mass=CREATININE), number=runs
    )
    assert per_call / runs < 50e-6  # measured ~1.5 µs; generous bound for slow CI machines


def test_importing_loads_neither_pint_nor_spacy() -> None:
    """Plain-data modules: the registry and lexicon are built on first use, not on import."""
    code = (
        "import sys, pipeline.units, pipeline.analytes; "
        "print(sorted(m for m in ('pint', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "code, expected",
    [("a", True), ("wk", True), ("min", True), ("s", True), ("mg/dL", False), ("mL/min", False)],
)
def test_is_duration_by_dimensionality(code, expected):
    """Which analytes are durations comes from Pint, not from a list of unit codes."""
    from pipeline.units import is_duration

    assert is_duration(code) is expected
    assert not is_duration(None) and not is_duration("not a unit")
