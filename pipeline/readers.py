"""Reading criteria from what users have: raw text, bytes, files, ClinicalTrials.gov API v2
study JSON (one study, a list, or ``{"studies": [...]}``), JSONL and folders.

Every check here raises a typed error from ``errors`` with a one-line message, so a batch can
record which record failed and why and go on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import (
    BinaryInputError,
    EmptyInputError,
    EncodingError,
    InputError,
    InputTooLargeError,
    MalformedJSONError,
)

MAX_CHARS = 2_000_000  # the longest real criteria page is ~100 kB; 2 M chars is no trial text
_CONTROL_OK = {"\n", "\r", "\t", "\f", "\v"}


@dataclass(slots=True)
class Record:
    """One trial's criteria as read: its id, the text, and structured eligibility fields."""

    id: str | None
    text: str
    structured: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


def check_text(text: object, *, max_chars: int = MAX_CHARS) -> str:
    """Return ``text`` if it can be criteria text, else raise a typed ``InputError``."""
    if isinstance(text, bytes | bytearray):
        text = decode(bytes(text))
    if not isinstance(text, str):
        raise InputError(f"expected text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise InputTooLargeError(
            f"input has {len(text):,} characters; the limit is {max_chars:,} (is this criteria text?)"
        )
    if not text.strip():
        raise EmptyInputError("input is empty or only whitespace")
    if "\x00" in text:
        raise BinaryInputError("input contains NUL bytes: it looks like a binary file")
    sample = text[:20000]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in _CONTROL_OK)
    if control > 0.05 * len(sample):
        raise BinaryInputError("input is mostly control characters: it looks like a binary file")
    return text


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); anything else is an ``EncodingError`` naming the byte."""
    if b"\x00" in data[:8192]:
        raise BinaryInputError("input contains NUL bytes: it looks like a binary file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"input is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from exc


def study_record(study: Any) -> Record:
    """A ClinicalTrials.gov API v2 study -> ``Record`` (criteria text + structured fields)."""
    if not isinstance(study, dict):
        raise MalformedJSONError("a study must be a JSON object")
    protocol = study.get("protocolSection")
    if not isinstance(protocol, dict):
        raise MalformedJSONError("not a ClinicalTrials.gov API v2 study: no protocolSection")
    ident = protocol.get("identificationModule") or {}
    module = protocol.get("eligibilityModule")
    if not isinstance(module, dict):
        raise MalformedJSONError(f"study {ident.get('nctId')!r} has no eligibilityModule")
    text = module.get("eligibilityCriteria")
    if not isinstance(text, str):
        raise MalformedJSONError(f"study {ident.get('nctId')!r} has no eligibilityCriteria text")
    structured = {
        key: module[key]
        for key in ("minimumAge", "maximumAge", "sex", "healthyVolunteers", "stdAges")
        if key in module
    }
    return Record(ident.get("nctId"), text, structured)


def parse_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedJSONError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc


def records_from_json(data: Any, source: str | None = None) -> Iterator[Record | InputError]:
    """Records of a parsed JSON document: a study, a list of studies, ``{"studies": [...]}``,
    or ``{"id"/"trial_id", "text"}`` objects. A bad element is yielded as its error."""
    if isinstance(data, dict) and isinstance(data.get("studies"), list):
        data = data["studies"]
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items):
        try:
            yield _record_from_obj(item, source, n)
        except InputError as exc:
            exc.record_id = f"{source or 'input'}[{n}]"  # type: ignore[attr-defined]
            yield exc


def _record_from_obj(item: Any, source: str | None, n: int) -> Record:
    if isinstance(item, dict) and "protocolSection" in item:
        rec = study_record(item)
    elif isinstance(item, dict) and isinstance(item.get("text"), str):
        rec = Record(item.get("trial_id") or item.get("id") or item.get("doc_id"), item["text"])
    elif isinstance(item, dict) and isinstance(item.get("eligibility_criteria"), str):
        rec = Record(item.get("nct_id"), item["eligibility_criteria"])
    else:
        raise MalformedJSONError("JSON record has neither protocolSection nor a 'text' field")
    rec.source = source
    return rec


def looks_like_json(text: str) -> bool:
    head = text.lstrip()[:1]
    return head in ("{", "[")


def read_path(path: Path) -> Iterator[Record | InputError]:
    """Records of one file (``.txt``/``.md``: one trial; ``.json``: studies; ``.jsonl``: one
    per line) or of every such file under a folder, in sorted order."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if child.suffix.lower() in (".txt", ".md", ".json", ".jsonl"):
                yield from read_path(child)
        return
    try:
        data = path.read_bytes()
        text = decode(data)
    except OSError as exc:
        yield InputError(f"{path}: cannot read: {exc.strerror}")
        return
    except InputError as exc:
        yield type(exc)(f"{path}: {exc}")
        return
    if path.suffix.lower() == ".jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield from records_from_json(parse_json_text(line), f"{path}:{number}")
            except InputError as exc:
                yield type(exc)(f"{path}:{number}: {exc}")
        return
    if path.suffix.lower() == ".json" or looks_like_json(text):
        try:
            yield from records_from_json(parse_json_text(text), str(path))
        except InputError as exc:
            yield type(exc)(f"{path}: {exc}")
        return
    yield Record(path.stem, text, source=str(path))
