"""Throughput benchmark: ``python -m evaluation.bench [--limit N] [--synthetic N] [--workers N]``.

What it measures, in one run and on the same texts (LCT dev, ``evaluation.lct.lct_path()``;
the seed corpus if LCT is absent):

* spaCy's blank English tokenizer alone (``spacy.blank("en").tokenizer``): the floor any
  spaCy pipeline pays, so the pipeline's speed is reported as a ratio to it (a machine-neutral
  number; absolute rates depend on the CPU);
* the full pipeline in this process on one core: trials/s, criteria/s, and the ratio.

  These two single-core passes are timed in CPU seconds of this process
  (``time.process_time``), so other processes on a shared machine do not slow them down
  (they still disturb caches a little); "per second" there means per CPU-second;
* a synthetic replication of the texts (``--synthetic N`` records, JSONL) through
  ``pipeline.batch.run`` with 1 and with ``--workers`` worker processes (started and warmed up
  first, so start-up is not timed): trials/s, criteria/s and the speed-up;

Every pass is repeated ``--repeat`` times, interleaved, and the fastest kept: on a shared
machine the minimum is the least disturbed figure. The load average is printed with them.
* peak memory: this process's and the largest worker's maximum RSS (``getrusage``), and with
  ``--memory-sizes`` the peak RSS of a whole ``eligibility batch`` run at growing input sizes,
  which is flat when the batch streams in constant memory.

``--profile`` adds a cProfile of the in-process pipeline pass (top functions by own time).
Timing belongs here, never in unit tests: ``tests/test_bench_smoke.py`` only runs the parts.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.10
TARGET_SPEEDUP = 1.8


@dataclass(slots=True)
class Rate:
    """One timed pass: how many trials, criteria and characters in how many seconds."""

    label: str
    trials: int
    criteria: int
    chars: int
    seconds: float
    cpu_seconds: float | None = None  # of the worker processes, where it can be read

    @property
    def trials_per_s(self) -> float:
        return self.trials / self.seconds if self.seconds else float("inf")

    @property
    def criteria_per_s(self) -> float:
        return self.criteria / self.seconds if self.seconds else float("inf")

    @property
    def chars_per_s(self) -> float:
        return self.chars / self.seconds if self.seconds else float("inf")

    @property
    def cores_used(self) -> float | None:
        """Worker CPU seconds per wall second: how many cores the workers actually got."""
        return self.cpu_seconds / self.seconds if self.cpu_seconds and self.seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "trials_per_s": self.trials_per_s,
            "criteria_per_s": self.criteria_per_s,
            "chars_per_s": self.chars_per_s,
            "cores_used": self.cores_used,
        }


# --- inputs -----------------------------------------------------------------------------------


def load_texts(limit: int | None = None) -> tuple[list[tuple[str, str]], str]:
    """``(id, text)`` pairs of LCT dev (or the seeds when LCT is absent) and where from."""
    from evaluation.lct import lct_path, read_records

    path = lct_path()
    if path is not None:
        return [(r["doc_id"], r["text"]) for r in read_records(path, limit=limit)], str(path)
    seeds = sorted((ROOT / "corpus" / "seeds").glob("*.txt"))[:limit]
    return [(p.stem, p.read_text(encoding="utf-8")) for p in seeds], "corpus/seeds"


def write_synthetic(texts: Sequence[tuple[str, str]], n: int, path: Path) -> Path:
    """``n`` JSONL records cycling through ``texts`` (ids made unique): the same mix of trial
    lengths as the real texts, at any size, streamed to disk."""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            doc_id, text = texts[i % len(texts)]
            fh.write(json.dumps({"id": f"{doc_id}-{i}", "text": text}, ensure_ascii=False) + "\n")
    return path


# --- measurements -----------------------------------------------------------------------------


def timed(fn: Callable[[], Any], min_seconds: float = 0.0) -> tuple[float, int]:
    """CPU seconds per call of ``fn`` (repeated until ``min_seconds`` of CPU time have passed)
    and the number of calls."""
    calls, start = 0, time.process_time()
    while True:
        fn()
        calls += 1
        elapsed = time.process_time() - start
        if elapsed >= min_seconds:
            return elapsed / calls, calls


def measure_tokenizer(texts: Sequence[tuple[str, str]], min_seconds: float = 1.0) -> Rate:
    """spaCy's blank English tokenizer alone over ``texts`` (repeated to ``min_seconds``)."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer

    def one_pass() -> None:
        for _, text in texts:
            tokenizer(text)

    one_pass()  # warm caches, like the pipeline's warm-up
    seconds, _ = timed(one_pass, min_seconds)
    chars = sum(len(t) for _, t in texts)
    return Rate("tokenizer only", len(texts), 0, chars, seconds)


