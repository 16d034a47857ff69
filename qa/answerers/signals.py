"""Signals about a sentence and a question that every answerer shares: how much of the
question's wording it holds (IDF-weighted), how close the embedding puts them, and how to quote
a sentence together with the one it leans on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.lexical import TermStatistics
from qa.store import StoredChunk, StoredSentence

#: Cosine similarities of multilingual-e5-small live in a narrow band; this maps it to 0..1.
COSINE_FLOOR = 0.75
COSINE_CEILING = 0.92


def scaled_cosine(cosine: float) -> float:
    """A cosine of the embedding model mapped from its narrow band onto 0..1."""
    return min(1.0, max(0.0, (cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR)))


@dataclass(frozen=True)
class TermWeights:
    """The question's terms with their IDF weights: worked out once per question, not once for
    each of the sentences it is held against.

    A word the corpus never uses can match no sentence. One stray such word is forgiven and
    left to the embedding's sense of meaning; a question mostly about such words is not.
    """

    weights: tuple[tuple[str, float], ...]
    total: float
    statistics: TermStatistics

    @classmethod
    def of(cls, terms: tuple[str, ...], statistics: TermStatistics) -> TermWeights:
        unknown = [t for t in terms if not statistics.known(t)]
        if len(unknown) * 3 <= len(terms):
            terms = tuple(t for t in terms if statistics.known(t))
        weights = tuple((t, statistics.idf(t)) for t in terms)
        return cls(weights, sum(w for _, w in weights), statistics)

    def share(self, text_stems: set[str] | frozenset[str]) -> float:
        if not self.total:
            return 0.0
        found = sum(w for t, w in self.weights if self.statistics.found_in(t, set(text_stems)))
        return found / self.total


def coverage(terms: tuple[str, ...], text_stems: set[str], statistics: TermStatistics) -> float:
    """IDF-weighted share of ``terms`` found in ``text_stems``."""
    return TermWeights.of(terms, statistics).share(text_stems)


# A sentence that opens with a pronoun leans on the one before it.
_CONTINUES = re.compile(r"(?:They|He|She|It|This|These|Those|Their|His|Her|Its)\b")


def leans_on_previous(sentence: str) -> bool:
    """Whether ``sentence`` opens with a pronoun ("They were planning ..."): quoted alone it
    does not say who or what."""
    return bool(_CONTINUES.match(sentence))


def join_sentences(
    chunk: StoredChunk, first: StoredSentence, second: StoredSentence
) -> StoredSentence:
    """The two consecutive sentences as one quotable span of the chunk."""
    return StoredSentence(
        id=f"{first.id}+",
        start_line=first.start_line,
        end_line=second.end_line,
        start_col=first.start_col,
        end_col=second.end_col,
        text=chunk.text[first.chunk_start : second.chunk_end],
        chunk_start=first.chunk_start,
        chunk_end=second.chunk_end,
    )
