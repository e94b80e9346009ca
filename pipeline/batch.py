"""Batch runs: many trials in, JSONL or Parquet out, bad records isolated, resumable, parallel.

Why it is built this way:

* Each record is processed to plain data (``Outcome``) by ``process``, so a result can come
  from this process, a worker process or a Dask worker alike. medspaCy's ``Doc`` extensions
  cannot cross process boundaries, so ``nlp.pipe(n_process=...)`` is not an option: workers
  run the whole pipeline and send back dicts.
* Memory is constant in the input size: inputs are streamed record by record, at most
  ``max_in_flight`` chunks are submitted at once, results are consumed in input order (so the
  output order is the input order on every backend) and written as they arrive. Only the set
  of trial ids seen (for ``--resume`` and duplicate detection) grows with the input.
* A record that fails is written to the errors file with its id, source and reason, and the
  batch goes on; so does a record that trips an unexpected bug in the pipeline.
* A killed run loses at most the records in flight: ``--resume`` reads the ids already
  written (dropping a torn last JSONL line, or Parquet parts never finished) and appends.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from .errors import EligibilityError, InputError
from .readers import (
    Record,
    decode,
    is_aact_file,
    json_line_records,
    read_aact,
    read_path,
    read_zip,
    records_from_json,
    tag_error,
)

OUTPUT_FORMATS = (".jsonl", ".parquet")
STREAMED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".zip")
MAX_FAILURES_KEPT = 100  # the errors file has them all; the summary keeps a bounded sample
DEFAULT_CHUNK_SIZE = 32
DEFAULT_ROW_GROUP_SIZE = 256


@dataclass(slots=True)
class Outcome:
    """What one record became: the trial's ``to_dict()`` or the reason it failed."""

    id: str | None
    source: str | None
    trial: dict[str, Any] | None = None
    error: str | None = None
    error_type: str | None = None