def count_criteria(trial: dict[str, Any]) -> int:
    return sum(1 for c in trial.get("criteria", []) if c.get("origin", "text") == "text")


def measure_pipeline(texts: Sequence[tuple[str, str]]) -> tuple[Rate, int]:
    """The full pipeline in this process (CPU time), one pass after a warm-up, through
    ``pipeline.batch.process`` (``parse`` + ``to_dict``; a text the pipeline fails on is
    counted, not fatal). Returns the rate and the number of failed texts."""
    import pipeline
    from pipeline.batch import process
    from pipeline.readers import Record

    pipeline.load()
    records = [Record(doc_id, text) for doc_id, text in texts]
    process(records[0])  # first-call costs are not throughput
    criteria = failed = 0
    start = time.process_time()
    for record in records:
        outcome = process(record)
        if outcome.trial is None:
            failed += 1
        else:
            criteria += count_criteria(outcome.trial)
    seconds = time.process_time() - start
    chars = sum(len(t) for _, t in texts)
    return Rate("pipeline, 1 core", len(texts), criteria, chars, seconds), failed


def best_of(texts: Sequence[tuple[str, str]], repeat: int) -> tuple[Rate, Rate, int]:
    """Tokenizer and pipeline passes interleaved ``repeat`` times, the fastest of each kept:
    on a shared machine the minimum is the least disturbed measurement, and interleaving
    exposes both to the same background load."""
    tokenizer = full = None
    failed = 0
    for _ in range(max(1, repeat)):
        tok = measure_tokenizer(texts)
        run, failed = measure_pipeline(texts)
        tokenizer = tok if tokenizer is None or tok.seconds < tokenizer.seconds else tokenizer
        full = run if full is None or run.seconds < full.seconds else full
    assert tokenizer is not None and full is not None
    return tokenizer, full, failed


def measure_batch(source: Path, backend: Any, out_dir: Path) -> Rate:
    """One ``pipeline.batch.run`` over a JSONL file on a started, warmed ``backend``."""
    from pipeline.batch import run

    out = out_dir / f"batch-{backend.workers}.jsonl"
    pids = backend.pids() if hasattr(backend, "pids") else []
    cpu_before = cpu_seconds(pids)
    start = time.perf_counter()
    summary = run([source], out, progress=False, backend=backend)
    seconds = time.perf_counter() - start
    cpu_after = cpu_seconds(pids)
    cpu = cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None
    criteria, chars = _output_counts(out, source)
    label = f"batch, {backend.workers} worker process(es)"
    return Rate(label, summary.ok, criteria, chars, seconds, cpu)


def cpu_seconds(pids: Sequence[int]) -> float | None:
    """User + system CPU seconds of processes ``pids`` so far (Linux ``/proc``), else None.
    On a shared machine this tells a design limit from cores taken by other processes."""
    if not pids:
        return None
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        return total / ticks
    except (OSError, ValueError, IndexError):
        return None


def compare_workers(source: Path, counts: Sequence[int], out_dir: Path, repeat: int) -> list[Rate]:
    """The batch on worker pools of each size in ``counts``, started and warmed before any
    clock runs, passes interleaved ``repeat`` times, the fastest pass of each size kept."""
    from pipeline.batch import ProcessBackend

    backends = [ProcessBackend(n) for n in counts]
    best: list[Rate | None] = [None] * len(backends)
    try:
        for backend in backends:
            backend.warm()
        for _ in range(max(1, repeat)):
            for i, backend in enumerate(backends):
                rate = measure_batch(source, backend, out_dir)
                current = best[i]
                best[i] = rate if current is None or rate.seconds < current.seconds else current
    finally:
        for backend in backends:
            backend.close()
    return [r for r in best if r is not None]


def _output_counts(out: Path, source: Path) -> tuple[int, int]:
    with out.open(encoding="utf-8") as fh:
        criteria = sum(count_criteria(json.loads(line)) for line in fh)
    with source.open(encoding="utf-8") as fh:
        chars = sum(len(json.loads(line)["text"]) for line in fh)
    return criteria, chars


