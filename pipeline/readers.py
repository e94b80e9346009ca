"""Reading criteria from what users have: raw text, bytes, files, ClinicalTrials.gov API v2
study JSON (one study, a list, or ``{"studies": [...]}``), JSONL and folders.

Every check here raises a typed error from ``errors`` with a one-line message, so a batch can
record which record failed and why and go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
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
            f"input has {len(text):,} characters; the limit is {max_chars:,}"
            " (is this criteria text?)"
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


PAGE_FIELDS = ("minimumAge", "maximumAge", "sex", "healthyVolunteers")


def page_fields(text: str, criteria: Sequence[tuple[int, int]] = ()) -> dict[str, Any]:
    """The eligibility fields a registry page shows beside its criteria, from text pasted
    from it ("Minimum Age: 18 Years", "Ages Eligible for Study: | 18 Years and older |",
    "Sexes Eligible for Study: All", "Accepts Healthy Volunteers: No"), as API v2 gives them
    (``{"minimumAge": "18 Years", "sex": "ALL", "healthyVolunteers": False}``). Only the
    text outside the ``criteria`` spans (start, end) is read: words inside a criterion are
    its own. The first match of a field wins. The patterns are
    ``patterns/registry_fields.json``."""
    found: dict[str, Any] = {}
    # only the text between the criteria is read (most of a page is criteria)
    gaps, pos = [], 0
    for start, end in sorted(criteria):
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    gaps.append((pos, len(text)))
    for pattern in load_page_field_patterns():
        for gap_start, gap_end in gaps:
            for m in pattern.finditer(text, gap_start, gap_end):
                for key, value in m.groupdict().items():
                    if value is not None and key not in found:
                        found[key] = _field_value(key, value)
    return found


def _field_value(key: str, value: str) -> Any:
    """A field as API v2 writes it: "18 Years", "ALL", a boolean."""
    if key == "sex":
        return "ALL" if value.lower() in ("all", "both") else value.upper()
    if key == "healthyVolunteers":
        return value.lower() == "yes"
    return " ".join(value.split())


@cache
def load_page_field_patterns(path: Path | None = None) -> tuple[re.Pattern[str], ...]:
    """Read and check ``registry_fields.json`` (default: the shipped one): each pattern must
    compile and name only fields of ``PAGE_FIELDS``; errors name the file and the rule."""
    from .errors import PatternError
    from .rules import compile_regex, load_rule_file, patterns_path, require

    path = path or patterns_path("registry_fields.json")
    body = load_rule_file(path, "registry_fields")
    require(path, "registry_fields", body, ("patterns",))
    if not isinstance(body["patterns"], list):
        raise PatternError(f"{path}: rule 'registry_fields.patterns': expected a list")
    out = []
    for n, source in enumerate(body["patterns"]):
        pattern = compile_regex(path, f"registry_fields.patterns[{n}]", source)
        unknown = set(pattern.groupindex) - set(PAGE_FIELDS)
        if not pattern.groupindex or unknown:
            raise PatternError(
                f"{path}: rule 'registry_fields.patterns[{n}]': its named groups must be"
                f" fields of {PAGE_FIELDS}, got {sorted(pattern.groupindex)!r}"
            )
        out.append(pattern)
    return tuple(out)


def parse_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedJSONError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc


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


# --- bulk downloads: zipped API v2 studies and AACT flat files -------------------------------

ZIP_MEMBER_SUFFIXES = (".json", ".jsonl", ".txt", ".md")
AACT_FILE_NAME = "eligibilities.txt"
_AACT_NA = {"", "n/a", "na", "none"}


def read_zip(path: Path) -> Iterator[Record | InputError]:
    """Records of a ``.zip`` such as ClinicalTrials.gov's bulk download (one API v2 study JSON
    per member). Members are read one at a time, in name order, so memory stays that of the
    largest member whatever the archive's size; a bad member is yielded as its error."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield InputError(f"{path}: not a readable zip archive: {exc}")
        return
    with archive:
        members = sorted(
            (m for m in archive.infolist() if not m.is_dir()), key=lambda m: m.filename
        )
        for member in members:
            if member.filename.lower().endswith(ZIP_MEMBER_SUFFIXES):
                yield from _zip_member_records(archive, member, f"{path}!{member.filename}")


