"""The engine: what every front end holds. It composes the stages over one index: an
``Indexer`` (qa.indexer) for the index, the search stage over it (qa.retrieval), and the
``Pipeline`` (qa.pipeline) that answers.

Loaded once (embedding model, index, lexical index) and safe to call from many threads: the
embedding model runs on its own thread, Chroma reads are thread-safe, and the search stage is
replaced whole, never mutated, when an ingest changes the index.

Example::

    >>> from qa.engine import Engine
    >>> engine = Engine.open()
    >>> answer = engine.ask("When did the bridge open?")
    >>> answer.answered, answer.citations[0].source
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answerers import Answerer, Evidence, Sampling
from qa.answerers.reading import ReadingAnswerer
from qa.config import Settings
from qa.embeddings import QAEmbedding
from qa.indexer import Indexer, SourceLines
from qa.ingest import IngestReport
from qa.llm import LLMClient
from qa.load import answering
from qa.models import Answer, AnswerMode, Timings, Turn
from qa.pipeline import CANDIDATE_POOL, FinalAnswer, Pipeline, StreamEvent, TextDelta
from qa.progress import Progress
from qa.retrieval import HybridRetriever, RetrievalMethod
from qa.store import IndexStore, SourceRecord

__all__ = [
    "CANDIDATE_POOL",
    "Engine",
    "FinalAnswer",
    "IndexStatus",
    "SourceLines",
    "StreamEvent",
    "TextDelta",
    "default_answerers",
]


def default_answerers(settings: Settings, embedding: QAEmbedding) -> dict[str, Answerer]:
    """The reading stage: the reader always; an LLM checked against the sources when one is
    configured, refusing as the reader does."""
    from qa.reader import Reader

    reader = Reader.load(settings.reader_model, threads=settings.reader_threads)
    extractive = ReadingAnswerer(
        reader, candidates=settings.reader_candidates, min_score=settings.answer_min_score
    )
    answerers: dict[str, Answerer] = {"extractive": extractive}
    llm = LLMClient.from_settings(settings)
    if llm is not None:
        from qa.answerers.generative import GenerativeAnswerer

        answerers["generative"] = GenerativeAnswerer(
            llm, extractive.refusal, embedding.embed_query, min_support=settings.llm_min_support
        )
    return answerers


@dataclass(frozen=True)
class IndexStatus:
    """What the engine is serving: shown by readiness checks and metrics."""

    sources: int
    chunks: int
    embedding_model: str

    @property
    def ready(self) -> bool:
        return self.chunks > 0


class Engine:
    """Answers questions from one index, and keeps up with it as it changes."""

    def __init__(
        self,
        settings: Settings,
        embedding: QAEmbedding,
        store: IndexStore,
        answerers: dict[str, Answerer] | None = None,
        retrieval: RetrievalMethod = "hybrid",
    ) -> None:
        self.settings = settings
        self.embedding = embedding
        self.indexer = Indexer(settings, embedding, store)
        self.retrieval_method = retrieval
        self.pipeline = Pipeline(
            settings, embedding, self, answerers or default_answerers(settings, embedding)
        )
        self._reload_lock = threading.Lock()
        #: How often answering checks whether another process changed the index.
        self.refresh_interval_s = 2.0
        self._checked_at = time.monotonic()
        store.check_embedding_model(embedding.model_id)
        self._load_index()

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        embedding: QAEmbedding | None = None,
        retrieval: RetrievalMethod = "hybrid",
    ) -> Engine:
        """Load the configured embedding model and index."""
        indexer = Indexer.open(settings, embedding)
        return cls(indexer.settings, indexer.embedding, indexer.store, retrieval=retrieval)

    @property
    def store(self) -> IndexStore:
        return self.indexer.store

    @property
    def answerers(self) -> dict[str, Answerer]:
        return self.pipeline.answerers

    @property
    def default_mode(self) -> AnswerMode:
        return self.pipeline.default_mode

    # The index.
    @property
    def chunk_count(self) -> int:
        return self.retriever.chunk_count

    def ingest(self, root: Path | None = None, progress: Progress | None = None) -> IngestReport:
        report = self.indexer.ingest(root, progress)
        if report.added or report.updated or report.repaired or report.removed:
            self.reload()
        return report

    def reload(self) -> None:
        """Rebuild the search stage from the store (after an ingest)."""
        with self._reload_lock:
            self._load_index()

    def _load_index(self) -> None:
        """Note which version of the index is loaded and build the search stage over it.

        The generation is read first: a write that lands while the rest loads changes it, so
        the next ``refresh`` loads again rather than missing that write.
        """
        self._generation = self.store.generation()
        self._source_count = len(self.store.sources())
        self.retriever = HybridRetriever(
            self.store, self.retrieval_method, self.embedding.embed_query, self.settings.top_k
        )

    def refresh(self, force: bool = False) -> bool:
        """Pick up an index that another process (``qa ingest``) changed; True if it did.

        Costs one small read (the index's generation token, whatever its size), so answering
        calls it every ``refresh_interval_s`` and a service can call it from its readiness
        check. A change reopens the store (an embedded Chroma client does not see another
        process's new vectors) and rebuilds the search stage.
        """
        with self._reload_lock:
            self._checked_at = time.monotonic()
            if not force and self.store.generation() == self._generation:
                return False
            self.indexer.reopen()
            self._load_index()
            return True

    def current_retriever(self) -> HybridRetriever:
        """The search stage over the index as it is now (checked every refresh_interval_s)."""
        if time.monotonic() - self._checked_at > self.refresh_interval_s:
            self.refresh()
        return self.retriever

    def status(self) -> IndexStatus:
        return IndexStatus(
            sources=self._source_count,
            chunks=self.retriever.chunk_count,
            embedding_model=self.embedding.model_id,
        )

    def sources(self) -> list[SourceRecord]:
        """The indexed files, by path."""
        return self.indexer.sources()

    def source_lines(
        self, path: str, start_line: int | None = None, end_line: int | None = None
    ) -> SourceLines:
        """Lines of an indexed file (``Indexer.source_lines``)."""
        return self.indexer.source_lines(path, start_line, end_line)

    # Answering: the pipeline.
    def retrieve(self, question: str, top_k: int | None = None) -> tuple[Evidence, Timings]:
        """Evidence for a validated question: ranked chunks and their sentences' vectors."""
        return self.pipeline.retrieve(question, top_k)

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """Answer ``question`` from the index, citing file and line, or say the sources don't.

        ``sampling`` sets an LLM's temperature and token limit for this answer. ``history`` is
        the conversation before ``question``, oldest first: in generative mode a follow-up is
        rewritten to stand alone (``qa.conversation``), and the answer's ``question`` says how.
        """
        return self.pipeline.run(question, top_k, mode, sampling, history)[0]

    def ask_with_evidence(
        self,
        question: str,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> tuple[Answer, Evidence]:
        """``ask``, also returning what retrieval found (for evaluation and debugging)."""
        return self.pipeline.run(question, top_k, mode, sampling, history)

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> Iterator[StreamEvent]:
        """``ask``, as events: text deltas as the answer is written, then the checked answer.

        The question is validated and retrieval done before this returns, so that those
        errors are raised here (and a front end can still answer them with a status), not
        in the middle of a stream.
        """
        with answering():
            prepared = self.pipeline.prepare(question, top_k, mode, sampling, history)
        return self.pipeline.stream(prepared)
