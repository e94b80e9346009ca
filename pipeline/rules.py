"""Loading and validating the rule files in ``patterns/``.

Each rule file is JSON with one named top-level key (medspaCy's convention), so a file can be
recognised and validated on its own. Errors name the file, the rule and the bad value, because
the people who edit these files are annotators, not the authors of the Python code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from .errors import PatternError

PATTERNS_DIR = Path(__file__).resolve().parent.parent / "patterns"


def patterns_path(name: str) -> Path:
    """Path of a file in the project's ``patterns/`` folder."""
    return PATTERNS_DIR / name


def load_rule_file(path: Path, key: str) -> dict[str, Any]:
    """Read ``path`` and return the object under its top-level ``key``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PatternError(f"{path}: rule file not found") from exc
    except json.JSONDecodeError as exc:
        raise PatternError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict) or key not in data:
        raise PatternError(f"{path}: expected a top-level key {key!r}")
    body = data[key]
    if not isinstance(body, dict | list):
        raise PatternError(f"{path}: {key!r} must be an object or a list")
    return body


def context_rule_list(path: Path) -> tuple[dict[str, Any], ...]:
    """The rules of a ConText rule file (``context_rules.json``), read once per file version:
    the fallback cue matchers and the statement pseudo-negations both read it at load (medspaCy
    reads it a third time, from its own loader). Callers must not change the rules."""
    stat = path.stat() if path.is_file() else None
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size) if stat else (path, 0, 0)
    return _context_rule_list(*key)


@cache
def _context_rule_list(path: Path, _mtime: int, _size: int) -> tuple[dict[str, Any], ...]:
    rules = load_rule_file(path, "context_rules")
    if not isinstance(rules, list):
        raise PatternError(f"{path}: 'context_rules' must be a list of rules")
    for rule in rules:
        # medspaCy 1.3.1 lets a terminator cut only a scope that overlaps the terminator's own
        # (``tuple_overlaps``), and that test misses a scope lying wholly inside: a
        # sentence-wide "but" never cut a 6-token "inability to" window. A terminator's own
        # scope of one token each side overlaps every scope it should cut.
        if rule.get("direction") == "TERMINATE" and rule.get("max_scope") != 1:
            raise PatternError(
                f"{path}: rule {rule.get('literal')!r}: a TERMINATE rule needs max_scope 1,"
                f" got {rule.get('max_scope')!r}"
            )
    return tuple(rules)


def compile_regex(path: Path, rule: str, pattern: Any) -> re.Pattern[str]:
    """Compile one case-insensitive pattern, naming the file and rule when it is bad."""
    if not isinstance(pattern, str) or not pattern:
        raise PatternError(
            f"{path}: rule {rule!r}: pattern must be a non-empty string, got {pattern!r}"
        )
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise PatternError(
            f"{path}: rule {rule!r}: bad regular expression {pattern!r}: {exc}"
        ) from exc


def compile_all(path: Path, rule: str, patterns: Any) -> tuple[re.Pattern[str], ...]:
    if not isinstance(patterns, list):
        raise PatternError(f"{path}: rule {rule!r}: expected a list of patterns, got {patterns!r}")
    return tuple(compile_regex(path, f"{rule}[{i}]", p) for i, p in enumerate(patterns))


def require(path: Path, rule: str, body: dict[str, Any], keys: Iterable[str]) -> None:
    missing = [k for k in keys if k not in body]
    if missing:
        raise PatternError(f"{path}: rule {rule!r}: missing key(s) {', '.join(missing)}")


def load_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Read a JSONL lexicon as (line number, object) pairs, skipping blanks and ``//`` lines."""
    out: list[tuple[int, dict[str, Any]]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise PatternError(f"{path}: lexicon file not found") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PatternError(f"{path}:{number}: invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise PatternError(f"{path}:{number}: expected an object, got {obj!r}")
        out.append((number, obj))
    return out


def tokenizer_infixes(path: Path) -> tuple[str, ...]:
    """The infix patterns of ``tokenizer.json``, each checked to compile."""
    body = load_rule_file(path, "tokenizer")
    require(path, "tokenizer", body, ("infixes",))
    if not isinstance(body["infixes"], list):
        raise PatternError(f"{path}: rule 'tokenizer.infixes': expected a list of patterns")
    for pattern in body["infixes"]:
        compile_regex(path, "tokenizer.infixes", pattern)
    return tuple(body["infixes"])


@cache
def rule_file_keys() -> dict[str, str]:
    """Every JSON rule file in ``patterns/`` and the top-level key it must carry."""
    return {
        "sections.json": "sections",
        "structure.json": "structure",
        "comparators.json": "comparators",
        "context_rules.json": "context_rules",
        "targets.json": "targets",
        "plurals.json": "plurals",
        "temporal.json": "temporal",
        "modifiers.json": "modifiers",
        "screening.json": "screening",
        "drug_vocabulary.json": "drug_vocabulary",
        "tokenizer.json": "tokenizer",
        "registry_fields.json": "registry_fields",
    }
