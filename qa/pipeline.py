"""The answering pipeline: a question in, a cited ``Answer`` out. ``Pipeline.run`` reads top to
bottom; each step is a stage of its own module.

    validate (qa.questions) -> pick the answerer -> make a follow-up stand alone
    -> embed (qa.embeddings) -> search (qa.retrieval) -> gather the evidence
    -> answer (qa.answerers: the reader, or an LLM checked against the sources)
    -> the extractive answer if the LLM failed -> stamp the timings (qa.models.Answer)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.answerers import Answerer, Draft, Evidence, Sampling
from qa.config import Settings
from qa.embeddings import QAEmbedding
from qa.errors import CorruptIndexError, EmptyIndexError, InvalidRequestError, LLMFailedError
from qa.load import answering
from qa.models import Answer, AnsweredMode, AnswerMode, Timings, Turn
from qa.questions import analyse, validate_question
from qa.retrieval import HybridRetriever

logger = logging.getLogger(__name__)

#: Chunks whose sentences the extractive answerer weighs (the top_k among them are the answer's
#: context). Sentence scoring is cheap; a fact is often one sentence of a chunk ranked lower.
CANDIDATE_POOL = 20


class SearchableIndex(Protocol):
    """The index as the pipeline searches it (``qa.engine.Engine``)."""

    def current_retriever(self) -> HybridRetriever:
        """The search stage over the index as it is now."""
        ...

    def refresh(self, force: bool = False) -> bool:
        """Reload the index from the store (after another process wrote to it)."""
        ...


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
class Prepared:
    """A validated question with its evidence and the answerer that will answer it."""

    question: str
    mode: AnswerMode
    answerer: Answerer
    evidence: Evidence
    timings: Timings
    started: float


class Pipeline:
    """Answers questions from a searchable index with one answerer per mode."""

    def __init__(
        self,
        settings: Settings,
        embedding: QAEmbedding,
        index: SearchableIndex,
        answerers: dict[str, Answerer],
    ) -> None:
        self.settings = settings
        self.embedding = embedding
        self.index = index
        self.answerers = answerers
        # A configured LLM is what the user wants by default; requests can still ask for either.
        self.default_mode: AnswerMode = "generative" if "generative" in answerers else "extractive"

    def run(
        self,
        question: str,
        top_k: int | None = None,
        mode: AnswerMode | None = None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> tuple[Answer, Evidence]:
        """The answer to ``question``, and the evidence it was drawn from."""
        with answering():
            prepared = self.prepare(question, top_k, mode, sampling, history)
            answer_started = time.perf_counter()
            answered_mode: AnsweredMode = prepared.answerer.mode
            try:
                draft = prepared.answerer.answer(prepared.evidence)
            except LLMFailedError as exc:
                draft, answered_mode = self.fall_back(exc, prepared)
            return self.finish(prepared, draft, answered_mode, answer_started), prepared.evidence

    def stream(self, prepared: Prepared) -> Iterator[StreamEvent]:
        """``run`` as events for a prepared question: text deltas, then the checked answer."""
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
                draft, answered_mode = self.fall_back(exc, prepared)
            if draft is None:  # an answerer that ended without its draft is a bug
                raise RuntimeError(f"the {prepared.mode} answerer streamed no answer")
            final = self.finish(prepared, draft, answered_mode, answer_started)
        yield FinalAnswer(final)

    def prepare(
        self,
        question: str,
        top_k: int | None,
        mode: AnswerMode | None,
        sampling: Sampling | None = None,
        history: Sequence[Turn] = (),
    ) -> Prepared:
        """Validate, pick the answerer, make a follow-up stand alone, and gather evidence."""
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
            self.index.refresh(force=True)
            evidence, timings = self.retrieve(text, top_k)
        return Prepared(text, chosen, answerer, evidence, timings, started)

    def retrieve(self, question: str, top_k: int | None = None) -> tuple[Evidence, Timings]:
        """Evidence for a validated question: ranked chunks and their sentences' vectors."""
        k = top_k or self.settings.top_k
        retriever = self.index.current_retriever()
        if retriever.chunk_count == 0:
            raise EmptyIndexError(
                "The index is empty.",
                "Run `qa ingest` (or `qa ingest PATH`) to index your documents first.",
            )
        started = time.perf_counter()
        vector = self.embedding.embed_query(question)
        embedded = time.perf_counter()
        ranked = retriever.search(question, vector, k, pool=CANDIDATE_POOL)
        sentence_ids = [s.id for hit in ranked for s in hit.chunk.sentences]
        vectors = retriever.sentence_vectors(sentence_ids) if sentence_ids else {}
        retrieved = time.perf_counter()
        evidence = Evidence(
            question=analyse(question),
            vector=vector,
            chunks=ranked[:k],
            sentence_vectors=vectors,
            statistics=retriever.lexical.statistics,
            candidates=ranked[k:],
        )
        return evidence, Timings(embed=_ms(embedded - started), retrieve=_ms(retrieved - embedded))

    def fall_back(self, error: LLMFailedError, prepared: Prepared) -> tuple[Draft, AnsweredMode]:
        """The extractive answer when the LLM failed, if QA_LLM_FALLBACK allows; else raise."""
        extractive = self.answerers.get("extractive")
        if self.settings.llm_fallback != "extractive" or extractive is None:
            raise error
        logger.warning("%s Answering extractively instead (QA_LLM_FALLBACK).", error.message)
        return extractive.answer(prepared.evidence), "extractive-fallback"

    def finish(
        self, prepared: Prepared, draft: Draft, mode: AnsweredMode, answer_started: float
    ) -> Answer:
        """The contract's answer: the draft with its question, mode and timings."""
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


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
