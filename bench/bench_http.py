"""Load test of the HTTP service: POST /ask on loopback with wrk, 1 worker vs 2 workers.

Usage::

    python bench/bench_http.py [--duration 30] [--concurrency 1,8,32] [--workers 1,2]
                               [--embed-threads 0] [--index DIR] [--json PATH]

1. Index: ingests ``seeds/`` into a temporary index with ``qa ingest`` (or uses ``--index``).
2. For each setting (every ``--workers`` with every ``--embed-threads``, the latter passed as
   ``QA_EMBED_THREADS``; 0 is the default, which follows the load): starts
   ``qa serve --workers N`` on a free port of 127.0.0.1, waits for ``/readyz`` 200 and for every
   worker's start-up, warms up with a short wrk run, then times 50 sequential requests with
   httpx (the one-shot baseline, concurrency 1). Interleaved with them, in this process on a
   copy of the index, the floor: what no answer can skip, the query embedding at its fastest
   (every core, nothing else running) plus the reader scoring that question's candidates.
3. Load: runs wrk once per concurrency (``--timeout 10s --latency``) with ``bench/http_ask.lua``,
   which POSTs the questions of ``bench/questions.txt`` in turn, and reports req/s, p50/p95/p99
   latency and errors (socket errors + non-2xx + timeouts), plus the CPU used by the server, by
   wrk and by the whole machine during the run.
4. Ratios: the one-shot median against the floor's median, and the throughput of each setting
   against the first one, per concurrency.

Needs ``wrk`` on PATH. See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from benchlib import (
    QUESTIONS_FILE,
    cli_module,
    load_questions,
    log,
    percentile,
    reader_inputs,
    worktree,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "http_ask.lua"
HOST = "127.0.0.1"
WRK_TIMEOUT = "10s"
BASELINE_REQUESTS = 50
WRK_MISSING = "wrk not found: install it with `apt-get install wrk` (Debian/Ubuntu)"
RESULT_LINE = re.compile(r"^qa-bench-result (?P<fields>.+)$", re.MULTILINE)
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class BenchError(Exception):
    """A step failed; the message says which and what the server or wrk printed."""


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far: the server's process tree, reaped children (wrk), the whole host."""

    server_s: float | None
    children_s: float
    host_busy_s: float | None


@dataclass
class LoadRun:
    workers: int
    concurrency: int
    wrk_threads: int
    duration_s: float
    requests: int
    rps: float
    ok_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    errors_by_kind: dict[str, int]
    server_statuses: dict[str, int]
    server_cores: float | None
    wrk_cores: float
    host_busy_cores: float | None
    wrk_output: str = field(repr=False)

    @property
    def other_cores(self) -> float | None:
        """Busy cores that were neither the server nor wrk: other work on a shared machine."""
        if self.host_busy_cores is None or self.server_cores is None:
            return None
        return max(0.0, self.host_busy_cores - self.server_cores - self.wrk_cores)


@dataclass
class Baseline:
    workers: int
    requests: int
    median_ms: float
    min_ms: float
    max_ms: float
    non_2xx: int
    floor_median_ms: float | None = None
    floor_p95_ms: float | None = None

    @property
    def floor_ratio(self) -> float | None:
        if not self.floor_median_ms:
            return None
        return self.median_ms / self.floor_median_ms


@dataclass(frozen=True)
class Setting:
    """One server configuration under test: this checkout's code, or ``ref``'s (checked out
    at ``code``) with its own defaults."""

    workers: int
    embed_threads: int | None
    ref: str | None = None
    code: Path | None = None

    @property
    def threads_label(self) -> str:
        if self.embed_threads is None:
            return "dflt"
        return "auto" if self.embed_threads == 0 else str(self.embed_threads)

    @property
    def label(self) -> str:
        if self.ref is not None:
            return f"commit {self.ref}, workers {self.workers}"
        return f"workers {self.workers}, embed threads {self.threads_label}"


@dataclass
class WorkerResult:
    setting: Setting
    startup_s: float
    warmup: LoadRun
    baseline: Baseline
    runs: list[LoadRun]


