"""Answerers turn retrieved evidence into an answer with citations. One method to implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from qa.lexical import TermStatistics
from qa.models import AnswerMode, Citation, Turn
from qa.questions import Question
from qa.retrieval import RetrievedChunk


@dataclass
class Evidence:
    """What retrieval found for one question, handed to an answerer."""

    question: Question
    vector: NDArray[np.float32]
    chunks: list[RetrievedChunk]
    #: Embedding of each sentence of ``chunks``, by sentence id.
    sentence_vectors: dict[str, NDArray[np.float32]]
    statistics: TermStatistics = field(default_factory=TermStatistics)
    #: Chunks ranked just below ``chunks``: more sentences for an extractive answerer to weigh
    #: (a fact stated in one sentence of a chunk whose vector is about something else).
    candidates: list[RetrievedChunk] = field(default_factory=list)


@dataclass
class Draft:
    """An answer before the engine stamps the question, mode and timings on it."""

    answer: str
    answered: bool
    citations: list[Citation]


@dataclass(frozen=True)
class Sampling:
    """A caller's sampling options for one answer; None keeps the configured value. Only an
    answerer that samples (an LLM) uses them."""

    temperature: float | None = None
    max_tokens: int | None = None


class Answerer(ABC):
    """Base class: implement ``answer``."""

    mode: AnswerMode

    @abstractmethod
    def answer(self, evidence: Evidence) -> Draft:
        """Answer ``evidence.question`` from ``evidence`` only, or refuse."""

    def stream(self, evidence: Evidence) -> Iterator[str | Draft]:
        """Text as it is produced, then the checked ``Draft`` (the text may differ from the
        deltas: it is what survived the checks). By default the whole answer at once."""
        draft = self.answer(evidence)
        yield draft.answer
        yield draft

    def standalone_question(self, question: str, history: Sequence[Turn], max_chars: int) -> str:
        """``question`` made to stand without the conversation ``history`` before it. Without
        a language model there is nothing to rewrite with: the question as asked."""
        return question

    def with_sampling(self, sampling: Sampling) -> Answerer:
        """This answerer with ``sampling``'s options for one answer. An answerer that does
        not sample ignores them."""
        return self