def peak_rss_mb() -> dict[str, float]:
    """Maximum resident set size so far: this process, and the largest finished child."""
    div = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, kB on Linux
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / div
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / div
    return {"self_mb": own, "largest_child_mb": child}


def batch_peak_rss(source: Path, out_dir: Path, workers: int = 1) -> float:
    """Peak RSS (MB) of one ``eligibility batch`` run as its own process (its workers are its
    children, counted in it only when ``workers`` is 1, i.e. in process)."""
    out = out_dir / f"mem-{source.stem}.jsonl"
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from pipeline.batch import run\n"
        f"run([Path({str(source)!r})], Path({str(out)!r}), progress=False, workers={workers})\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def component_seconds(texts: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Seconds spent in each stage of ``pipeline.parse`` + ``to_dict`` over ``texts``: text
    cleaning and tokenizing, each spaCy component, assembly and serialisation. Timed stage by
    stage without a profiler's overhead, so the shares are the real ones."""
    from collections import Counter

    import pipeline
    from pipeline.api import _doc_input  # the exact first step of parse()
    from pipeline.assemble import trial_from_doc
    from pipeline.readers import check_text

    nlp = pipeline.load()
    pipeline.parse(texts[0][1])
    spent: Counter[str] = Counter()
    clock = time.process_time
    for doc_id, text in texts:
        t0 = clock()
        raw = check_text(text)
        doc = _doc_input(nlp, raw)
        spent["clean + tokenize"] += clock() - t0
        try:
            for name, component in nlp.pipeline:
                t0 = clock()
                doc = component(doc)
                spent[name] += clock() - t0
            t0 = clock()
            trial = trial_from_doc(doc, raw, doc_id)
            spent["assemble (trial_from_doc)"] += clock() - t0
            t0 = clock()
            trial.to_dict()
            spent["Trial.to_dict"] += clock() - t0
        except Exception:  # noqa: BLE001 - a failing text is skipped here as in the batch
            continue
    return dict(spent.most_common())


def format_components(spent: dict[str, float]) -> Iterator[str]:
    total = sum(spent.values()) or 1.0
    yield f"{'stage':<34} {'seconds':>8} {'share':>7}"
    for name, seconds in spent.items():
        yield f"{name:<34} {seconds:>8.3f} {seconds / total:>7.1%}"
    yield f"{'total':<34} {total:>8.3f}"


def profile_pipeline(texts: Sequence[tuple[str, str]], top: int = 25) -> str:
    """cProfile of ``pipeline.parse`` over ``texts``: the hot spots, by own time."""
    import pipeline
    from pipeline.batch import process
    from pipeline.readers import Record

    pipeline.load()
    records = [Record(doc_id, text) for doc_id, text in texts]
    process(records[0])
    profiler = cProfile.Profile()
    profiler.enable()
    for record in records:
        process(record)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


# --- report -----------------------------------------------------------------------------------


def format_rates(rates: Sequence[Rate]) -> Iterator[str]:
    yield (
        f"{'pass':<34} {'trials':>7} {'seconds':>8} {'trials/s':>9} {'criteria/s':>11}"
        f" {'kchars/s':>9} {'cores used':>10}"
    )
    for r in rates:
        cores = "" if r.cores_used is None else f"{r.cores_used:.2f}"
        yield (
            f"{r.label:<34} {r.trials:>7} {r.seconds:>8.2f} {r.trials_per_s:>9.1f}"
            f" {r.criteria_per_s:>11.1f} {r.chars_per_s / 1000:>9.1f} {cores:>10}"
        ).rstrip()


