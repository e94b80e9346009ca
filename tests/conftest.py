"""Shared fixtures: the seed corpus, its gold, and the external LCT set (skipped if absent)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEEDS = sorted((CORPUS / "seeds").glob("*.txt"))
GOLD = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (CORPUS / "gold").glob("*.json")}


def lct_file() -> Path | None:
    env = os.environ.get("LCT_PATH")
    path = Path(env) if env else ROOT.parent / "shared" / "lct" / "dev.jsonl"
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in SEEDS}


@pytest.fixture(scope="session")
def gold() -> dict[str, dict]:
    return GOLD


@pytest.fixture(scope="session")
def lct_records() -> list[dict]:
    path = lct_file()
    if path is None:
        pytest.skip("../shared/lct/dev.jsonl is absent")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture
def edited_rule_file(tmp_path: Path):
    """``edit(name, change)``: a copy of ``patterns/<name>`` in ``tmp_path`` after
    ``change(body)`` on the object under its top-level key; returns the copy's path (for
    tests that a broken rule file is refused with an error naming file, rule and value)."""

    def edit(name: str, change) -> Path:
        data = json.loads((ROOT / "patterns" / name).read_text(encoding="utf-8"))
        (key,) = data
        change(data[key])
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return edit
