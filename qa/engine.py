"""The engine: ``ask(question) -> Answer``. Every front end calls this and nothing below it.

Loaded once (embedding model, index, lexical index) and safe to call from many threads: the
embedding model runs on its own thread, Chroma reads are thread-safe, and the lexical index is
replaced whole, never mutated, when an ingest changes the index.

Example::

    >>> from qa.engine import Engine
    >>> engine = Engine.open()
    >>> answer = engine.ask("When did the bridge open?")
    >>> answer.answered, answer.citations[0].source
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qa.answerers import Answerer, Draft, Evidence, Sampling
from qa.answerers.reading import ReadingAnswerer
from qa.config import Settings, configure_offline_environment, get_settings
from qa.embeddings import QAEmbedding, make_embedding
from qa.errors import (
    CorruptIndexError,
    EmptyIndexError,
    InvalidRequestError,
    LLMFailedError,
    SourceChangedError,
    SourceNotFoundError,
)
from qa.ingest import IngestReport, ingest_corpus
from qa.llm import LLMClient
from qa.load import answering
from qa.loading import Source, read_document
from qa.models import Answer, AnsweredMode, AnswerMode, Timings, Turn
from qa.progress import Progress
from qa.questions import analyse, validate_question
from qa.retrieval import HybridRetriever, RetrievalMethod
from qa.store import IndexStore, SourceRecord

logger = logging.getLogger(__name__)

#: Chunks whose sentences the extractive answerer weighs (the top_k among them are the answer's
#: context). Sentence scoring is cheap; a fact is often one sentence of a chunk ranked lower.
CANDIDATE_POOL = 20


def _pin_llama_index_defaults(embedding: QAEmbedding) -> None:
    """llama-index falls back to OpenAI for its global LLM and embedding model; any code path
    that reached for them would go to the network. Point both at offline components."""
    from llama_index.core import Settings as LlamaIndexSettings
    from llama_index.core.llms import MockLLM

    LlamaIndexSettings.embed_model = embedding
    LlamaIndexSettings.llm = MockLLM()


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def default_answerers(settings: Settings, embedding: QAEmbedding) -> dict[str, Answerer]:
    """Extractive (the reader) always; generative too when an LLM is configured."""
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
            llm, extractive, embedding.embed_query, min_support=settings.llm_min_support
        )
    return answerers


@dataclass(frozen=True)
class TextDelta:
    """Streamed text of an answer as it is written (an LLM's draft, before the checks)."""

    text: str


@dataclass(frozen=True)
class FinalAnswer:
    """The last event of a stream: the checked answer, which replaces the streamed text."""

    answer: Answer


StreamEvent = TextDelta | FinalAnswer


@dataclass
class _Prepared:
    """A validated question with its evidence, ready for an answerer."""

    question: str
    mode: AnswerMode
    answerer: Answerer
    evidence: Evidence
    timings: Timings
    started: float


@dataclass(frozen=True)
class IndexStatus:
    """What the engine is serving: shown by readiness checks and metrics."""

    sources: int
    chunks: int
    embedding_model: str

    @property
    def ready(self) -> bool:
        return self.chunks > 0


@dataclass(frozen=True)
class SourceLines:
    """Lines start_line..end_line of an indexed file, as they were indexed."""

    source: str
    sha256: str
    line_count: int
    start_line: int
    end_line: int
    lines: tuple[str, ...]


class Engine:
    """Answers questions from one index."""

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
        self.store = store
        self.retrieval_method = retrieval
        self.answerers: dict[str, Answerer] = answerers or default_answerers(settings, embedding)
        # A configured LLM is what the user wants by default; requests can still ask for either.
        self.default_mode: AnswerMode = (
            "generative" if "generative" in self.answerers else "extractive"
        )
        self._reload_lock = threading.Lock()
        #: How often ``ask`` checks whether another process changed the index.
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
        configure_offline_environment()
        settings = settings or get_settings()
        store = IndexStore.from_settings(settings)
        embedding = embedding or make_embedding(settings)
        _pin_llama_index_defaults(embedding)
        return cls(settings, embedding, store, retrieval=retrieval)

    # Index management.
    @property
    def chunk_count(self) -> int:
        return self.retriever.chunk_count

    def reload(self) -> None:
        """Rebuild the lexical index from the store (after an ingest)."""
        with self._reload_lock:
            self._load_index()

    def _load_index(self) -> None:
        """Note which version of the index is loaded and build the retriever over it.

        The generation is read first: a write that lands while the rest loads changes it, so
        the next ``refresh`` loads again rather than missing that write.
        """
        self._generation = self.store.generation()
        self._source_count = len(self.store.sources())
        self.retriever = HybridRetriever(self.store, self.retrieval_method)

    def refresh(self, force: bool = False) -> bool:
        """Pick up an index that another process (``qa ingest``) changed; True if it did.

        Costs one small read (the index's generation token, whatever its size), so ``ask``
        calls it every ``refresh_interval_s`` and a service can call it from its readiness
        check. A change reopens the store (an embedded Chroma client does not see another
        process's new vectors) and rebuilds the lexical index.
        """
        with self._reload_lock:
            self._checked_at = time.monotonic()
            if not force and self.store.generation() == self._generation:
                return False
            self.store = self.store.reopen()
            self.store.check_embedding_model(self.embedding.model_id)
            self._load_index()
            return True

    def status(self) -> IndexStatus:
        return IndexStatus(
            sources=self._source_count,
            chunks=self.retriever.chunk_count,
            embedding_model=self.embedding.model_id,
        )

    def sources(self) -> list[SourceRecord]:
        """The indexed files, by path."""
        return sorted(self.store.sources().values(), key=lambda record: record.path)

    def source_lines(
        self, path: str, start_line: int | None = None, end_line: int | None = None
    ) -> SourceLines:
        """Lines of an indexed file, so that a citation can be shown in context or linked to.

        Only files in the index can be read (never an arbitrary path), and only while the file
        on disk still matches what was indexed: otherwise citations' line numbers may be wrong.
        """
        record = self.store.sources().get(path)
        if record is None or not record.complete:
            raise SourceNotFoundError(
                f"'{path}' is not in the index.", "GET /sources lists the indexed files."
            )
        loaded = read_document(self.settings.corpus_dir / path, path)
        if not isinstance(loaded, Source):
            raise SourceChangedError(
                f"'{path}' is in the index but can no longer be read from the corpus folder "
                f"({loaded.reason}).",
                "Restore the file, or run `qa ingest` to drop it from the index.",
            )
        if loaded.sha256 != record.sha256:
            raise SourceChangedError(
                f"'{path}' has changed since it was indexed, so cited line numbers may not match.",
                "Run `qa ingest` to index the new version.",
            )
        count = len(loaded.lines)
        start = start_line or 1
        end = end_line or count
        if not 1 <= start <= count:
            raise InvalidRequestError(
                f"start must be between 1 and {count} (the file's last line), not {start}.",
                "Leave it out to start at line 1.",
                field="start",
            )
        if not start <= end <= count:
            raise InvalidRequestError(
                f"end must be between start ({start}) and {count} (the last line), not {end}.",
                "Leave it out to read to the end of the file.",
                field="end",
            )
        return SourceLines(
            source=path,
            sha256=record.sha256,
            line_count=count,
            start_line=start,
            end_line=end,
            lines=loaded.lines[start - 1 : end],
        )

    def ingest(self, root: Path | None = None, progress: Progress | None = None) -> IngestReport:
        report = ingest_corpus(
            root or self.settings.corpus_dir, self.store, self.embedding, self.settings, progress
        )
        if report.added or report.updated or report.repaired or report.removed:
            self.reload()
        return report

    # Answering.
    def retrieve(self, question: str, top_k: int | None = None) -> tuple[Evidence, Timings]:
        """Evidence for a validated question: ranked chunks and their sentences' vectors."""
        k = top_k or self.settings.top_k
        if time.monotonic() - self._checked_at > self.refresh_interval_s:
            self.refresh()
        retriever = self.retriever
        if retriever.chunk_count == 0:
            raise EmptyIndexError(
                "The index is empty.",
                "Run `qa ingest` (or `qa ingest PATH`) to index your documents first.",
            )
        started = time.perf_counter()
        vector = self.embedding.embed_query(question)
        embedded = time.perf_counter()
        ranked = retriever.retrieve(question, vector, k, pool=CANDIDATE_POOL)
        chunks, candidates = ranked[:k], ranked[k:]
        sentence_ids = [s.id for hit in ranked for s in hit.chunk.sentences]
        vectors = retriever.sentence_vectors(sentence_ids) if sentence_ids else {}
        retrieved = time.perf_counter()
        evidence = Evidence(
            question=analyse(question),
            vector=vector,
            chunks=chunks,
            sentence_vectors=vectors,
            statistics=retriever.lexical.statistics,
            candidates=candidates,
        )
        return evidence, Timings(embed=_ms(embedded - started), retrieve=_ms(retrieved - embedded))

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
        return self.ask_with_evidence(question, top_k, mode, sampling, history)[0]

    def ask_with_evidence(
        self,
        question: str,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> tuple[Answer, Evidence]:
        """``ask``, also returning what retrieval found (for evaluation and debugging)."""
        with answering():
            prepared = self._prepare(question, top_k, mode, sampling, history)
            answer_started = time.perf_counter()
            answered_mode: AnsweredMode = prepared.answerer.mode
            try:
                draft = prepared.answerer.answer(prepared.evidence)
            except LLMFailedError as exc:
                draft, answered_mode = self._fallback(exc, prepared)
            return self._finish(prepared, draft, answered_mode, answer_started), prepared.evidence

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
            prepared = self._prepare(question, top_k, mode, sampling, history)
        return self._stream(prepared)

    def _stream(self, prepared: _Prepared) -> Iterator[StreamEvent]:
        answer_started = time.perf_counter()
        draft: Draft | None = None
        answered_mode: AnsweredMode = prepared.answerer.mode
        with answering():
            try:
                for item in prepared.answerer.stream(prepared.evidence):
                    if isinstance(item, Draft):
                        draft = item
                    else:
                        yield TextDelta(item)
            except LLMFailedError as exc:
                # Deltas already sent are a draft: the final answer replaces them.
                draft, answered_mode = self._fallback(exc, prepared)
            if draft is None:  # an answerer that ended without its draft is a bug
                raise RuntimeError(f"the {prepared.mode} answerer streamed no answer")
            final = self._finish(prepared, draft, answered_mode, answer_started)
        yield FinalAnswer(final)

    def _prepare(
        self,
        question: str,
        top_k: int | None,
        mode: AnswerMode | None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> _Prepared:
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        if top_k is not None and not 1 <= top_k <= 50:
            raise InvalidRequestError(
                f"top_k must be between 1 and 50, not {top_k}.",
                "Leave it out to use QA_TOP_K.",
                field="top_k",
            )
        chosen: AnswerMode = mode or self.default_mode
        answerer = self.answerers.get(chosen)
        if answerer is None:
            raise InvalidRequestError(
                f"The '{chosen}' answer mode is not configured.",
                "Use mode 'extractive', or configure an LLM for 'generative' (see .env.example).",
                field="mode",
            )
        if sampling is not None:
            answerer = answerer.with_sampling(sampling)
        if history:
            text = answerer.standalone_question(text, history, self.settings.max_question_chars)
        try:
            evidence, timings = self.retrieve(text, top_k)
        except CorruptIndexError:
            # Another process may have rewritten the index under this one's Chroma client: one
            # retry on a fresh client; a really corrupt index fails again and is reported.
            self.refresh(force=True)
            evidence, timings = self.retrieve(text, top_k)
        return _Prepared(text, chosen, answerer, evidence, timings, started)

    def _fallback(self, error: LLMFailedError, prepared: _Prepared) -> tuple[Draft, AnsweredMode]:
        """The extractive answer when the LLM failed, if QA_LLM_FALLBACK allows; else raise."""
        extractive = self.answerers.get("extractive")
        if self.settings.llm_fallback != "extractive" or extractive is None:
            raise error
        logger.warning("%s Answering extractively instead (QA_LLM_FALLBACK).", error.message)
        return extractive.answer(prepared.evidence), "extractive-fallback"

    def _finish(
        self, prepared: _Prepared, draft: Draft, mode: AnsweredMode, answer_started: float
    ) -> Answer:
        finished = time.perf_counter()
        timings = prepared.timings
        timings.answer = _ms(finished - answer_started)
        timings.total = _ms(finished - prepared.started)
        return Answer(
            question=prepared.question,
            answer=draft.answer,
            answered=draft.answered,
            citations=draft.citations,
            mode=mode,
            timings_ms=timings,
        )
