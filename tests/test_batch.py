"""Batch runs: bad records isolated, resume without duplicates, Parquet, bulk-download readers,
worker processes and Dask giving the same output as one process, and a bounded window."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from pipeline.batch import (
    Outcome,
    SerialBackend,
    Summary,
    _Done,
    make_backend,
    ordered_results,
    run,
)
from pipeline.cli import main as cli_main
from pipeline.readers import Record, read_aact, read_zip

N_GOOD = 290


def criteria_text(i: int) -> str:
    return (
        "Inclusion Criteria:\n"
        f"* Age >= {18 + i % 50} years\n"
        f"* ANC >= {1000 + 10 * i}/uL\n"
        f"* Platelets >= {50 + i % 100} x 10^9/L\n"
        "Exclusion Criteria:\n"
        f"* No prior therapy with drug {i}\n"
    )


BAD_LINES: dict[str, bytes] = {
    "bad-empty": b'{"id": "bad-empty", "text": "   "}',
    "bad-binary": b'{"id": "bad-binary", "text": "\\u0000\\u0001\\u0002PNG"}',
    "bad-json": b'{"id": "bad-json", "text": "Inclusion Criteria:',
    "bad-utf8": b'{"id": "bad-utf8", "text": "caf\xe9 au lait"}',
    "bad-shape": b'{"id": "bad-shape", "criteria": 3}',
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """300 records: 290 good trials with the bad lines spread among them, plus a folder with
    a binary and a non-UTF-8 file."""
    root = tmp_path_factory.mktemp("inputs")
    lines: list[bytes] = []
    bad_at = {37 * (k + 1): key for k, key in enumerate(BAD_LINES)}
    good_ids = []
    for i in range(N_GOOD):
        if i in bad_at:
            lines.append(BAD_LINES[bad_at[i]])
        good_ids.append(f"NCT{i:08d}")
        lines.append(json.dumps({"id": good_ids[-1], "text": criteria_text(i)}).encode())
    jsonl = root / "trials.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    folder = root / "folder"
    folder.mkdir()
    (folder / "good.txt").write_text(criteria_text(999), encoding="utf-8")
    (folder / "blob.txt").write_bytes(b"\x89PNG\x00\x00\x00\rIHDR" * 20)
    (folder / "latin1.txt").write_bytes(
        "Inclusion Criteria:\n* Âge ≥ 18".encode("latin-1", "replace")
    )
    return {"jsonl": jsonl, "folder": folder, "good_ids": good_ids, "bad_lines": bad_at}


@pytest.fixture(scope="module")
def reference(inputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One serial run over everything: the output every other run must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "out.jsonl"
    summary = run([inputs["jsonl"], inputs["folder"]], out, progress=False)
    return {"out": out, "summary": summary, "lines": out.read_text("utf-8").splitlines()}


def _ids(lines: list[str]) -> list[str]:
    return [json.loads(line)["trial_id"] for line in lines]


def _errors(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_bad_records_are_named_in_errors_file_and_good_ones_all_written(inputs, reference):
    out = reference["out"]
    ids = _ids(reference["lines"])
    assert ids == inputs["good_ids"] + ["good"]  # input order, every good record
    errors = _errors(out.with_name("out.errors.jsonl"))
    by_id = {e["id"]: e for e in errors}
    assert by_id["bad-empty"]["error_type"] == "EmptyInputError"  # a parsed line has its id
    assert by_id["bad-binary"]["error_type"] == "BinaryInputError"
    jsonl = str(inputs["jsonl"])
    for key, kind in (("bad-json", "MalformedJSONError"), ("bad-utf8", "EncodingError")):
        where = f"{jsonl}:{_line(inputs, key)}"  # unparseable lines are named by file:line
        assert by_id[where]["error_type"] == kind
        assert by_id[where]["error"].startswith(where)
    assert by_id[f"{jsonl}:{_line(inputs, 'bad-shape')}[0]"]["error_type"] == "MalformedJSONError"
    folder = inputs["folder"]
    assert by_id[str(folder / "blob.txt")]["error_type"] == "BinaryInputError"
    assert by_id[str(folder / "latin1.txt")]["error_type"] == "EncodingError"
    assert len(errors) == len(BAD_LINES) + 2
    summary: Summary = reference["summary"]
    assert (summary.ok, summary.failed, summary.exit_code) == (N_GOOD + 1, len(errors), 1)


def _line(inputs: dict[str, Any], key: str) -> int:
    """1-based line of a bad record: each bad line sits just before good record ``i``."""
    i = next(i for i, k in inputs["bad_lines"].items() if k == key)
    before = sum(1 for j in inputs["bad_lines"] if j < i)
    return i + before + 1


def test_resume_after_a_killed_run_has_no_duplicates(inputs, reference, tmp_path):
    out = tmp_path / "out.jsonl"
    lines = reference["lines"]
    torn = lines[120][: len(lines[120]) // 2]  # the write the kill interrupted
    out.write_text("\n".join(lines[:120]) + "\n" + torn, encoding="utf-8")
    summary = run([inputs["jsonl"], inputs["folder"]], out, progress=False, resume=True)
    got = out.read_text("utf-8").splitlines()
    assert got == lines  # no duplicates, nothing lost, same order and content
    assert summary.skipped == 120 and summary.ok == len(lines) - 120


class _Killer:
    """A backend that processes ``limit`` chunks, then dies as a killed run would."""

    workers = 1

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inner = SerialBackend()

    def submit(self, chunk):
        self.limit -= 1
        if self.limit < 0:
            raise KeyboardInterrupt
        return self.inner.submit(chunk)

    def close(self) -> None:
        pass


def test_parquet_streams_row_groups_and_resumes_after_a_kill(inputs, reference, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        run(
            [inputs["jsonl"]],
            out,
            progress=False,
            backend=_Killer(30),
            row_group_size=32,
            chunk_size=8,  # the kill comes after 30 chunks: keep them small enough to reach it
        )
    assert not out.exists()  # no footer was ever written to a half file
    parts = sorted((tmp_path / "out.parquet.parts").glob("part-*.parquet"))
    assert len(parts) >= 3  # full row groups, plus the rows buffered at the kill
    written = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
    summary = run([inputs["jsonl"], inputs["folder"]], out, progress=False, resume=True,
                  row_group_size=32)  # fmt: skip
    assert summary.skipped == written > 96
    assert not (tmp_path / "out.parquet.parts").exists()
    table = pq.read_table(out)
    assert table.column_names == ["trial_id", "source", "n_criteria", "n_thresholds", "trial"]
    ids = table.column("trial_id").to_pylist()
    assert ids == _ids(reference["lines"])
    trials = [json.loads(t) for t in table.column("trial").to_pylist()]
    assert trials == [json.loads(line) for line in reference["lines"]]
    assert table.column("n_criteria").to_pylist()[0] == len(trials[0]["criteria"])
    assert pq.ParquetFile(out).num_row_groups >= len(ids) // 32


def test_duplicate_ids_keep_the_first_and_are_reported(tmp_path):
    src = tmp_path / "dup.jsonl"
    rows = [{"id": "A", "text": criteria_text(1)}, {"id": "A", "text": criteria_text(2)}]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    summary = run([src], out, progress=False)
    assert _ids(out.read_text("utf-8").splitlines()) == ["A"]
    (error,) = _errors(tmp_path / "out.errors.jsonl")
    assert error["error_type"] == "DuplicateIdError" and error["source"] == f"{src}:2"
    assert summary.duplicates == 1


def _study(nct: str, text: str, **module: Any) -> dict[str, Any]:
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct},
            "eligibilityModule": {"eligibilityCriteria": text, **module},
        }
    }


def test_zipped_bulk_download_is_read_member_by_member(tmp_path):
    archive = tmp_path / "ctg-studies.json.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("NCT00000002.json", json.dumps(_study("NCT00000002", criteria_text(2))))
        zf.writestr("NCT00000001.json", json.dumps(_study("NCT00000001", criteria_text(1),
                                                          minimumAge="18 Years")))  # fmt: skip
        zf.writestr("NCT00000003.json", "{not json")
        zf.writestr("README.pdf", b"%PDF-1.4")
    items = list(read_zip(archive))
    records = [r for r in items if isinstance(r, Record)]
    assert [r.id for r in records] == ["NCT00000001", "NCT00000002"]
    assert records[0].structured == {"minimumAge": "18 Years"}
    assert records[0].source == f"{archive}!NCT00000001.json"
    out = tmp_path / "out.jsonl"
    summary = run([archive], out, progress=False)
    trials = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [t["trial_id"] for t in trials] == ["NCT00000001", "NCT00000002"]
    assert any(c["origin"] == "minimumAge" for c in trials[0]["criteria"])
    (error,) = _errors(tmp_path / "out.errors.jsonl")
    assert error["id"] == f"{archive}!NCT00000003.json" and summary.failed == 1


def test_aact_eligibilities_file_streams_rows_with_multiline_criteria(tmp_path):
    aact = tmp_path / "eligibilities.txt"
    header = "id|nct_id|sampling_method|gender|minimum_age|maximum_age|healthy_volunteers|criteria"
    text1 = criteria_text(1).replace("drug 1", 'drug "X" | 1')  # quotes and a pipe inside
    rows = [
        header,
        f'1|NCT01|N/A|All|18 Years|N/A|No|"{text1.replace(chr(34), chr(34) * 2)}"',
        f'2|NCT02||Female|N/A|65 Years|Accepts Healthy Volunteers|"{criteria_text(2)}"',
    ]
    data = "\n".join(rows).encode() + b'\n3|NCT03||All|||No|"caf\xe9"\n'
    aact.write_bytes(data)
    items = list(read_aact(aact))
    assert [getattr(r, "id", None) for r in items[:2]] == ["NCT01", "NCT02"]
    assert items[0].text == text1
    assert items[0].structured == {"minimumAge": "18 Years", "sex": "ALL",
                                   "healthyVolunteers": False}  # fmt: skip
    assert items[1].structured == {"maximumAge": "65 Years", "sex": "FEMALE",
                                   "healthyVolunteers": True}  # fmt: skip
    out = tmp_path / "out.jsonl"
    summary = run([aact], out, progress=False)
    assert _ids(out.read_text("utf-8").splitlines()) == ["NCT01", "NCT02"]
    (error,) = _errors(tmp_path / "out.errors.jsonl")
    assert error["id"] == "NCT03" and error["error_type"] == "EncodingError"
    assert summary.ok == 2


def test_worker_processes_give_the_serial_output(inputs, reference, tmp_path):
    out = tmp_path / "out.jsonl"
    run([inputs["jsonl"], inputs["folder"]], out, progress=False, workers=2, chunk_size=8)
    assert out.read_text("utf-8").splitlines() == reference["lines"]
    assert _errors(tmp_path / "out.errors.jsonl") == _errors(
        reference["out"].with_name("out.errors.jsonl")
    )


def test_dask_backend_gives_the_local_output(inputs, reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out.jsonl"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        summary = run([inputs["jsonl"], inputs["folder"]], out, progress=False,
                      scheduler=cluster.scheduler_address, chunk_size=16)  # fmt: skip
    assert out.read_text("utf-8").splitlines() == reference["lines"]
    assert summary.failed == reference["summary"].failed


class _Slow:
    """A backend whose chunks finish out of order (later ones first), on threads."""

    workers = 4

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, chunk):
        from concurrent.futures import ThreadPoolExecutor

        self.submitted += 1
        delay = 0.02 * (len(chunk) % 3)
        pool = ThreadPoolExecutor(1)
        future = pool.submit(lambda: (time.sleep(delay), [Outcome(str(x), None) for x in chunk])[1])
        pool.shutdown(wait=False)
        return future


def test_window_bounds_work_in_flight_and_keeps_input_order():
    pulled = 0

    def chunks():
        nonlocal pulled
        for k in range(40):
            pulled += 1
            yield [f"{k}:{j}" for j in range(k % 7 + 1)]

    seen: list[str] = []
    ahead = 0
    for outcome in ordered_results(_Slow(), chunks(), max_in_flight=3):
        seen.append(outcome.id)
        started = len({x.split(":")[0] for x in seen})
        ahead = max(ahead, pulled - started)
    assert seen == [f"{k}:{j}" for k in range(40) for j in range(k % 7 + 1)]
    assert ahead <= 2  # the chunk being read plus at most two more in flight


def test_serial_backend_result_is_immediate():
    assert _Done([]).result() == []
    assert isinstance(make_backend(1), SerialBackend)


def test_cli_batch_writes_parquet_and_rejects_other_extensions(inputs, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    out = tmp_path / "seeds.parquet"
    code = cli_main(["batch", str(inputs["folder"]), "-o", str(out), "--no-progress"])
    assert code == 1 and out.exists()  # two bad files in the folder: exit 1, good one written
    assert "1 trials written" in capsys.readouterr().err
    assert cli_main(["batch", str(inputs["folder"]), "-o", str(tmp_path / "x.csv")]) == 2


def test_cli_dask_with_an_embedded_local_cluster(inputs, reference, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "out.jsonl"
    args = ["batch", str(inputs["folder"]), "-o", str(out), "--no-progress", "--dask"]
    assert cli_main([*args, "--workers", "1"]) == 1  # the folder holds two bad files
    assert out.read_text("utf-8").splitlines() == reference["lines"][-1:]
