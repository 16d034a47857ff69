"""Hybrid retrieval: dense (Chroma) and BM25 rankings of chunks, fused by reciprocal rank.

Dense vectors find paraphrases ("harbour" for "port"); BM25 finds rare exact words
(names, "AB-12") that a small embedding model blurs. Reciprocal-rank fusion needs no score
calibration between the two. docs/performance.md has the measured effect of each.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
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


class HybridRetriever:
    """Ranks chunks for a question embedding and text."""

    def __init__(self, store: IndexStore, method: RetrievalMethod = "hybrid") -> None:
        self.store = store
        self.method = method
        self.lexical = LexicalIndex(store.all_chunks())
        # Sentence vectors read so far. The engine builds a new retriever whenever the index
        # changes, so this never outlives what it mirrors, and it holds at most every sentence
        # of the index (~1.8 KB each).
        self._sentence_vectors: dict[str, NDArray[np.float32]] = {}

    @property
    def chunk_count(self) -> int:
        return len(self.lexical.chunks)

    def retrieve(
        self, question: str, vector: NDArray[np.float32], k: int, pool: int = 0
    ) -> list[RetrievedChunk]:
        """The best ``max(k, pool)`` chunks, best first: the first ``k`` are the answer's
        context, the rest extra candidates for the extractive answerer's sentence search."""
        depth = max(2 * k, pool, 10)
        dense: Sequence[tuple[StoredChunk, float]] = []
        lexical: Sequence[tuple[StoredChunk, float]] = []
        if self.method in ("hybrid", "dense", "hybrid-chunks") and self.chunk_count:
            dense = self._dense(vector, min(depth, self.chunk_count))
        if self.method in ("hybrid", "bm25", "hybrid-chunks"):
            lexical = self.lexical.search(question, depth)
        sentence_hits: list[StoredChunk] = []
        if self.method in ("hybrid", "dense") and self.chunk_count:
            # Sentences ranked alone find a fact that a long chunk's vector blurs.
            nearest = self.store.query_sentences(vector, depth)
            owners = list(dict.fromkeys(sid.rsplit("/", 1)[0] for sid, _ in nearest))
            sentence_hits = [chunk for chunk in self._chunks(owners) if chunk is not None]
        fused: dict[str, RetrievedChunk] = {}
        for rank, chunk in enumerate(sentence_hits, start=1):
            hit = fused.setdefault(chunk.id, RetrievedChunk(chunk, 0.0))
            hit.score += 1.0 / (RRF_K + rank)
        for rank, (chunk, similarity) in enumerate(dense, start=1):
            hit = fused.setdefault(chunk.id, RetrievedChunk(chunk, 0.0))
            hit.dense_rank, hit.dense_score = rank, similarity
            hit.score += 1.0 / (RRF_K + rank)
        for rank, (chunk, _) in enumerate(lexical, start=1):
            hit = fused.setdefault(chunk.id, RetrievedChunk(chunk, 0.0))
            hit.lexical_rank = rank
            hit.score += 1.0 / (RRF_K + rank)
        ranked = sorted(fused.values(), key=lambda h: h.score, reverse=True)
        return ranked[: max(k, pool)]

    def _dense(self, vector: NDArray[np.float32], k: int) -> list[tuple[StoredChunk, float]]:
        """The k chunks nearest to ``vector``: ids from the vector store, texts from memory."""
        nearest = self.store.query_chunk_ids(vector, k)
        chunks = self._chunks([cid for cid, _ in nearest])
        return [(c, score) for c, (_, score) in zip(chunks, nearest, strict=True) if c is not None]

    def _chunks(self, ids: Sequence[str]) -> list[StoredChunk | None]:
        """The chunks with these ids, None for any no longer in the index. A chunk written
        since this retriever was built (another process's ingest, before the engine's next
        refresh) is read from the store rather than dropped."""
        missing = [cid for cid in ids if cid not in self.lexical.by_id]
        fresh = {chunk.id: chunk for chunk in self.store.chunks(missing)} if missing else {}
        return [self.lexical.by_id.get(cid) or fresh.get(cid) for cid in ids]

    def sentence_vectors(self, ids: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        """The stored embedding of each sentence id, read from the store once."""
        missing = [sid for sid in ids if sid not in self._sentence_vectors]
        if missing:
            self._sentence_vectors.update(self.store.sentence_vectors(missing))
        return {sid: self._sentence_vectors[sid] for sid in ids if sid in self._sentence_vectors}
