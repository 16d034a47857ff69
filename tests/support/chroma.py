"""A real Chroma server for tests: `chroma run --path DIR --host 127.0.0.1 --port P`, the CLI
that ships with the chromadb package, stopped and started again on the same folder and port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.processes import stop

#: A two-file corpus for store and server tests: small, and each file answers its own question.
TWO_FILES = {
    "alpha.txt": (
        "The crew of Alpha Station launched from Baikonur on a Tuesday in early October.\n"
        "They will stay on board for twelve days and film several scenes.\n"
    ),
    "beta.md": (
        "Beta is a rival project planned in the United States with a famous actor.\n"
        "Its launch date has not been set yet.\n"
    ),
}


def write_corpus(root: Path, files: dict[str, str] = TWO_FILES) -> Path:
    """``files`` written into a new folder ``root``; a name may hold subfolders."""
    root.mkdir()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ExitedEarly(AssertionError):
    """``chroma run`` ended before its heartbeat answered (its port taken, say)."""


def _listens(process: subprocess.Popen[bytes] | None, port: int) -> bool:
    """Whether ``process`` holds the socket listening on ``port`` (read from /proc; where
    there is no /proc, assumed)."""
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if process is None or not tables[0].exists():
        return process is not None
    inodes = {
        fields[9]
        for table in tables
        if table.exists()
        for fields in (line.split() for line in table.read_text().splitlines()[1:])
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port
    }
    try:
        fds = os.listdir(f"/proc/{process.pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{process.pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def _wait_stopped(pid: int, timeout_s: float = 30.0) -> None:
    """Return once every thread of ``pid`` is stopped. SIGSTOP takes effect asynchronously:
    on a loaded host a request sent just after it was seen answered. Where there is no /proc,
    a short wait stands in."""
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.exists():
        time.sleep(0.5)
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = []
        for stat in tasks.glob("*/stat"):
            try:
                # The state follows the command name, which is in parentheses.
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
            except (OSError, IndexError):
                continue  # a thread that ended meanwhile
        # Stopped (T, t) or already dead (Z, X): none of them can answer a request.
        if states and all(state in ("T", "t", "Z", "X") for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"chroma run (pid {pid}) did not stop within {timeout_s} s of SIGSTOP")


class ChromaServer:
    """``with ChromaServer(tmp_path / "chroma") as chroma: ... chroma.url``."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self._auto_port = port is None
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = path.with_name(path.name + ".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and return once its heartbeat answers.

        A port picked free can be picked by another test process too before either binds it;
        then the heartbeat may come from the other's server. A free port is picked again
        until the server listening is this one's process (a restart keeps its port)."""
        may_move = self._auto_port and self.process is None
        for _ in range(5):
            try:
                self._start_once(timeout_s)
            except ExitedEarly:
                if not may_move:
                    raise
            else:
                if _listens(self.process, self.port):
                    return
                self.stop()
                if not may_move:
                    raise AssertionError(f"another process answers on port {self.port}")
            self.port = _free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise AssertionError(f"chroma run could not start on any port tried: {self.log_path}")

    def _start_once(self, timeout_s: float) -> None:
        chroma = Path(sys.executable).with_name("chroma")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(chroma), "run", "--path", str(self.path), *self._address()],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ExitedEarly(f"chroma run exited: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"chroma run did not answer: {self.log_path.read_text()}")

    def _address(self) -> list[str]:
        return ["--host", "127.0.0.1", "--port", str(self.port)]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait until its port is closed."""
        if self.process is not None:
            stop(self.process, timeout_s=15)

    @contextmanager
    def hung(self) -> Iterator[None]:
        """The server stopped with SIGSTOP: its port still accepts connections (the kernel
        queues them) but nothing answers, as with a server stuck or a host overloaded."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        try:
            _wait_stopped(self.process.pid)
            yield
        finally:
            self.resume()

    def resume(self) -> None:
        """Let a server stopped by ``hung`` run again (SIGCONT; harmless if it runs)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> ChromaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