@dataclass(slots=True)
class Summary:
    """Counts of a run. ``failures`` keeps the first ``MAX_FAILURES_KEPT`` only (memory stays
    constant); the errors file lists every one."""

    ok: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    failures: list[Outcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def add_failure(self, outcome: Outcome) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(outcome)


@dataclass(slots=True)
class Packed:
    """A trial ready to write: serialised where it was parsed (a worker), so the parent,
    which every worker waits on, only copies bytes. ``trial_json`` is one JSONL line's text."""

    id: str | None
    source: str | None
    trial_json: str
    n_criteria: int
    n_thresholds: int


Item = Record | Outcome  # what a chunk carries: work to do, or a failure already known
Result = Packed | Outcome  # what comes back: a trial to write, or a failure


# --- reading ----------------------------------------------------------------------------------


def iter_inputs(inputs: Iterable[str | Path]) -> Iterator[Record | InputError]:
    """Records from files, folders and ``-`` (JSON or text on standard input), streamed."""
    for item in inputs:
        if str(item) == "-":
            yield from _stdin_records()
            continue
        path = Path(item)
        if not path.exists():
            yield tag_error(InputError(f"{path}: no such file or directory"), str(path))
            continue
        yield from iter_path(path)


def _stdin_records() -> Iterator[Record | InputError]:
    from .readers import looks_like_json, parse_json_text

    try:
        text = decode(sys.stdin.buffer.read())
        if looks_like_json(text):
            yield from records_from_json(parse_json_text(text), "<stdin>")
        else:
            yield Record("stdin", text, source="<stdin>")
    except InputError as exc:
        yield tag_error(exc, "<stdin>")


def iter_path(path: Path) -> Iterator[Record | InputError]:
    """Records of one input path, streamed where the format allows it.

    A folder is walked in sorted order; ``.zip`` archives (the ClinicalTrials.gov bulk
    download) member by member; AACT's ``eligibilities.txt`` row by row; JSONL line by line
    (one bad line, even invalid UTF-8, fails alone). A ``.json`` document is parsed whole:
    JSON arrays cannot be streamed without a streaming parser, so prefer JSONL at scale.
    """
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            if child.suffix.lower() in STREAMED_SUFFIXES:
                yield from iter_path(child)
        return
    suffix = path.suffix.lower()
    if suffix == ".zip":
        yield from read_zip(path)
    elif is_aact_file(path):
        yield from read_aact(path)
    elif suffix == ".jsonl":
        yield from stream_jsonl(path)
    else:
        for item in read_path(path):
            yield _name_error(item, str(path))


def stream_jsonl(path: Path) -> Iterator[Record | InputError]:
    """JSONL read line by line as bytes, so memory is one line and a line that is not UTF-8
    becomes that line's ``EncodingError`` rather than the whole file's."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        yield tag_error(InputError(f"{path}: cannot read: {exc.strerror}"), str(path))
        return
    with fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            source = f"{path}:{number}"
            try:
                line = decode(raw)
            except InputError as exc:
                yield tag_error(type(exc)(f"{source}: {exc}"), source)
                continue
            yield from json_line_records(line, source)


def _name_error(item: Record | InputError, where: str) -> Record | InputError:
    if isinstance(item, InputError) and getattr(item, "record_id", None) is None:
        return tag_error(item, where)
    return item


def count_records(inputs: Iterable[str | Path]) -> int | None:
    """A quick count of the records ``iter_inputs`` will yield (for the progress bar's ETA),
    or None when it cannot be known without reading everything (standard input)."""
    total = 0
    for item in inputs:
        if str(item) == "-":
            return None
        n = _count_path(Path(item))
        if n is None:
            return None
        total += n
    return total


def _count_path(path: Path) -> int | None:
    if not path.exists():
        return 1  # it becomes one error line
    if path.is_dir():
        children = (p for p in path.rglob("*") if p.is_file())
        counts = [_count_path(p) for p in children if p.suffix.lower() in STREAMED_SUFFIXES]
        return None if None in counts else sum(c for c in counts if c is not None)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    if suffix == ".zip":
        return _count_zip(path)
    if is_aact_file(path):
        return sum(1 for _ in read_aact(path))
    if suffix == ".json":
        return sum(1 for _ in read_path(path))
    return 1


def _count_zip(path: Path) -> int | None:
    import zipfile

    from .readers import ZIP_MEMBER_SUFFIXES

    try:
        with zipfile.ZipFile(path) as archive:
            names = [m.filename.lower() for m in archive.infolist() if not m.is_dir()]
    except (OSError, zipfile.BadZipFile):
        return 1
    return sum(1 for name in names if name.endswith(ZIP_MEMBER_SUFFIXES))


# --- processing -------------------------------------------------------------------------------


def process(record: Record) -> Outcome:
    """Parse one record; never raises (the outcome carries the error).

    Bad input gives the typed error of ``pipeline.errors``; any other exception is a bug in
    the pipeline, recorded under its own type name so one odd record cannot end a long batch.
    """
    from .api import parse_with_fields

    try:
        trial = parse_with_fields(record.text, record.id, record.structured)
        return Outcome(record.id, record.source, trial=trial.to_dict())
    except EligibilityError as exc:
        return Outcome(record.id, record.source, error=str(exc), error_type=type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - isolate pipeline bugs per record
        message = f"internal error: {type(exc).__name__}: {exc}"
        return Outcome(record.id, record.source, error=message, error_type="InternalError")


def process_chunk(items: list[Item]) -> list[Result]:
    """The unit of work sent to a worker: records are parsed and packed, known failures pass
    through. Every backend runs this same function, so their outputs are byte-identical."""
    return [item if isinstance(item, Outcome) else pack(process(item)) for item in items]


def pack(outcome: Outcome) -> Result:
    """A successful outcome as a ``Packed`` trial; a failure stays an ``Outcome``."""
    if outcome.trial is None or outcome.error is not None:
        return outcome
    criteria = outcome.trial.get("criteria", [])
    return Packed(
        outcome.id,
        outcome.source,
        json.dumps(outcome.trial, ensure_ascii=False),
        len(criteria),
        sum(len(c.get("thresholds", [])) for c in criteria),
    )


def failed(error: InputError) -> Outcome:
    rid = getattr(error, "record_id", None)
    return Outcome(rid, rid, error=str(error), error_type=type(error).__name__)


def warm_up() -> int:
    """Load the pipeline in this process (a worker's initializer); returns the pid."""
    from .api import load

    load()
    return os.getpid()


# --- backends ---------------------------------------------------------------------------------


class Pending(Protocol):
    def result(self) -> list[Result]: ...


class Backend(Protocol):
    """Where chunks are processed. ``submit`` returns something with ``result()``."""

    workers: int

    def submit(self, chunk: list[Item]) -> Pending: ...

    def warm(self) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class _Done:
    value: list[Result]

    def result(self) -> list[Result]:
        return self.value


class SerialBackend:
    """This process, no parallelism: the reference every other backend must match."""

    workers = 1

    def submit(self, chunk: list[Item]) -> Pending:
        return _Done(process_chunk(chunk))

    def warm(self) -> None:
        warm_up()

    def close(self) -> None:
        pass


class ProcessBackend:
    """Worker processes on this machine (``spawn``: safe beside the progress bar's thread and
    any threads of the caller); each loads the pipeline once, in its initializer."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=warm_up,
        )

    def submit(self, chunk: list[Item]) -> Pending:
        return self._pool.submit(process_chunk, chunk)

    def warm(self) -> None:
        """Start every worker and load its pipeline now (benchmarks time the steady state)."""
        futures = [self._pool.submit(_pause, 0.5) for _ in range(self.workers)]
        for future in futures:
            future.result()

    def pids(self) -> list[int]:
        """The worker processes' ids (for CPU accounting in benchmarks)."""
        return list(getattr(self._pool, "_processes", None) or {})

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _pause(seconds: float) -> int:
    import time

    time.sleep(seconds)
    return os.getpid()


class DaskBackend:
    """A Dask distributed cluster: ``scheduler`` (``tcp://host:port``) or, without one, a
    ``LocalCluster`` of ``workers`` single-threaded worker processes. Workers need this
    package installed; they run ``process_chunk`` and return plain data."""

    def __init__(self, workers: int = 1, scheduler: str | None = None) -> None:
        from distributed import Client, LocalCluster

        self._cluster: Any = None
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        else:
            self._client = Client(scheduler)
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})) or workers)

    def submit(self, chunk: list[Item]) -> Pending:
        return self._client.submit(process_chunk, chunk, pure=False)  # type: ignore[no-any-return]

    def warm(self) -> None:
        self._client.run(warm_up)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_backend(workers: int = 1, *, dask: bool = False, scheduler: str | None = None) -> Backend:
    """Serial for one worker, processes for several, Dask when asked (or given a scheduler)."""
    if scheduler is not None or dask:
        return DaskBackend(workers, scheduler)
    if workers > 1:
        return ProcessBackend(workers)
    return SerialBackend()


