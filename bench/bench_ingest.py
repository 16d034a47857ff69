"""Ingest throughput and peak memory against corpus size, in one run.

For each N of ``--docs`` (default 100,1000,10000) it writes a synthetic corpus of N documents
(``bench/synth_corpus.py``), runs ``qa ingest --json`` on it into a fresh index as a separate
process (as an ingest job would run), and reports wall time, chunks/s, texts/s and the peak
resident memory of that process (``ru_maxrss`` from ``wait4``). The seeds are ingested first
as the reference row. Indexes and corpora are kept under ``--workdir`` so that
``bench/bench_scale.py`` can measure /ask latency on them without ingesting again.

``--baseline REF`` also ingests every corpus with the code of git commit REF (checked out in a
temporary worktree, run with the same Python), so that the ratio of chunks/s against it comes
from the same run on the same machine. ``--baseline-env`` sets that run's ``QA_*`` variables
(by default ``QA_EMBED_THREADS=2 QA_EMBED_BATCH_SIZE=16``, how the earlier figures were taken).

Example::

    $ python bench/bench_ingest.py --workdir /tmp/qa-scale                # N = 100, 1000, 10000
    $ python bench/bench_ingest.py --workdir /tmp/qa-scale --docs 1000 --baseline 6ad2ad1
    $ python bench/bench_ingest.py --workdir /tmp/qa-scale --docs 100 --env QA_EMBED_THREADS=1
"""

from __future__ import annotations

import argparse
import contextlib
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

from benchlib import cli_module, worktree  # noqa: E402
from synth_corpus import SEEDS_DIR, write_corpus  # noqa: E402


def env_pairs(text: str) -> dict[str, str]:
    """``"QA_A=1 QA_B=2"`` -> ``{"QA_A": "1", "QA_B": "2"}``."""
    pairs = dict(part.split("=", 1) for part in text.split() if "=" in part)
    bad = [name for name in pairs if not name.startswith("QA_")]
    if bad or len(pairs) != len(text.split()):
        raise SystemExit(f"expected QA_NAME=value pairs separated by spaces, not {text!r}")
    return pairs


def ingest(
    corpus: Path, index: Path, settings: dict[str, str], code: Path = REPO_ROOT
) -> dict[str, float]:
    """`qa ingest --json` (the ``qa`` package under ``code``) into a fresh ``index``; its
    report, wall seconds and peak RSS."""
    if index.exists():
        shutil.rmtree(index)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(settings)
    env.update(
        QA_INDEX_DIR=str(index),
        ANONYMIZED_TELEMETRY="False",
        CI="true",
        PYTHONPATH=str(code),  # the package of that commit, not the installed one
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", cli_module(code), "ingest", str(corpus), "--json"],
        env=env,
        cwd=code,
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


def row_line(name: str, label: str, row: dict[str, float]) -> str:
    seconds = row["seconds"]
    return (
        f"{name:>8} {label:>9} {row['files']:>6.0f} {row['chunks']:>7.0f} {row['texts']:>7.0f} "
        f"{row['computed']:>8.0f} {seconds:>8.1f} {row['chunks'] / seconds:>8.2f} "
        f"{row['texts'] / seconds:>8.2f} {row['peak_rss_mb']:>11.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="corpora and indexes go here")
    parser.add_argument("--docs", default="100,1000,10000", help="comma-separated N")
    parser.add_argument(
        "--env", default="", help="QA_* settings of the measured run, e.g. 'QA_EMBED_THREADS=1'"
    )
    parser.add_argument(
        "--baseline", metavar="REF", help="also ingest with the code of this commit"
    )
    parser.add_argument(
        "--baseline-env",
        default="QA_EMBED_THREADS=2 QA_EMBED_BATCH_SIZE=16",
        help="QA_* settings of the baseline run (default: %(default)s)",
    )
    parser.add_argument("--no-seeds", action="store_true", help="skip the seeds' reference row")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(n) for n in args.docs.split(",") if n.strip()]
    measured_env, baseline_env = env_pairs(args.env), env_pairs(args.baseline_env)
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_started = time.perf_counter()
    corpora = [] if args.no_seeds else [("seeds", SEEDS_DIR)]
    corpora += [(str(n), args.workdir / f"corpus-{n}") for n in sizes]
    rows: list[dict[str, object]] = []
    with contextlib.ExitStack() as stack:
        baseline = stack.enter_context(worktree(args.baseline)) if args.baseline else None
        for name, corpus in corpora:
            if name != "seeds" and not corpus.exists():
                write_corpus(corpus, int(name))
            runs: list[tuple[str, dict[str, str], Path]] = []
            if baseline is not None:  # first, so the measured code never runs on a warmer cache
                runs.append(("baseline", baseline_env, baseline))
            runs.append(("this", measured_env, REPO_ROOT))
            for label, settings, code in runs:
                print(f"ingesting {name} ({label}) ...", file=sys.stderr, flush=True)
                index = (
                    args.workdir / f"index-{name}"
                    if label == "this"
                    else args.workdir / (f"index-{name}-baseline")
                )
                figures = ingest(corpus, index, settings, code)
                rows.append({"corpus": name, "code": label, **figures})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print("qa benchmark: ingest throughput and peak memory against N (bench/bench_ingest.py)")
    print(
        f"machine   python {platform.python_version()} | cpus {os.cpu_count()} | "
        f"this: {args.env or 'default settings'}"
        + (f" | baseline: commit {args.baseline}, {args.baseline_env}" if args.baseline else "")
    )
    print(
        f"{'N docs':>8} {'code':>9} {'files':>6} {'chunks':>7} {'texts':>7} {'embedded':>8} "
        f"{'seconds':>8} {'chunks/s':>8} {'texts/s':>8} {'peak RSS MB':>11}"
    )
    for row in rows:
        print(row_line(str(row["corpus"]), str(row["code"]), row))  # type: ignore[arg-type]
    print(
        "texts = chunks + sentences given a vector; embedded = vectors computed (identical "
        "texts share one); seconds = wall time of the `qa ingest` process, start-up included"
    )
    if args.baseline:
        print(f"RATIO this / baseline (commit {args.baseline}), same run:")
        for name, _ in corpora:
            this = next(r for r in rows if r["corpus"] == name and r["code"] == "this")
            base = next(r for r in rows if r["corpus"] == name and r["code"] == "baseline")
            speed = (this["chunks"] / this["seconds"]) / (base["chunks"] / base["seconds"])  # type: ignore[operator]
            memory = this["peak_rss_mb"] / base["peak_rss_mb"]  # type: ignore[operator]
            print(f"{name:>8}  chunks/s {speed:5.2f}x   peak RSS {memory:5.2f}x")
    print(f"(run took {time.perf_counter() - run_started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
