"""The `eligibility` command line on real files and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "seeds" / "001_2342a196f04e89cb.txt"


def test_parse_json(capsys):
    assert main(["parse", str(SEED)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trial_id"] == "001_2342a196f04e89cb"
    assert len(data["criteria"]) == 32


def test_parse_csv(capsys):
    assert main(["parse", str(SEED), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("trial_id,criterion_id,section,criterion_text,analyte")
    assert any("absolute neutrophil count" in line for line in lines[1:])


def test_parse_api_v2_json(capsys):
    assert main(["parse", str(ROOT / "tests" / "data" / "NCT04270409.json")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["trial_id"] == "NCT04270409"
    assert any(c["origin"] == "minimumAge" for c in data["criteria"])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"Inclusion \xff\xfe criteria", "UTF-8"),
        (b'{"protocolSection": ', "invalid JSON"),
        (b'{"foo": 1}', "protocolSection"),
    ],
)
def test_bad_input_gives_one_line_error_and_nonzero_exit(tmp_path, capsys, content, message):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    assert main(["parse", str(path)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err
    assert "\n" not in err  # one line, no traceback


def test_missing_file(capsys):
    assert main(["parse", "/nonexistent/file.txt"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_huge_input_is_refused(tmp_path, capsys):
    path = tmp_path / "huge.txt"
    path.write_text("Inclusion Criteria:\n" + "* Age ≥ 18 years\n" * 700_000, encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    assert main(["parse", str(path)]) == 2
    assert "limit" in capsys.readouterr().err


def test_batch_isolates_bad_records(tmp_path):
    good = tmp_path / "in"
    good.mkdir()
    (good / "a.txt").write_text("Inclusion Criteria:\n* Age ≥ 18 years\n", encoding="utf-8")
    (good / "b.txt").write_bytes(b"")
    (good / "c.json").write_text("{broken", encoding="utf-8")
    (good / "d.txt").write_text("Exclusion Criteria:\n* Pregnancy\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    errors = tmp_path / "errors.jsonl"
    code = main(["batch", str(good), "-o", str(out), "--errors", str(errors), "--no-progress"])
    assert code == 1  # some records failed
    ids = [json.loads(line)["trial_id"] for line in out.read_text().splitlines()]
    assert ids == ["a", "d"]
    failures = [json.loads(line) for line in errors.read_text().splitlines()]
    assert len(failures) == 2
    assert all(f["error"] for f in failures)


def test_evaluate_plugin_command(tmp_path, capsys):
    out = tmp_path / "pred.jsonl"
    seeds = ROOT / "corpus" / "seeds"
    assert main(["batch", str(seeds), "-o", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--gold", str(ROOT / "corpus" / "gold"), "--pred", str(out)]) == 0
    table = capsys.readouterr().out
    assert "statements exact" in table and "thresholds" in table


def test_console_script_runs_as_a_process():
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "parse", "-"],
        input="Inclusion Criteria:\n* Hemoglobin ≥ 9 g/dL\n".encode(),
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    (t,) = data["criteria"][0]["thresholds"]
    assert t["normalized"] == {"value": 90.0, "unit": "g/L", "conversion": "g/dL -> g/L: x 10"}