def _zip_member_records(archive: Any, member: Any, source: str) -> Iterator[Record | InputError]:
    try:
        text = decode(archive.read(member))
    except InputError as exc:
        yield tag_error(type(exc)(f"{source}: {exc}"), source)
        return
    except Exception as exc:  # a corrupt member (CRC, compression) must not end the batch
        yield tag_error(InputError(f"{source}: cannot read member: {exc}"), source)
        return
    name = member.filename.lower()
    if name.endswith(".jsonl"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield from json_line_records(line, f"{source}:{number}")
        return
    if name.endswith(".json") or looks_like_json(text):
        try:
            yield from records_from_json(parse_json_text(text), source)
        except InputError as exc:
            yield tag_error(type(exc)(f"{source}: {exc}"), source)
        return
    stem = Path(member.filename).stem
    yield Record(stem, text, source=source)


def json_line_records(line: str, source: str) -> Iterator[Record | InputError]:
    try:
        yield from records_from_json(parse_json_text(line), source)
    except InputError as exc:
        yield tag_error(type(exc)(f"{source}: {exc}"), source)


def tag_error(exc: InputError, record_id: str) -> InputError:
    """Name the failing record on the error, so a batch's errors file can point at it."""
    exc.record_id = record_id  # type: ignore[attr-defined]
    return exc


def is_aact_file(path: Path) -> bool:
    """AACT's ``eligibilities.txt`` (by name, or a ``.txt`` whose header names ``nct_id`` and
    ``criteria`` between pipes): such a file is a table of trials, not one trial's text."""
    if path.name.lower() == AACT_FILE_NAME:
        return True
    if path.suffix.lower() != ".txt":
        return False
    try:
        with path.open("rb") as fh:
            header = fh.readline(4096).decode("utf-8-sig", errors="replace").lower()
    except OSError:
        return False
    columns = [c.strip() for c in header.split("|")]
    return "nct_id" in columns and "criteria" in columns


def read_aact(path: Path) -> Iterator[Record | InputError]:
    """Records of AACT's pipe-delimited ``eligibilities.txt`` (columns include ``nct_id`` and
    ``criteria``; quoted fields may span lines), streamed row by row with the csv module.

    Bytes are decoded with ``surrogateescape`` so one row with invalid UTF-8 becomes that row's
    ``EncodingError`` instead of ending the file. The age, gender and healthy-volunteer columns
    become the same structured fields as an API v2 study's.
    """
    import csv
    import io

    csv.field_size_limit(max(csv.field_size_limit(), MAX_CHARS + 1))
    try:
        raw = path.open("rb")
    except OSError as exc:
        yield InputError(f"{path}: cannot read: {exc.strerror}")
        return
    with io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="|")
        if not reader.fieldnames or not {"nct_id", "criteria"} <= set(reader.fieldnames):
            yield InputError(f"{path}: not an AACT eligibilities file (needs nct_id and criteria)")
            return
        for row in reader:
            yield _aact_record(row, path, reader.line_num)


def _aact_record(row: dict[str, Any], path: Path, line: int) -> Record | InputError:
    nct_id = (row.get("nct_id") or "").strip() or None
    source = f"{path}:{line}"
    if any(isinstance(v, str) and _has_surrogates(v) for v in row.values()):
        return tag_error(EncodingError(f"{source}: row is not valid UTF-8"), nct_id or source)
    text = row.get("criteria")
    if not isinstance(text, str):
        return tag_error(MalformedJSONError(f"{source}: row has no criteria column"), source)
    return Record(nct_id, text, _aact_structured(row), source=source)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _aact_structured(row: dict[str, Any]) -> dict[str, Any]:
    """AACT columns -> API v2 ``eligibilityModule`` names, skipping AACT's "N/A" blanks."""
    out: dict[str, Any] = {}
    for column, key in (("minimum_age", "minimumAge"), ("maximum_age", "maximumAge")):
        value = (row.get(column) or "").strip()
        if value.casefold() not in _AACT_NA:
            out[key] = value
    gender = (row.get("gender") or "").strip()
    if gender.casefold() not in _AACT_NA:
        out["sex"] = gender.upper()
    healthy = (row.get("healthy_volunteers") or "").strip().casefold()
    if healthy not in _AACT_NA:
        out["healthyVolunteers"] = healthy.startswith(("accepts", "yes", "true", "t"))
    return out
