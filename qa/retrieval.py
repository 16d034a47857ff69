"""The search stage: rankings of the index's chunks for a question, fused by reciprocal rank.

Three ``Retriever``s each rank chunks: by the chunk's vector (dense), by its nearest sentence's
vector, and by BM25 over stems (lexical); ``fuse`` combines them and ``HybridRetriever`` (a
llama-index ``BaseRetriever``) runs the ones a method names.

Dense vectors find paraphrases ("harbour" for "port"); BM25 finds rare exact words
(names, "AB-12") that a small embedding model blurs. Reciprocal-rank fusion needs no score
calibration between the two. docs/performance.md has the measured effect of each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from numpy.typing import NDArray

from qa.lexical import TermStatistics, stems
from qa.store import IndexStore, StoredChunk

RetrievalMethod = Literal["hybrid", "dense", "bm25", "hybrid-chunks"]
#: The constant of reciprocal-rank fusion (Cormack et al., 2009).
RRF_K = 60


@dataclass
class RetrievedChunk:
    chunk: StoredChunk
    score: float
    dense_rank: int | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None


@dataclass
class LexicalIndex:
    """BM25 (bm25s) over every stored chunk, built from the chunks read back from the store.

    The chunks come from the store rather than a llama-index docstore: with vectors in Chroma,
    ``BM25Retriever.from_defaults(index=...)`` would see an empty docstore. Tokens are the stems
    of ``qa.lexical``, the same the answerer scores with.
    """

    chunks: list[StoredChunk]
    statistics: TermStatistics = field(init=False)

    def __post_init__(self) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG
        self.by_id = {c.id: c for c in self.chunks}
        self.statistics = TermStatistics(s.text for c in self.chunks for s in c.sentences)
        self._bm25: bm25s.BM25 | None = None
        if self.chunks:
            self._bm25 = bm25s.BM25()
            # A chunk of stop words only still needs one token for bm25s.
            self._bm25.index([stems(c.text) or ["\x00"] for c in self.chunks], show_progress=False)

    def search(self, question: str, k: int) -> list[tuple[StoredChunk, float]]:
        tokens = stems(question)
        if self._bm25 is None or not tokens:
            return []
        ids, scores = self._bm25.retrieve(
            [tokens], k=min(k, len(self.chunks)), show_progress=False, n_threads=0
        )
        return [
            (self.chunks[int(i)], float(score))
            for i, score in zip(ids[0], scores[0], strict=True)
            if score > 0
        ]


class Retriever(Protocol):
    """One ranking of the index's chunks for a question, best first, with a score each."""

    def rank(self, query: Query, depth: int) -> list[tuple[StoredChunk, float]]: ...


@dataclass(frozen=True)
class Query:
    """A question as the retrievers see it: its text (for BM25) and its embedding."""

    text: str
    vector: NDArray[np.float32]


class ChunkLookup:
    """Chunk texts by id, from memory, or from the store for a chunk written since the lexical
    index was built (another process's ingest, before the engine's next refresh)."""

    def __init__(self, store: IndexStore, lexical: LexicalIndex) -> None:
        self.store = store
        self.lexical = lexical

    def __len__(self) -> int:
        return len(self.lexical.chunks)

    def __call__(self, ids: Sequence[str]) -> list[StoredChunk]:
        missing = [cid for cid in ids if cid not in self.lexical.by_id]
        fresh = {chunk.id: chunk for chunk in self.store.chunks(missing)} if missing else {}
        found = (self.lexical.by_id.get(cid) or fresh.get(cid) for cid in ids)
        return [chunk for chunk in found if chunk is not None]


class DenseChunkRetriever:
    """Chunks whose vectors are nearest the question's: ids and distances from the vector
    store, texts from memory."""

    def __init__(self, store: IndexStore, lookup: ChunkLookup) -> None:
        self.store = store
        self.lookup = lookup

    def rank(self, query: Query, depth: int) -> list[tuple[StoredChunk, float]]:
        nearest = dict(self.store.query_chunk_ids(query.vector, min(depth, len(self.lookup))))
        return [(c, nearest[c.id]) for c in self.lookup(list(nearest))]


class SentenceRetriever:
    """Chunks ranked by their nearest sentence: a fact that a long chunk's vector blurs."""

    def __init__(self, store: IndexStore, lookup: ChunkLookup) -> None:
        self.store = store
        self.lookup = lookup

    def rank(self, query: Query, depth: int) -> list[tuple[StoredChunk, float]]:
        best: dict[str, float] = {}
        for sid, score in self.store.query_sentences(query.vector, depth):
            best.setdefault(sid.rsplit("/", 1)[0], score)
        return [(c, best[c.id]) for c in self.lookup(list(best))]