def ordered_results(
    backend: Backend, chunks: Iterable[list[Item]], max_in_flight: int
) -> Iterator[Result]:
    """Results in input order with at most ``max_in_flight`` chunks submitted and unread.

    Waiting on the oldest chunk first keeps the order for free; the window (a few chunks per
    worker) keeps every worker busy while one slow trial holds the head.
    """
    window: deque[Pending] = deque()
    for chunk in chunks:
        window.append(backend.submit(chunk))
        while len(window) >= max_in_flight:
            yield from window.popleft().result()
    while window:
        yield from window.popleft().result()


# --- writing ----------------------------------------------------------------------------------


class Sink(Protocol):
    done: set[str]

    def write(self, trial: Packed) -> None: ...

    def close(self, *, complete: bool) -> None: ...


class JsonlSink:
    """One ``Trial.to_dict()`` per line. On resume, the ids already written are read and a
    torn last line (a run killed mid-write) is cut off before appending."""

    def __init__(self, path: Path, *, resume: bool) -> None:
        self.done: set[str] = recover_jsonl(path) if resume and path.exists() else set()
        self._fh = path.open("a" if resume else "w", encoding="utf-8")

    def write(self, trial: Packed) -> None:
        self._fh.write(trial.trial_json + "\n")

    def close(self, *, complete: bool) -> None:
        self._fh.close()