def int_list(text: str, least: int = 1) -> list[int]:
    """``"1,8,32"`` -> ``[1, 8, 32]``, each at least ``least`` (argparse type)."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, not {text!r}"
        ) from None
    if not values or any(v < least for v in values):
        raise argparse.ArgumentTypeError(f"expected integers of at least {least}, not {text!r}")
    return values


def nonnegative_int_list(text: str) -> list[int]:
    """``"0,1"`` -> ``[0, 1]`` (argparse type)."""
    return int_list(text, least=0)


def qa_command() -> list[str]:
    """The ``qa`` script of this interpreter's environment, else the module."""
    script = Path(sys.executable).with_name("qa")
    return [str(script)] if script.exists() else [sys.executable, "-m", "service.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def service_env(index_dir: Path, embed_threads: int | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if embed_threads is not None:
        env["QA_EMBED_THREADS"] = str(embed_threads)
    env.update(
        QA_INDEX_DIR=str(index_dir),
        QA_CORPUS_DIR=str(SEEDS_DIR),
        # Override any key in .env: wrk sends no Authorization header.
        QA_API_KEY="",
        # The default level: one JSON log line per request, as deployed; also read back below.
        QA_LOG_LEVEL="info",
        ANONYMIZED_TELEMETRY="False",
    )
    return env


def ingest(index_dir: Path) -> float:
    log(f"Ingesting {SEEDS_DIR} into {index_dir} ...")
    started = time.perf_counter()
    done = subprocess.run(
        [*qa_command(), "ingest", str(SEEDS_DIR), "--json"],
        env=service_env(index_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"qa ingest failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


# --- CPU accounting (Linux /proc; None elsewhere) -------------------------------------------


def _proc_cpu_s(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) of one process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its closing one.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(root: int) -> float | None:
    """CPU seconds of ``root`` and its descendants (uvicorn's workers are child processes)."""
    if not Path("/proc").is_dir():
        return None
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _proc_cpu_s(int(entry.name))
            if info is not None:
                table[int(entry.name)] = info
    if root not in table:
        return None
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in table.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(table[pid][1] for pid in tree)


def host_busy_s() -> float | None:
    """Busy CPU seconds of all cores together, from /proc/stat.

    user + nice + system + irq + softirq: not idle or iowait, nor steal (time the hypervisor
    gave to other machines, which is no work of this one).
    """
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in first[1:8])
    return (user + nice + system + irq + softirq) / CLK_TCK


def cpu_snapshot(server_pid: int) -> CpuSnapshot:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSnapshot(tree_cpu_s(server_pid), usage.ru_utime + usage.ru_stime, host_busy_s())


# --- the server -------------------------------------------------------------------------------


class Server:
    """``qa serve`` as a subprocess in its own process group, its log in a file."""

    def __init__(self, index_dir: Path, setting: Setting, log_path: Path) -> None:
        self.setting = setting
        self.workers = workers = setting.workers
        self.port = free_port()
        self.log_path = log_path
        self.url = f"http://{HOST}:{self.port}"
        self._log = log_path.open("wb")
        env = service_env(index_dir, setting.embed_threads)
        command = qa_command()
        if setting.code is not None:  # another commit's package, not the installed one
            env["PYTHONPATH"] = str(setting.code)
            command = [sys.executable, "-m", cli_module(setting.code)]
        # Own session: a Ctrl-C in the terminal reaches only this script, which then stops the
        # server itself (gracefully) in its finally block.
        self.process = subprocess.Popen(
            [
                *command,
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=setting.code or REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def wait_ready(self, timeout_s: float) -> float:
        """Seconds until /readyz is 200 and every worker logged its start-up.

        /readyz alone is not enough with several workers: the first one ready answers it while
        the others may still be loading their engine (they accept nothing until then).
        """
        started = time.perf_counter()
        deadline = started + timeout_s
        ready = False
        with httpx.Client(timeout=5.0) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise BenchError(
                        f"qa serve exited with {self.process.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                if not ready:
                    with suppress(httpx.TransportError):
                        ready = client.get(f"{self.url}/readyz").status_code == 200
                if ready and self._startups() >= self.workers:
                    return time.perf_counter() - started
                time.sleep(0.2)
        raise BenchError(
            f"qa serve was not ready within {timeout_s:.0f} s (readyz 200: {ready}, workers "
            f"started: {self._startups()}/{self.workers}):\n{self.log_tail()}"
        )

    def _startups(self) -> int:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return text.count("Application startup complete.")

    def statuses_since(self, offset: int) -> Counter[int]:
        """HTTP statuses of the /ask requests the service logged after byte ``offset``."""
        counts: Counter[int] = Counter()
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if (
                    isinstance(entry, dict)
                    and entry.get("message") == "request"
                    and entry.get("route") == "/ask"
                ):
                    counts[int(entry.get("status", 0))] += 1
        return counts

    def stop(self) -> None:
        """SIGINT (uvicorn's graceful shutdown, as Ctrl-C), then SIGKILL of the group if stuck."""
        if self.process.poll() is None:
            try:
                self.process.send_signal(signal.SIGINT)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log(f"qa serve (pid {self.process.pid}) did not stop in 20 s: killing its group")
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def running_server(index_dir: Path, setting: Setting, log_path: Path) -> Iterator[Server]:
    server = Server(index_dir, setting, log_path)
    try:
        yield server
    finally:
        server.stop()


# --- load -------------------------------------------------------------------------------------


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout + done.stderr + "\n").splitlines()[0]
    return first.split(" Copyright")[0].strip()


def write_bodies(questions: Sequence[str], path: Path) -> None:
    """One JSON body per line, for http_ask.lua: json.dumps escapes what Lua would not."""
    lines = (json.dumps({"question": q}, ensure_ascii=True) for q in questions)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wrk_threads_for(concurrency: int, wanted: int) -> int:
    """wrk needs at least one connection per thread and splits them evenly (it drops the rest)."""
    threads = max(1, min(wanted, concurrency))
    return threads if concurrency % threads == 0 else 1


def parse_wrk(output: str) -> dict[str, float]:
    match = RESULT_LINE.search(output)
    if match is None:
        raise BenchError(f"wrk printed no 'qa-bench-result' line:\n{output}")
    values: dict[str, float] = {}
    for pair in match.group("fields").split():
        key, _, value = pair.partition("=")
        values[key] = float(value)
    return values


def wait_until_idle(server: Server, timeout_s: float = 15.0) -> None:
    """Wait for the server to finish what wrk left queued when it stopped.

    wrk closes its connections at the end of a run, but the asks already handed to the thread
    pool still run (up to one per connection): without this, the next measurement would start
    behind them.
    """
    deadline = time.monotonic() + timeout_s
    last = tree_cpu_s(server.process.pid)
    if last is None:
        time.sleep(2.0)
        return
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = tree_cpu_s(server.process.pid)
        if now is None or now - last < 0.05:  # under 10 % of a core: idle
            return
        last = now


def run_wrk(
    wrk: str,
    server: Server,
    bodies: Path,
    concurrency: int,
    duration_s: int,
    threads: int,
) -> LoadRun:
    threads = wrk_threads_for(concurrency, threads)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{duration_s}s",
        "--timeout",
        WRK_TIMEOUT,
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        server.url,
        "--",
        str(bodies),
    ]
    log_offset = server.log_size()
    before = cpu_snapshot(server.process.pid)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = cpu_snapshot(server.process.pid)
    wait_until_idle(server)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise BenchError(f"wrk exited with {done.returncode}:\n{' '.join(command)}\n{output}")
    v = parse_wrk(output)
    seconds = v["duration_us"] / 1e6
    kinds = {k: int(v[k]) for k in ("connect", "read", "write", "timeout", "status")}
    requests = int(v["requests"])

    def cores(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else (b - a) / wall

    return LoadRun(
        workers=server.workers,
        concurrency=concurrency,
        wrk_threads=threads,
        duration_s=round(seconds, 3),
        requests=requests,
        rps=requests / seconds if seconds else 0.0,
        # wrk's requests include non-2xx answers; ok_rps leaves them out.
        ok_rps=(requests - kinds["status"]) / seconds if seconds else 0.0,
        p50_ms=v["p50_us"] / 1000.0,
        p95_ms=v["p95_us"] / 1000.0,
        p99_ms=v["p99_us"] / 1000.0,
        mean_ms=v["mean_us"] / 1000.0,
        max_ms=v["max_us"] / 1000.0,
        errors=sum(kinds.values()),
        errors_by_kind=kinds,
        server_statuses={str(k): n for k, n in sorted(server.statuses_since(log_offset).items())},
        server_cores=cores(before.server_s, after.server_s),
        wrk_cores=(after.children_s - before.children_s) / wall,
        host_busy_cores=cores(before.host_busy_s, after.host_busy_s),
        wrk_output=output,
    )


class Floor:
    """What no answer can skip, in this process on its own copy of the index: the query
    embedding at its fastest (every core: the default thread setting with nothing else
    running) plus the reader scoring that question's candidate sentences."""

    def __init__(self, index_dir: Path, questions: Sequence[str], tmp: Path) -> None:
        os.environ["ANONYMIZED_TELEMETRY"] = "False"
        from qa.config import configure_offline_environment, load_settings

        configure_offline_environment()
        from qa.engine import Engine

        copy = tmp / "floor-index"
        shutil.copytree(index_dir, copy)  # two processes never share one embedded index
        settings = load_settings(corpus_dir=SEEDS_DIR, index_dir=copy, embed_threads=0)
        self.engine = Engine.open(settings)
        self.reader, self.candidates = reader_inputs(self.engine, questions)
        for question in questions[:5]:  # warm-up
            self.measure(question)

    def measure(self, question: str) -> float:
        started = time.perf_counter()
        self.engine.embedding.embed_query(question)
        if self.reader is not None:
            self.reader.logits(question, self.candidates[question])
        return (time.perf_counter() - started) * 1000.0


def one_shot_baseline(
    server: Server, questions: Sequence[str], count: int, floor: Floor | None
) -> Baseline:
    """Sequential requests with httpx on one kept-alive connection, timed from the client;
    each one after the floor of its question, so that machine noise hits both alike."""
    times: list[float] = []
    floors: list[float] = []
    non_2xx = 0
    with httpx.Client(base_url=server.url, timeout=10.0) as client:
        for i in range(count):
            question = questions[i % len(questions)]
            if floor is not None:
                floors.append(floor.measure(question))
            started = time.perf_counter()
            response = client.post("/ask", json={"question": question})
            times.append((time.perf_counter() - started) * 1000.0)
            non_2xx += int(not response.is_success)
    return Baseline(
        workers=server.workers,
        requests=count,
        median_ms=statistics.median(times),
        min_ms=min(times),
        max_ms=max(times),
        non_2xx=non_2xx,
        floor_median_ms=statistics.median(floors) if floors else None,
        floor_p95_ms=percentile(floors, 95) if floors else None,
    )


# --- report -----------------------------------------------------------------------------------


def machine_info(wrk: str) -> dict[str, Any]:
    affinity = getattr(os, "sched_getaffinity", None)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(affinity(0)) if affinity is not None else None,
        "wrk": wrk_version(wrk),
    }


def ratios(results: Sequence[WorkerResult]) -> list[dict[str, Any]]:
    """Throughput of each later setting over the first one's, per concurrency."""
    if len(results) < 2:
        return []
    base = {run.concurrency: run for run in results[0].runs}
    rows = []
    for other in results[1:]:
        for run in other.runs:
            ref = base.get(run.concurrency)
            if ref is not None and ref.rps > 0:
                rows.append(
                    {
                        "setting": other.setting.label,
                        "baseline_setting": results[0].setting.label,
                        "concurrency": run.concurrency,
                        "rps_ratio": round(run.rps / ref.rps, 3),
                    }
                )
    return rows


def fmt_cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render_table(result: dict[str, Any], results: Sequence[WorkerResult]) -> str:
    m = result["machine"]
    cfg = result["config"]
    index = result["index"]
    index_line = (
        f"ingested fresh in {index['ingest_s']:.1f} s"
        if index["ingest_s"] is not None
        else f"reused {index['dir']}"
    )
    lines = [
        "qa HTTP benchmark: POST /ask on 127.0.0.1 with wrk",
        "",
        f"machine   python {m['python']} | {m['platform']}",
        f"          cpus {m['cpu_count']} (usable {m['cpus_usable']})",
        f"wrk       {m['wrk']} | up to {cfg['wrk_threads']} thread(s) | --timeout {WRK_TIMEOUT}"
        f" | {cfg['duration_s']} s per run after a {cfg['warmup_s']} s warm-up",
        f"requests  {cfg['questions']} questions from bench/questions.txt, in turn | index "
        f"{index_line}",
        "",
        f"ONE-SHOT BASELINE  httpx, {BASELINE_REQUESTS} sequential requests (concurrency 1);",
        "  floor = query embedding on every core + reader on the candidates, in this process,",
        "  interleaved with the requests; ratio = median / floor median (goal: at most 1.3)",
    ]
    for r in results:
        b = r.baseline
        floor = (
            f"   floor {b.floor_median_ms:6.2f} ms (p95 {b.floor_p95_ms:6.2f})   "
            f"ratio {b.floor_ratio:4.2f}x"
            if b.floor_median_ms is not None and b.floor_p95_ms is not None and b.floor_ratio
            else ""
        )
        lines.append(
            f"  {r.setting.label}: median {b.median_ms:7.2f} ms   min {b.min_ms:7.2f} ms   "
            f"max {b.max_ms:7.2f} ms   non-2xx {b.non_2xx}{floor}"
        )
    lines += [
        "",
        "LOAD  wrk; errors = socket errors + non-2xx + timeouts",
        "      cores = CPU seconds / wall seconds of the run; other = host busy - server - wrk",
        f"  {'workers':>7} {'embed':>5} {'conc':>5} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'p99 ms':>8} {'errors':>7} {'server cores':>13} {'wrk cores':>10} {'host busy':>10}"
        f" {'other':>6}",
    ]
    notes: list[str] = []
    for r in results:
        threads = r.setting.threads_label
        for run in r.runs:
            lines.append(
                f"  {run.workers:>7} {threads:>5} {run.concurrency:>5} {run.rps:>8.1f}"
                f" {run.p50_ms:>8.1f}"
                f" {run.p95_ms:>8.1f} {run.p99_ms:>8.1f} {run.errors:>7}"
                f" {fmt_cores(run.server_cores):>13} {fmt_cores(run.wrk_cores):>10}"
                f" {fmt_cores(run.host_busy_cores):>10} {fmt_cores(run.other_cores):>6}"
            )
            if run.errors or any(s != "200" for s in run.server_statuses):
                kinds = ", ".join(f"{k} {n}" for k, n in run.errors_by_kind.items())
                notes.append(
                    f"  {r.setting.label}, concurrency {run.concurrency}: {kinds}; "
                    f"statuses logged by the service {run.server_statuses}"
                )
    if notes:
        lines += ["", "ERRORS", *notes]
    rows = result["ratios"]
    if rows:
        lines += ["", "RATIO  throughput (req/s) against the first setting, same run"]
        for row in rows:
            lines.append(
                f"  {row['setting']} / {row['baseline_setting']} at concurrency "
                f"{row['concurrency']:>3}: {row['rps_ratio']:.2f}x"
            )
    return "\n".join(lines)


def run_one_setting(
    args: argparse.Namespace,
    wrk: str,
    index_dir: Path,
    bodies: Path,
    questions: Sequence[str],
    setting: Setting,
    floor: Floor | None,
    tmp: Path,
) -> WorkerResult:
    log_path = tmp / f"serve-{setting.ref or 'this'}-{setting.workers}-{setting.threads_label}.log"
    log(f"Starting qa serve, {setting.label} (log: {log_path}) ...")
    with running_server(index_dir, setting, log_path) as server:
        startup_s = server.wait_ready(args.start_timeout)
        log(f"  ready in {startup_s:.1f} s on {server.url}; warm-up {args.warmup} s ...")
        # At the highest concurrency, so that every worker and thread has served requests.
        warmup = run_wrk(wrk, server, bodies, max(args.concurrency), args.warmup, args.wrk_threads)
        if warmup.errors:
            log(f"  warm-up had {warmup.errors} errors: {warmup.errors_by_kind}")
        baseline = one_shot_baseline(server, questions, BASELINE_REQUESTS, floor)
        log(
            f"  one-shot baseline: median {baseline.median_ms:.1f} ms, floor "
            f"{baseline.floor_median_ms or 0:.1f} ms"
        )
        runs = []
        for concurrency in args.concurrency:
            log(f"  wrk: concurrency {concurrency}, {args.duration} s ...")
            run = run_wrk(wrk, server, bodies, concurrency, args.duration, args.wrk_threads)
            log(
                f"    {run.rps:.1f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms, "
                f"errors {run.errors}"
            )
            runs.append(run)
    return WorkerResult(setting, startup_s, warmup, baseline, runs)


def run(args: argparse.Namespace, wrk: str) -> tuple[dict[str, Any], list[WorkerResult]]:
    questions = load_questions()
    if not questions:
        raise BenchError(f"No questions in {QUESTIONS_FILE}")
    with tempfile.TemporaryDirectory(prefix="qa-bench-http-", ignore_cleanup_errors=True) as name:
        tmp = Path(name)
        bodies = tmp / "bodies.jsonl"
        write_bodies(questions, bodies)
        ingest_s: float | None = None
        if args.index is not None:
            index_dir = args.index.resolve()
        else:
            index_dir = tmp / "index"
            ingest_s = ingest(index_dir)
        floor = None if args.no_floor else Floor(index_dir, questions, tmp)
        settings = [Setting(w, t) for w in args.workers for t in args.embed_threads]
        with ExitStack() as stack:
            if args.baseline:
                code = stack.enter_context(worktree(args.baseline))
                settings.insert(0, Setting(args.workers[0], None, args.baseline, code))
            results = [
                run_one_setting(args, wrk, index_dir, bodies, questions, setting, floor, tmp)
                for setting in settings
            ]
    result: dict[str, Any] = {
        "benchmark": "bench_http",
        "machine": machine_info(wrk),
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "embed_threads": args.embed_threads,
            "baseline": args.baseline,
            "wrk_threads": args.wrk_threads,
            "wrk_timeout": WRK_TIMEOUT,
            "questions": len(questions),
        },
        "index": {
            "dir": str(args.index) if args.index else None,
            "ingest_s": None if ingest_s is None else round(ingest_s, 2),
        },
        "results": [
            {
                "setting": r.setting.label,
                "workers": r.setting.workers,
                "embed_threads": r.setting.embed_threads,
                "startup_s": round(r.startup_s, 2),
                "baseline": {**asdict(r.baseline), "floor_ratio": r.baseline.floor_ratio},
                "warmup": _run_dict(r.warmup),
                "runs": [_run_dict(run) for run in r.runs],
            }
            for r in results
        ],
        "ratios": ratios(results),
    }
    return result, results


def _run_dict(run: LoadRun) -> dict[str, Any]:
    data = asdict(run)
    data["other_cores"] = run.other_cores
    for key, value in data.items():
        if isinstance(value, float):
            data[key] = round(value, 3)
    return data


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so that the finally blocks stop the server.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Load test of `qa serve` (POST /ask) on 127.0.0.1 with wrk."
    )
    parser.add_argument(
        "--duration", type=int, default=30, help="seconds of each wrk run (default 30)"
    )
    parser.add_argument(
        "--concurrency",
        type=int_list,
        default=[1, 8, 32],
        help="comma-separated wrk connection counts (default 1,8,32)",
    )
    parser.add_argument(
        "--workers",
        type=int_list,
        default=[1, 2],
        help="comma-separated `qa serve --workers` settings; ratios are against the first "
        "(default 1,2)",
    )
    parser.add_argument(
        "--embed-threads",
        type=nonnegative_int_list,
        default=[0],
        help="comma-separated QA_EMBED_THREADS settings, each with every --workers setting "
        "(default 0: the default, which follows the load)",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="first, serve the code of this git commit (its defaults, the first --workers "
        "setting), checked out in a temporary worktree: ratios are then against it",
    )
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the in-process floor measurement"
    )
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        choices=(1, 2),
        help="wrk threads (default 1: the server needs the cores more than wrk does)",
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of wrk warm-up per server (default 5)"
    )
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="an index folder of seeds/ to reuse instead of ingesting a fresh one",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the server to be ready (default 120)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 1:
        parser.error("--duration and --warmup must be at least 1")
    if args.index is not None and not args.index.is_dir():
        parser.error(f"--index {args.index} is not a folder")
    wrk = shutil.which("wrk")
    if wrk is None:
        print(WRK_MISSING, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    started = time.perf_counter()
    try:
        result, results = run(args, wrk)
    except BenchError as exc:
        print(f"bench_http failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_http interrupted; the server was stopped.", file=sys.stderr)
        return 130
    result["run_s"] = round(time.perf_counter() - started, 1)
    print(render_table(result, results))
    print(f"\n(run took {result['run_s']:.1f} s)")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        log(f"Wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