class LexicalRetriever:
    """BM25 over the stems of every chunk (``LexicalIndex``)."""

    def __init__(self, lexical: LexicalIndex) -> None:
        self.lexical = lexical

    def rank(self, query: Query, depth: int) -> list[tuple[StoredChunk, float]]:
        return self.lexical.search(query.text, depth)


#: Which rankings each retrieval method fuses, in the order they are fused.
METHODS: dict[RetrievalMethod, tuple[str, ...]] = {
    "hybrid": ("sentence", "dense", "lexical"),
    "dense": ("sentence", "dense"),
    "bm25": ("lexical",),
    "hybrid-chunks": ("dense", "lexical"),
}


def fuse(rankings: Mapping[str, Sequence[tuple[StoredChunk, float]]]) -> list[RetrievedChunk]:
    """Reciprocal-rank fusion of named rankings, best first. Ties keep the order in which
    chunks were first met, ranking by ranking. The dense and lexical ranks and the dense score
    are kept: the answerer weighs them."""
    fused: dict[str, RetrievedChunk] = {}
    for name, ranking in rankings.items():
        for rank, (chunk, score) in enumerate(ranking, start=1):
            hit = fused.setdefault(chunk.id, RetrievedChunk(chunk, 0.0))
            hit.score += 1.0 / (RRF_K + rank)
            if name == "dense":
                hit.dense_rank, hit.dense_score = rank, score
            elif name == "lexical":
                hit.lexical_rank = rank
    return sorted(fused.values(), key=lambda h: h.score, reverse=True)


class HybridRetriever(BaseRetriever):
    """The search stage: the method's rankings of the index, fused.

    The pipeline calls ``search`` with the question's embedding. As a llama-index
    ``BaseRetriever`` (``retrieve("question")``) it embeds the question with ``embed_query``
    and returns ``NodeWithScore`` nodes whose metadata holds the chunk's file and lines.
    """

    def __init__(
        self,
        store: IndexStore,
        method: RetrievalMethod = "hybrid",
        embed_query: Callable[[str], NDArray[np.float32]] | None = None,
        top_k: int = 5,
    ) -> None:
        super().__init__()
        self.store = store
        self.method = method
        self.embed_query = embed_query
        self.top_k = top_k
        self.lexical = LexicalIndex(store.all_chunks())
        lookup = ChunkLookup(store, self.lexical)
        retrievers: dict[str, Retriever] = {
            "sentence": SentenceRetriever(store, lookup),
            "dense": DenseChunkRetriever(store, lookup),
            "lexical": LexicalRetriever(self.lexical),
        }
        self.retrievers = {name: retrievers[name] for name in METHODS[method]}
        # Sentence vectors read so far. The engine builds a new retriever whenever the index
        # changes, so this never outlives what it mirrors, and it holds at most every sentence
        # of the index (~1.8 KB each).
        self._sentence_vectors: dict[str, NDArray[np.float32]] = {}

    @property
    def chunk_count(self) -> int:
        return len(self.lexical.chunks)

    def search(
        self, question: str, vector: NDArray[np.float32], k: int, pool: int = 0
    ) -> list[RetrievedChunk]:
        """The best ``max(k, pool)`` chunks, best first: the first ``k`` are the answer's
        context, the rest extra candidates for the extractive answerer's sentence search."""
        if not self.chunk_count:
            return []
        query = Query(question, vector)
        depth = max(2 * k, pool, 10)
        ranked = fuse({name: r.rank(query, depth) for name, r in self.retrievers.items()})
        return ranked[: max(k, pool)]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if query_bundle.embedding is not None:
            vector = np.asarray(query_bundle.embedding, dtype=np.float32)
        elif self.embed_query is not None:
            vector = self.embed_query(query_bundle.query_str)
        else:
            raise ValueError("This retriever has no embed_query: pass a QueryBundle's embedding.")
        return [
            NodeWithScore(node=_node(hit.chunk), score=hit.score)
            for hit in self.search(query_bundle.query_str, vector, self.top_k)
        ]

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """The stored embedding of each sentence id, read from the store once."""
        missing = [sid for sid in ids if sid not in self._sentence_vectors]
        if missing:
            self._sentence_vectors.update(self.store.sentence_vectors(missing))
        return {sid: self._sentence_vectors[sid] for sid in ids if sid in self._sentence_vectors}


def _node(chunk: StoredChunk) -> TextNode:
    metadata = {"source": chunk.source, "start_line": chunk.start_line, "end_line": chunk.end_line}
    return TextNode(id_=chunk.id, text=chunk.text, metadata=metadata)