def recover_jsonl(path: Path) -> set[str]:
    """Trial ids of a JSONL output; truncates the file after its last complete valid line."""
    ids: set[str] = set()
    good_end = 0
    with path.open("rb") as fh:
        for raw in fh:
            trial_id = _line_id(raw)
            if trial_id is None:
                break
            ids.add(trial_id)
            good_end += len(raw)
    if good_end < path.stat().st_size:
        with path.open("r+b") as fh:
            fh.truncate(good_end)
    return ids


def _line_id(raw: bytes) -> str | None:
    if not raw.endswith(b"\n"):
        return None
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    trial_id = data.get("trial_id") if isinstance(data, dict) else None
    return trial_id if isinstance(trial_id, str) else None


class ParquetSink:
    """Parquet with id columns and the trial as a JSON string column, written while streaming.

    A Parquet file is unreadable until its footer is written, so rows go first to finished
    part files (one row group each, written to a temporary name and renamed: a part is whole
    or absent) in ``OUTPUT.parts/``; ``close`` merges the parts, row group by row group, into
    ``OUTPUT``. A killed run leaves its parts, and ``--resume`` picks them up.
    """

    COLUMNS = ("trial_id", "source", "n_criteria", "n_thresholds", "trial")

    def __init__(self, path: Path, *, resume: bool, row_group_size: int) -> None:
        import pyarrow as pa

        self.path = path
        self.parts = path.with_name(path.name + ".parts")
        self.row_group_size = row_group_size
        self.schema = pa.schema(
            [
                ("trial_id", pa.string()),
                ("source", pa.string()),
                ("n_criteria", pa.int32()),
                ("n_thresholds", pa.int32()),
                ("trial", pa.string()),
            ]
        )
        self._rows: list[dict[str, Any]] = []
        self._keep_existing = resume and path.exists()
        if not resume:
            shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = self._recover() if resume else set()
        self._next = len(self._part_files()) + 1

    def write(self, trial: Packed) -> None:
        self._rows.append(
            {
                "trial_id": trial.id,
                "source": trial.source,
                "n_criteria": trial.n_criteria,
                "n_thresholds": trial.n_thresholds,
                "trial": trial.trial_json,
            }
        )
        if len(self._rows) >= self.row_group_size:
            self._flush()

    def close(self, *, complete: bool) -> None:
        self._flush()
        if complete:
            self._merge()

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet"))

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        final = self.parts / f"part-{self._next:06d}.parquet"
        tmp = final.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self._next += 1
        self._rows = []

    def _recover(self) -> set[str]:
        """Ids of the existing output and its parts; parts already merged are dropped."""
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()
        merged = _parquet_ids(self.path) if self._keep_existing else set()
        done = set(merged)
        for part in self._part_files():
            ids = _parquet_ids(part)
            if ids and ids <= merged:  # killed after the merge, before removing the parts
                part.unlink()
                continue
            done |= ids
        # Renumber so new parts sort after the kept ones.
        for n, part in enumerate(self._part_files(), start=1):
            part.rename(self.parts / f"part-{n:06d}.parquet")
        return done

    def _merge(self) -> None:
        import pyarrow.parquet as pq

        sources = ([self.path] if self._keep_existing else []) + self._part_files()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with pq.ParquetWriter(tmp, self.schema) as writer:
            for source in sources:
                reader = pq.ParquetFile(source)
                for i in range(reader.num_row_groups):
                    writer.write_table(reader.read_row_group(i))
        os.replace(tmp, self.path)
        shutil.rmtree(self.parts, ignore_errors=True)


def _parquet_ids(path: Path) -> set[str]:
    import pyarrow.parquet as pq

    column = pq.read_table(path, columns=["trial_id"]).column("trial_id")
    return {x for x in column.to_pylist() if x is not None}


def open_sink(out: Path, *, resume: bool, row_group_size: int) -> Sink:
    """The writer for ``out``'s extension (``.jsonl`` or ``.parquet``)."""
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        return JsonlSink(out, resume=resume)
    if suffix == ".parquet":
        return ParquetSink(out, resume=resume, row_group_size=row_group_size)
    raise InputError(f"{out}: output must end in .jsonl or .parquet, not {suffix or '(none)'}")


