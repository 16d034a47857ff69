"""Benchmark: seed ingest, ask latency per stage, and the floor (embedding + reader), in one run.

Usage::

    python bench/bench_ask.py [--repeat N] [--json] [--baseline REF]

1. Ingest: copies ``seeds/`` into a fresh temporary folder, opens an engine on it with its own
   index, and times a cold ``engine.ingest()`` (everything embedded) and a warm one (nothing
   changed).
2. Ask: after 5 warm-up asks, asks every question in ``bench/questions.txt`` ``--repeat`` times
   and reports the median and p95 of ``answer.timings_ms`` (embed, retrieve, answer, total).
3. Floor: what no answer can skip: the query embedding (``engine.embedding.embed_query(q)``)
   plus the reader on that question's candidate sentences (``reader.logits``), for the same
   questions and repeats, interleaved with the asks so that machine noise hits both alike.
4. Ratio: ask total / floor, median over median and p95 over p95; the goal is a median ratio of
   at most 1.3. It is reported, never asserted: the exit status does not depend on it.
5. ``--baseline REF``: first runs this benchmark as it was at git commit REF (checked out in a
   temporary worktree, its own ``qa`` package), then this code, and prints this / baseline for
   the ask total and the floor: the floor's ratio shows how much the machine drifted between.

See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.engine import Engine

from benchlib import QUESTIONS_FILE, load_questions, log, percentile, reader_inputs, worktree

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
WARMUP_ASKS = 5
GOAL_RATIO = 1.3
STAGES = ("embed", "retrieve", "answer", "total")


@dataclass(frozen=True)
class Summary:
    """Distribution of one series of timings, in milliseconds."""

    n: int
    median: float
    p95: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("no samples")
        return cls(
            n=len(values),
            median=statistics.median(values),
            p95=percentile(values, 95.0),
            minimum=min(values),
            maximum=max(values),
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "median_ms": round(self.median, 3),
            "p95_ms": round(self.p95, 3),
            "min_ms": round(self.minimum, 3),
            "max_ms": round(self.maximum, 3),
        }


@dataclass
class IngestFigures:
    open_s: float = 0.0
    cold_s: float = 0.0
    warm_s: float = 0.0
    cold_texts_embedded: int = 0
    warm_texts_embedded: int = 0
    cold_chunks_written: int = 0
    files: int = 0
    chunk_count: int = 0


@dataclass
class Samples:
    """Raw per-call timings in milliseconds."""

    stages: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STAGES})
    ask_wall: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    answered: int = 0
    asks: int = 0


def open_engine(corpus: Path, index: Path) -> tuple[Engine, float]:
    """Open an engine on ``corpus`` with its own ``index``; import qa only now (offline env)."""
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    from qa.config import configure_offline_environment, load_settings

    configure_offline_environment()
    from qa.engine import Engine

    settings = load_settings(corpus_dir=corpus, index_dir=index)
    started = time.perf_counter()
    engine = Engine.open(settings)
    return engine, time.perf_counter() - started


def bench_ingest(engine: Engine, figures: IngestFigures) -> None:
    started = time.perf_counter()
    cold = engine.ingest()
    figures.cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = engine.ingest()
    figures.warm_s = time.perf_counter() - started
    figures.cold_texts_embedded = cold.texts_embedded
    figures.warm_texts_embedded = warm.texts_embedded
    figures.cold_chunks_written = cold.chunks_written
    figures.files = len(cold.added) + len(cold.updated) + len(cold.repaired) + len(cold.unchanged)
    figures.chunk_count = engine.chunk_count


def bench_queries(engine: Engine, questions: Sequence[str], repeat: int) -> Samples:
    """Asks and bare query embeddings, interleaved per question.

    Within each round the order of the two calls alternates (floor first on even rounds, ask
    first on odd ones) so that neither consistently runs on a cache the other just warmed.
    """
    samples = Samples()
    reader, candidates = reader_inputs(engine, questions)
    for question in list(questions)[:WARMUP_ASKS]:
        engine.ask(question)
        engine.embedding.embed_query(question)

    def ask(question: str) -> None:
        started = time.perf_counter()
        answer = engine.ask(question)
        samples.ask_wall.append((time.perf_counter() - started) * 1000.0)
        timings = answer.timings_ms
        samples.stages["embed"].append(timings.embed)
        samples.stages["retrieve"].append(timings.retrieve)
        samples.stages["answer"].append(timings.answer)
        samples.stages["total"].append(timings.total)
        samples.asks += 1
        samples.answered += int(answer.answered)

    def floor(question: str) -> None:
        started = time.perf_counter()
        engine.embedding.embed_query(question)
        if reader is not None:
            reader.logits(question, candidates[question])
        samples.floor.append((time.perf_counter() - started) * 1000.0)

    for round_no in range(repeat):
        calls: tuple[Callable[[str], None], ...] = (
            (floor, ask) if round_no % 2 == 0 else (ask, floor)
        )
        for question in questions:
            for call in calls:
                call(question)
    return samples


def machine_info(engine: Engine) -> dict[str, Any]:
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity is not None else None,
        "embed_backend": engine.settings.embed_backend,
        "embedding_model_id": engine.embedding.model_id,
        "embed_threads": engine.settings.embed_threads,
        "embed_batch_size": engine.settings.embed_batch_size,
        "top_k": engine.settings.top_k,
        "reader_candidates": getattr(engine.answerers.get("extractive"), "candidate_count", None),
    }


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def render_table(result: dict[str, Any]) -> str:
    ing = result["ingest"]
    machine = result["machine"]
    ask = result["ask"]
    lines = [
        "qa benchmark: seed ingest, ask latency, floor (query embedding + reader)",
        "",
        f"machine   python {machine['python']} | {machine['platform']}",
        f"          cpus {machine['cpu_count']} (usable {machine['cpus_usable']}) | "
        f"embed threads {machine['embed_threads']} | top_k {machine['top_k']}",
        f"model     {machine['embedding_model_id']} ({machine['embed_backend']})",
        "",
        "INGEST (seeds/, fresh index)            seconds   texts embedded",
        f"  engine open (model + index load)   {ing['engine_open_s']:10.3f}",
        f"  cold ingest (everything embedded)  {ing['cold_s']:10.3f}   "
        f"{ing['cold_texts_embedded']:>14}",
        f"  warm ingest (nothing changed)      {ing['warm_s']:10.3f}   "
        f"{ing['warm_texts_embedded']:>14}",
        f"  files {ing['files']}, chunks written {ing['cold_chunks_written']}, "
        f"chunks in index {ing['chunk_count']}",
        "",
        f"ASK LATENCY  {result['questions']} questions x {result['repeat']} repeats "
        f"after {result['warmup_asks']} warm-up asks; answered {ask['answered']}/{ask['asks']}",
        f"  {'stage':<36}{'median ms':>10}{'p95 ms':>10}{'min ms':>10}{'max ms':>10}",
    ]
    rows: list[tuple[str, dict[str, float]]] = [
        (f"ask.{stage}", ask["timings_ms"][stage]) for stage in STAGES
    ]
    rows.append(("ask wall (perf_counter around ask)", ask["wall_ms"]))
    rows.append(("FLOOR embed_query + reader", result["floor_ms"]))
    for name, s in rows:
        lines.append(
            f"  {name:<36}{s['median_ms']:>10.2f}{s['p95_ms']:>10.2f}"
            f"{s['min_ms']:>10.2f}{s['max_ms']:>10.2f}"
        )
    r = result["ratio"]
    verdict = "HOLDS" if r["goal_met"] else "DOES NOT HOLD"
    lines += [
        "",
        "RATIO  ask total / floor",
        f"  median / median   {fmt_ratio(r['median'])}",
        f"  p95 / p95         {fmt_ratio(r['p95'])}",
        f"  goal: ask median within {GOAL_RATIO}x of the floor -> {verdict}",
    ]
    return "\n".join(lines)


def run(repeat: int) -> dict[str, Any]:
    questions = load_questions()
    if not questions:
        raise SystemExit(f"No questions in {QUESTIONS_FILE}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-", ignore_cleanup_errors=True) as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        shutil.copytree(SEEDS_DIR, corpus)
        log(f"Opening engine on a copy of {SEEDS_DIR} in {tmp} ...")
        engine, open_s = open_engine(corpus, tmp / "index")
        figures = IngestFigures(open_s=open_s)
        log("Ingesting (cold, then warm) ...")
        bench_ingest(engine, figures)
        log(f"Asking {len(questions)} questions x {repeat} (and embedding them alone) ...")
        started = time.perf_counter()
        samples = bench_queries(engine, questions, repeat)
        query_s = time.perf_counter() - started
        info = machine_info(engine)

    stages = {stage: Summary.of(samples.stages[stage]) for stage in STAGES}
    floor = Summary.of(samples.floor)
    median_ratio = ratio(stages["total"].median, floor.median)
    p95_ratio = ratio(stages["total"].p95, floor.p95)
    return {
        "benchmark": "bench_ask",
        "machine": info,
        "questions": len(questions),
        "repeat": repeat,
        "warmup_asks": WARMUP_ASKS,
        "ingest": {
            "engine_open_s": round(figures.open_s, 4),
            "cold_s": round(figures.cold_s, 4),
            "warm_s": round(figures.warm_s, 4),
            "cold_texts_embedded": figures.cold_texts_embedded,
            "warm_texts_embedded": figures.warm_texts_embedded,
            "cold_chunks_written": figures.cold_chunks_written,
            "files": figures.files,
            "chunk_count": figures.chunk_count,
        },
        "ask": {
            "asks": samples.asks,
            "answered": samples.answered,
            "timings_ms": {stage: stages[stage].to_dict() for stage in STAGES},
            "wall_ms": Summary.of(samples.ask_wall).to_dict(),
        },
        "floor_ms": floor.to_dict(),
        "ratio": {
            "median": None if median_ratio is None else round(median_ratio, 3),
            "p95": None if p95_ratio is None else round(p95_ratio, 3),
            "goal": GOAL_RATIO,
            "goal_met": median_ratio is not None and median_ratio <= GOAL_RATIO,
        },
        "query_phase_s": round(query_s, 3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Seed ingest time, ask latency per stage and the floor (embedding + reader)."
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="times each question is asked (default 3)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the table"
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="also run this benchmark as it was at git commit REF"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    started = time.perf_counter()
    # The baseline first, so that the measured code never runs on a warmer cache.
    baseline = run_baseline(args.baseline, args.repeat) if args.baseline else None
    result = run(args.repeat)
    if baseline is not None:
        result["baseline"] = {"ref": args.baseline, "result": baseline} | against(result, baseline)
    result["run_s"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(render_table(result))
        if baseline is not None:
            print(render_baseline(result["baseline"]))
        print(f"\n(run took {result['run_s']:.1f} s)")
    return 0


def run_baseline(ref: str, repeat: int) -> dict[str, Any]:
    """This benchmark's JSON result at commit ``ref``, run with that commit's ``qa``."""
    log(f"Running bench_ask at {ref} (baseline) ...")
    with worktree(ref) as code:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
        env["PYTHONPATH"] = str(code)  # the package of that commit, not the installed one
        command = [sys.executable, str(code / "bench" / "bench_ask.py"), "--json"]
        done = subprocess.run(
            [*command, "--repeat", str(repeat)],
            env=env,
            cwd=code,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def against(result: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """This run over the baseline's: the ask total and the floor, median and p95."""
    this_total, base_total = (
        result["ask"]["timings_ms"]["total"],
        baseline["ask"]["timings_ms"]["total"],
    )
    this_floor, base_floor = result["floor_ms"], baseline["floor_ms"]
    return {
        "total_ratio": {
            q: ratio(this_total[f"{q}_ms"], base_total[f"{q}_ms"]) for q in ("median", "p95")
        },
        "floor_ratio": {
            q: ratio(this_floor[f"{q}_ms"], base_floor[f"{q}_ms"]) for q in ("median", "p95")
        },
        "answered": {"this": result["ask"]["answered"], "baseline": baseline["ask"]["answered"]},
    }


def render_baseline(compared: dict[str, Any]) -> str:
    base = compared["result"]
    total, floor = base["ask"]["timings_ms"]["total"], base["floor_ms"]
    return "\n".join(
        [
            "",
            f"BASELINE  commit {compared['ref']}, same run (before this one)",
            f"  ask total   median {total['median_ms']:.2f} ms, p95 {total['p95_ms']:.2f} ms",
            f"  floor       median {floor['median_ms']:.2f} ms, p95 {floor['p95_ms']:.2f} ms",
            f"  answered    {compared['answered']['baseline']} (this run: "
            f"{compared['answered']['this']})",
            "RATIO  this / baseline",
            f"  ask total   median {fmt_ratio(compared['total_ratio']['median'])}, "
            f"p95 {fmt_ratio(compared['total_ratio']['p95'])}",
            f"  floor       median {fmt_ratio(compared['floor_ratio']['median'])}, "
            f"p95 {fmt_ratio(compared['floor_ratio']['p95'])}  (the machine's drift)",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
