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


class ChromaServer:
    """``with ChromaServer(tmp_path / "chroma") as chroma: ... chroma.url``."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        self.path = path
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = path.with_name(path.name + ".log")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the server and return once its heartbeat answers."""
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
                raise AssertionError(f"chroma run exited: {self.log_path.read_text()}")
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