# --- the run ----------------------------------------------------------------------------------


class _Tracker:
    """Turns the input stream into chunks of work: assigns missing ids, skips ids already
    written (resume), reports ids seen twice in this run as failures, counts everything."""

    def __init__(self, done: set[str], summary: Summary, bar: Any) -> None:
        self.done = done
        self.seen: set[str] = set()
        self.summary = summary
        self.bar = bar

    def items(self, stream: Iterable[Record | InputError]) -> Iterator[Item]:
        for entry in stream:
            if isinstance(entry, InputError):
                yield failed(entry)
                continue
            if entry.id is None:
                entry.id = entry.source
            if entry.id in self.done:
                self.summary.skipped += 1
                self.bar.update(1)
                continue
            if entry.id is not None and entry.id in self.seen:
                self.summary.duplicates += 1
                yield _duplicate(entry)
                continue
            if entry.id is not None:
                self.seen.add(entry.id)
            yield entry


def _duplicate(record: Record) -> Outcome:
    return Outcome(
        record.id,
        record.source,
        error=f"duplicate trial id {record.id!r}: the first record with this id was kept",
        error_type="DuplicateIdError",
    )


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def run(
    inputs: Iterable[str | Path],
    out: Path,
    errors: Path | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
    workers: int = 1,
    dask: bool = False,
    scheduler: str | None = None,
    backend: Backend | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_in_flight: int | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> Summary:
    """Process every record of ``inputs`` into ``out`` (``.jsonl`` or ``.parquet``, in input
    order); failures into ``errors`` (default ``OUTPUT.errors.jsonl``).

    ``resume`` skips the ids already in ``out`` and appends (the errors file is rewritten: the
    failed records are retried). ``workers``/``dask``/``scheduler`` choose the backend (see
    ``make_backend``) unless a ready ``backend`` is given (the caller then closes it).
    """
    inputs = list(inputs)
    out.parent.mkdir(parents=True, exist_ok=True)
    errors = errors or out.with_name(out.stem + ".errors.jsonl")
    sink = open_sink(out, resume=resume, row_group_size=row_group_size)
    own_backend = backend is None
    backend = backend or make_backend(workers, dask=dask, scheduler=scheduler)
    window = max_in_flight or 4 * backend.workers
    summary = Summary()
    complete = False
    total = count_records(inputs)
    try:
        if own_backend:  # load the pipeline first, so the bar's rate and ETA are the real ones
            backend.warm()
        with (
            errors.open("w", encoding="utf-8") as ferr,
            _progress_bar(total, progress) as bar,
        ):
            tracker = _Tracker(sink.done, summary, bar)
            chunks = chunked(tracker.items(iter_inputs(inputs)), chunk_size)
            for result in ordered_results(backend, chunks, window):
                _record(result, sink, ferr, summary)
                bar.update(1)
                bar.set_postfix(failed=summary.failed, refresh=False)
        complete = True
    finally:
        sink.close(complete=complete)
        if own_backend:
            backend.close()
    return summary


def _progress_bar(total: int | None, enabled: bool) -> Any:
    """tqdm with rate and, when the total is known, ETA; smoothed for uneven trial sizes."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="trials",
        unit=" trials",
        disable=not enabled,
        dynamic_ncols=True,
        smoothing=0.05,
        mininterval=0.5,
    )


def _record(result: Result, sink: Sink, ferr: Any, summary: Summary) -> None:
    if isinstance(result, Packed):
        sink.write(result)
        summary.ok += 1
    else:
        ferr.write(json.dumps(error_line(result), ensure_ascii=False) + "\n")
        summary.add_failure(result)


def error_line(outcome: Outcome) -> dict[str, Any]:
    """One line of the errors file: which record (id, source) and why."""
    return {
        "id": outcome.id,
        "source": outcome.source,
        "error_type": outcome.error_type,
        "error": outcome.error,
    }
