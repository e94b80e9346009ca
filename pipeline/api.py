"""The library API: ``load``, ``parse``, ``parse_many``, ``parse_study``.

``load()`` assembles the pipeline from ``models/pipeline.cfg`` once, lazily, and reuses it;
``load(config)`` builds one from another config, and each entry point takes it as ``nlp``.
Each entry point checks its input first (``readers.check_text``) and raises a typed error from
``errors`` for anything that is not criteria text.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from spacy.language import Language

from .assemble import structured_criteria, trial_from_doc
from .components import StatementSplitter
from .readers import check_text, page_fields, parse_json_text, study_record
from .schema import Trial
from .segment import StructureRules
from .text import clean

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_CONFIG = MODELS_DIR / "pipeline.cfg"

_lock = threading.Lock()
_nlp: Language | None = None


def load(config: str | Path | None = None) -> Language:
    """The configured spaCy pipeline (built once per process for the default config)."""
    global _nlp
    if config is not None:
        return _build(Path(config))
    if _nlp is None:
        with _lock:
            if _nlp is None:
                _nlp = _build(DEFAULT_CONFIG)
                # The default pipeline lives as long as the process and is millions of
                # objects (lexicons, matchers, the drug vocabulary); Python's cyclic collector
                # walked all of them on every full collection, which parsing triggers often
                # (a third of the time of ``Trial.to_dict``). The permanent generation keeps
                # them out of later collections. A pipeline from another config is left
                # collectable: a caller may drop it.
                gc.collect()
                gc.freeze()
    return _nlp


def _build(path: Path) -> Language:
    from spacy.lang.en import English
    from spacy.util import load_config

    from . import factories  # noqa: F401  (registers the factories)

    return English.from_config(load_config(path))


def _doc_input(nlp: Language, raw: str):  # noqa: ANN202
    doc = nlp.make_doc(clean(raw))
    doc._.raw_text = raw
    return doc


def _structure(nlp: Language) -> StructureRules | None:
    """The structure rules of ``nlp``'s statement splitter (None: it has none)."""
    return next(
        (pipe.structure for _, pipe in nlp.pipeline if isinstance(pipe, StatementSplitter)), None
    )


def parse(text: str, *, trial_id: str | None = None, nlp: Language | None = None) -> Trial:
    """Structure one trial's criteria text (offsets index ``text`` itself), with the default
    pipeline or ``nlp`` (a pipeline from ``load(config)``). Eligibility fields a registry
    page shows beside the criteria ("Minimum Age: 18 Years", "Sexes Eligible for Study:
    All") become structured criteria, as ``parse_study`` makes them from API v2 JSON."""
    return parse_with_fields(text, trial_id, {}, nlp=nlp)


def _with_fields(trial: Trial, fields: dict[str, Any]) -> Trial:
    """``trial`` plus the structured criteria of ``fields`` and of the page's own fields
    (``fields`` win: they come from the registry's data)."""
    spans = [(c.start, c.end) for c in trial.criteria if c.start is not None and c.end is not None]
    found = {**page_fields(trial.source_text, spans), **fields}
    trial.criteria.extend(structured_criteria(found, len(trial.criteria)))
    return trial


def parse_many(
    texts: Iterable[str],
    *,
    trial_ids: Iterable[str | None] | None = None,
    batch_size: int = 32,
    nlp: Language | None = None,
) -> Iterator[Trial]:
    """``parse`` over many texts through ``nlp.pipe`` (one process; see ``pipeline.batch``
    for worker processes). Raises on the first text that is not criteria text."""
    nlp = nlp or load()
    structure = _structure(nlp)
    ids = iter(trial_ids) if trial_ids is not None else None

    def docs() -> Iterator[Any]:
        for text in texts:
            raw = check_text(text)
            trial_id = next(ids) if ids is not None else None
            doc = _doc_input(nlp, raw)
            doc.user_data["trial_id"] = trial_id
            yield doc

    for doc in nlp.pipe(docs(), batch_size=batch_size):
        trial = trial_from_doc(doc, doc._.raw_text, doc.user_data.get("trial_id"), structure)
        yield _with_fields(trial, {})


def parse_study(study: dict[str, Any] | str, *, nlp: Language | None = None) -> Trial:
    """Structure a ClinicalTrials.gov API v2 study (a dict or its JSON text): the criteria
    text, plus minimumAge/maximumAge/sex/healthyVolunteers as structured criteria (whose
    ``start``/``end`` are null and ``origin`` names the field)."""
    data = parse_json_text(study) if isinstance(study, str) else study
    record = study_record(data)
    return parse_with_fields(record.text, record.id, record.structured, nlp=nlp)


def parse_with_fields(
    text: str, trial_id: str | None, fields: dict[str, Any], *, nlp: Language | None = None
) -> Trial:
    """``parse`` plus the structured eligibility fields a registry gives beside the text."""
    raw = check_text(text)
    nlp = nlp or load()
    doc = nlp(_doc_input(nlp, raw))
    return _with_fields(trial_from_doc(doc, raw, trial_id, _structure(nlp)), fields)
