"""Ingest throughput and peak memory against corpus size, in one run.

For each N of ``--docs`` (default 100,1000,10000) it writes a synthetic corpus of N documents
(``bench/synth_corpus.py``), runs ``qa ingest --json`` on it into a fresh index as a separate
process (as an ingest job would run), and reports wall time, chunks/s, texts/s and the peak
resident memory of that process (``ru_maxrss`` from ``wait4``). The seeds are ingested first
as the reference row. Indexes and corpora are kept under ``--workdir`` so that
``bench/bench_scale.py`` can measure /ask latency on them without ingesting again.

Example::

    $ python bench/bench_ingest.py --workdir /tmp/qa-scale                # N = 100, 1000, 10000
    $ python bench/bench_ingest.py --workdir /tmp/qa-scale --docs 100 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench"))

from synth_corpus import SEEDS_DIR, write_corpus  # noqa: E402


def ingest(corpus: Path, index: Path, threads: int, batch: int) -> dict[str, float]:
    """`qa ingest --json` into a fresh ``index``; its report, wall seconds and peak RSS."""
    if index.exists():
        shutil.rmtree(index)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        QA_INDEX_DIR=str(index),
        QA_EMBED_THREADS=str(threads),
        QA_EMBED_BATCH_SIZE=str(batch),
        ANONYMIZED_TELEMETRY="False",
        CI="true",
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "ingest", str(corpus), "--json"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    # stderr (progress lines) is drained on a thread so that neither pipe fills up.
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(process.stderr.read()))  # type: ignore[union-attr]
    drain.start()
    out = process.stdout.read()
    drain.join()
    err = "".join(errors)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"qa ingest failed ({process.returncode}): {err}{out}")
    report = json.loads(out)
    return {
        "files": len(report["added"]),
        "chunks": report["chunks_written"],
        "texts": report["texts_embedded"],
        "computed": report["embeddings_computed"],
        "seconds": seconds,
        "ingest_seconds": report["seconds"],
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="corpora and indexes go here")
    parser.add_argument("--docs", default="100,1000,10000", help="comma-separated N")
    parser.add_argument("--threads", type=int, default=2, help="QA_EMBED_THREADS (default 2)")
    parser.add_argument("--batch", type=int, default=16, help="QA_EMBED_BATCH_SIZE (default 16)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(n) for n in args.docs.split(",") if n.strip()]
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_started = time.perf_counter()
    rows: list[dict[str, object]] = []
    for name, corpus in [("seeds", SEEDS_DIR)] + [
        (str(n), args.workdir / f"corpus-{n}") for n in sizes
    ]:
        if name != "seeds" and not corpus.exists():
            write_corpus(corpus, int(name))
        print(f"ingesting {name} ...", file=sys.stderr, flush=True)
        figures = ingest(corpus, args.workdir / f"index-{name}", args.threads, args.batch)
        rows.append({"corpus": name, **figures})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print("qa benchmark: ingest throughput and peak memory against N (bench/bench_ingest.py)")
    print(
        f"machine   python {platform.python_version()} | cpus {os.cpu_count()} | "
        f"embed threads {args.threads} | embed batch {args.batch}"
    )
    print(
        f"{'N docs':>8} {'files':>6} {'chunks':>7} {'texts':>7} {'embedded':>8} "
        f"{'seconds':>8} {'chunks/s':>8} {'texts/s':>8} {'peak RSS MB':>11}"
    )
    for row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        print(
            f"{row['corpus']:>8} {row['files']:>6} {row['chunks']:>7} {row['texts']:>7} "
            f"{row['computed']:>8} {seconds:>8.1f} {float(row['chunks']) / seconds:>8.2f} "  # type: ignore[arg-type]
            f"{float(row['texts']) / seconds:>8.2f} {float(row['peak_rss_mb']):>11.0f}"  # type: ignore[arg-type]
        )
    print(
        "texts = chunks + sentences given a vector; embedded = vectors computed (identical "
        "texts share one); seconds = wall time of the `qa ingest` process, start-up included"
    )
    print(f"(run took {time.perf_counter() - run_started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
