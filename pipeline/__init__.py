"""eligibility-pipeline: clinical-trial eligibility criteria as structured, computable data.

The stable API::

    import pipeline
    trial = pipeline.parse(text, trial_id="NCT04270409")
    trial.to_dict()     # JSON-ready (schema: pipeline/schemas/trial.schema.json)
    trial.to_frame()    # pandas, one row per threshold

Heavy modules (spaCy, medspaCy, Pint) load on first use, not on import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import EligibilityError, InputError, PatternError, ScreeningError, UnitError
from .schema import SCHEMA_VERSION, Criterion, Entity, Normalized, Threshold, Trial

if TYPE_CHECKING:
    from .api import load, parse, parse_many, parse_study

__all__ = [
    "SCHEMA_VERSION",
    "Criterion",
    "EligibilityError",
    "Entity",
    "InputError",
    "Normalized",
    "PatternError",
    "ScreeningError",
    "Threshold",
    "Trial",
    "UnitError",
    "load",
    "parse",
    "parse_many",
    "parse_study",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy: `import pipeline` must not import spaCy (screening and units do not need it).
    if name in ("load", "parse", "parse_many", "parse_study"):
        from . import api

        return getattr(api, name)
    if name == "screen":
        from .screening import screen

        return screen
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
