"""A tiny run of the benchmark's parts (five texts): they run and count right. No timing is
asserted here: speed is measured by ``python -m evaluation.bench``, not by unit tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation import bench
from pipeline.batch import SerialBackend


@pytest.fixture(scope="module")
def texts() -> list[tuple[str, str]]:
    pairs, _ = bench.load_texts(limit=5)
    return pairs


def test_texts_are_limited_and_synthetic_ids_are_unique(texts, tmp_path: Path) -> None:
    assert len(texts) == 5 and all(text.strip() for _, text in texts)
    path = bench.write_synthetic(texts, 12, tmp_path / "s.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 12 and len({r["id"] for r in records}) == 12
    assert records[5]["text"] == texts[0][1]  # a replication of the same texts


def test_measurements_count_trials_and_criteria(texts, tmp_path: Path) -> None:
    tokenizer = bench.measure_tokenizer(texts, min_seconds=0)
    assert (tokenizer.trials, tokenizer.criteria) == (5, 0)
    assert tokenizer.chars == sum(len(t) for _, t in texts)
    full, failed = bench.measure_pipeline(texts)
    assert full.trials == 5 and failed == 0 and full.criteria > 5
    source = bench.write_synthetic(texts, 10, tmp_path / "s.jsonl")
    batch = bench.measure_batch(source, SerialBackend(), tmp_path)
    assert batch.trials == 10
    assert batch.criteria == 2 * full.criteria  # every text twice, same criteria
    lines = list(bench.format_rates([tokenizer, full, batch]))
    assert len(lines) == 4 and lines[2].startswith("pipeline, 1 core")


def test_main_prints_the_command_and_writes_figures(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    argv = ["--limit", "5", "--synthetic", "6", "--workers", "0", "--repeat", "1"]
    argv += ["--json", str(out)]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "$ python -m evaluation.bench --limit 5 --synthetic 6" in printed
    assert "pipeline / tokenizer-only throughput" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["tokenizer"]["trials"] == figures["pipeline"]["trials"] == 5
    assert figures["ratio"] > 0 and figures["batch"] == []
    assert figures["peak_rss_mb"]["self_mb"] > 0