def verdict(value: float, target: float) -> str:
    return "meets target" if value >= target else "BELOW target"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = shlex.join(["python", "-m", "evaluation.bench", *(argv or sys.argv[1:])])
    print(f"$ {command}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cpus: {os.cpu_count()}; load average (1 min) at start: {load:.2f}")
    texts, where = load_texts(args.limit)
    print(f"texts: {len(texts)} trials from {where} ({sum(len(t) for _, t in texts):,} chars)")
    results: dict[str, Any] = {"command": command, "source": where, "load_at_start": load}

    load_start = time.perf_counter()
    import pipeline

    pipeline.load()
    results["pipeline_load_s"] = time.perf_counter() - load_start
    tokenizer, full, failed = best_of(texts, args.repeat)
    results["pipeline_failed_texts"] = failed
    ratio = full.chars_per_s / tokenizer.chars_per_s
    rates = [tokenizer, full]
    results.update(tokenizer=tokenizer.as_dict(), pipeline=full.as_dict(), ratio=ratio)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp_dir = Path(tmp)
        synthetic = write_synthetic(texts, args.synthetic, tmp_dir / "synthetic.jsonl")
        counts = _worker_counts(args.workers)
        batch_rates = compare_workers(synthetic, counts, tmp_dir, args.repeat) if counts else []
        rates += batch_rates
        results["batch"] = [r.as_dict() for r in batch_rates]
        if args.memory_sizes:
            results["memory_by_size_mb"] = _memory_by_size(texts, args.memory_sizes, tmp_dir)
    results["peak_rss_mb"] = peak_rss_mb()
    results["load_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    _print_results(rates, results, ratio, batch_rates, args)
    if args.profile:
        spent = component_seconds(texts)
        results["component_seconds"] = spent
        print("\n--- time per pipeline stage (in process, no profiler) ---")
        print("\n".join(format_components(spent)))
        print("\n--- cProfile of the in-process pipeline pass ---")
        print(profile_pipeline(texts))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _worker_counts(workers: int) -> list[int]:
    return [] if workers <= 0 else sorted({1, workers})


def _memory_by_size(
    texts: Sequence[tuple[str, str]], sizes: str, tmp_dir: Path
) -> dict[str, float]:
    out: dict[str, float] = {}
    for n in (int(x) for x in sizes.split(",")):
        source = write_synthetic(texts, n, tmp_dir / f"mem-{n}.jsonl")
        out[str(n)] = batch_peak_rss(source, tmp_dir)
    return out


def _print_results(
    rates: Sequence[Rate],
    results: dict[str, Any],
    ratio: float,
    batch_rates: Sequence[Rate],
    args: argparse.Namespace,
) -> None:
    print(f"pipeline load: {results['pipeline_load_s']:.1f} s (not in any rate below)")
    print("single-core passes: CPU seconds of this process; batch passes: wall-clock seconds")
    if results["pipeline_failed_texts"]:
        print(
            f"texts the pipeline failed on (timed, counted as trials): "
            f"{results['pipeline_failed_texts']}"
        )
    print("\n".join(format_rates(rates)))
    print(
        f"\npipeline / tokenizer-only throughput: {ratio:.1%}"
        f" (target >= {TARGET_RATIO:.0%}: {verdict(ratio, TARGET_RATIO)})"
    )
    if len(batch_rates) == 2:
        speedup = batch_rates[1].trials_per_s / batch_rates[0].trials_per_s
        results["speedup"] = speedup
        print(
            f"{args.workers} workers vs 1: {speedup:.2f}x"
            f" (target >= {TARGET_SPEEDUP}x: {verdict(speedup, TARGET_SPEEDUP)})"
        )
        one, many = batch_rates[0], batch_rates[1]
        if one.cpu_seconds and many.cpu_seconds:
            per_cpu = (many.trials / many.cpu_seconds) / (one.trials / one.cpu_seconds)
            results["per_cpu_second_ratio"] = per_cpu
            print(
                f"  trials per worker-CPU-second, {args.workers} workers vs 1: {per_cpu:.2f}"
                f" (1.00 = no parallel overhead); cores the workers got:"
                f" {one.cores_used:.2f} vs {many.cores_used:.2f}"
            )
    rss = results["peak_rss_mb"]
    print(f"load average (1 min) at the end: {results['load_at_end']:.2f}")
    print(
        f"peak RSS: this process {rss['self_mb']:.0f} MB;"
        f" largest worker process {rss['largest_child_mb']:.0f} MB"
    )
    for n, mb in results.get("memory_by_size_mb", {}).items():
        print(f"peak RSS of a whole `eligibility batch` (in process) over {n} trials: {mb:.0f} MB")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evaluation.bench", description=__doc__)
    p.add_argument("--limit", type=int, help="use the first N texts only")
    p.add_argument(
        "--synthetic", type=int, default=2000, help="records in the synthetic batch (default 2000)"
    )
    p.add_argument(
        "--workers", type=int, default=2, help="compare 1 with N worker processes (0: skip)"
    )
    p.add_argument(
        "--memory-sizes", help="comma-separated input sizes for whole-run peak RSS, e.g. 1000,10000"
    )
    p.add_argument(
        "--repeat", type=int, default=3, help="interleaved passes; the fastest counts (default 3)"
    )
    p.add_argument("--profile", action="store_true", help="print a cProfile of the pipeline")
    p.add_argument("--json", help="also write the figures as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
