"""The offline answerer: the trained reader picks the sentence that answers, or refuses.

1. Candidates: the sentences of the retrieved chunks (and of the chunks ranked just below),
   the ``candidates`` nearest the question by embedding.
2. Each gets a few general signals: the reader's logit (``qa.reader``), the embedding cosine,
   the share of the question's rare words it holds, its chunk's retrieval rank, and whether it
   states the kind of value asked for (a date for "when", a name for "who").
3. A logistic combination of those signals, learned on held-out articles that were never
   trained on (``qa.training.calibrate``, stored in the model's ``reader.json``), turns them
   into the probability that the sentence answers. The best one answers; below the calibrated
   threshold the answer is "the sources don't say".
4. When another source's sentence is also a strong answer and states a different value of the
   asked kind, the sources disagree: both are cited.

Example::

    >>> answerer = ReadingAnswerer(Reader.load())
    >>> draft = answerer.answer(evidence)   # evidence from qa.engine.Engine.retrieve
    >>> draft.answered, draft.citations[0].quote
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.answer_kinds import values
from qa.answerers import Answerer, Draft, Evidence
from qa.answerers.signals import TermWeights, join_sentences, leans_on_previous, scaled_cosine
from qa.citations import build_citation
from qa.lexical import stems, words
from qa.models import NOT_IN_SOURCES, AnswerMode, Citation
from qa.questions import AnswerType
from qa.reader import Reader
from qa.store import StoredChunk, StoredSentence

#: The signals, in the order the combination's weights are stored.
FEATURES: tuple[str, ...] = ("logit", "cosine", "cover", "rank", "kind_match", "kind_missing")
#: How many sentences the reader scores per question when its calibration does not say
#: (``qa.training.calibrate`` chooses the number; docs/performance.md: accuracy and latency
#: against it).
DEFAULT_CANDIDATES = 16


@dataclass(frozen=True)
class Combination:
    """A logistic combination of the signals, and the probability below which to refuse."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    @classmethod
    def reader_only(cls) -> Combination:
        """The reader's own probability, refusing below 0.5: used before calibration."""
        return cls(tuple(1.0 if f == "logit" else 0.0 for f in FEATURES), 0.0, 0.5)

    @classmethod
    def from_calibration(cls, data: Mapping[str, Any]) -> Combination:
        if not data:
            return cls.reader_only()
        named = data["weights"]
        return cls(
            tuple(float(named.get(f, 0.0)) for f in FEATURES),
            float(data["bias"]),
            float(data["threshold"]),
        )

    def probability(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass
class Candidate:
    """A sentence of the evidence, with its signals and, once read, its probability."""

    chunk: StoredChunk
    sentence: StoredSentence
    #: The retrieval rank of its chunk, 0 first.
    rank: int
    cosine: float
    cover: float
    kind_match: float
    kind_missing: float
    #: The values of the asked kind it states (for disagreements).
    values: list[str] = field(default_factory=list)
    logit: float = 0.0
    probability: float = 0.0

    def features(self) -> tuple[float, ...]:
        return (
            self.logit,
            self.cosine,
            self.cover,
            1.0 / (1.0 + self.rank),
            self.kind_match,
            self.kind_missing,
        )


def _worth_quoting(sentence: StoredSentence) -> bool:
    """Credit lines and fragments answer nothing."""
    return len(words(sentence.text)) >= 4


#: Kinds of answer whose values can be compared: two different ones are a disagreement.
_COMPARABLE = frozenset(
    {
        AnswerType.DATE,
        AnswerType.AGE,
        AnswerType.DURATION,
        AnswerType.MONEY,
        AnswerType.NUMBER,
        AnswerType.PERSON,
        AnswerType.PLACE,
        AnswerType.IDENTIFIER,
    }
)


class ReadingAnswerer(Answerer):
    mode: AnswerMode = "extractive"

    def __init__(
        self,
        reader: Reader,
        candidates: int | None = None,
        min_score: float | None = None,
        max_citations: int = 3,
        combination: Combination | None = None,
    ) -> None:
        self.reader = reader
        #: QA_READER_CANDIDATES, when a user sets it, overrides the calibrated count.
        calibrated = reader.calibration.get("candidates", DEFAULT_CANDIDATES)
        self.candidate_count = int(candidates or calibrated)
        self.combination = combination or Combination.from_calibration(reader.calibration)
        #: QA_ANSWER_MIN_SCORE, when a user sets one, overrides the calibrated threshold.
        self.min_score = self.combination.threshold if min_score is None else min_score
        self.max_citations = max_citations

    def candidates(self, evidence: Evidence) -> list[Candidate]:
        """The sentences the reader will score: the ``candidate_count`` best by embedding cosine
        plus the share of the question's rare words they hold."""
        question = evidence.question
        weights = TermWeights.of(question.terms, evidence.statistics)
        typed = question.answer_type is not AnswerType.OTHER
        found: list[Candidate] = []
        seen: set[str] = set()
        for rank, hit in enumerate([*evidence.chunks, *evidence.candidates]):
            for sentence in hit.chunk.sentences:
                vector = evidence.sentence_vectors.get(sentence.id)
                if vector is None or sentence.text in seen or not _worth_quoting(sentence):
                    continue
                seen.add(sentence.text)  # a repeated caption: quote the first only
                found.append(
                    Candidate(
                        chunk=hit.chunk,
                        sentence=sentence,
                        rank=rank,
                        cosine=scaled_cosine(float(np.dot(evidence.vector, vector))),
                        cover=weights.share(set(stems(sentence.text))),
                        kind_match=0.0,
                        kind_missing=0.0,
                    )
                )
        found.sort(key=lambda c: c.cosine + c.cover, reverse=True)
        chosen = found[: self.candidate_count]
        # The answer kind's patterns only for the sentences that will be read.
        for candidate in chosen:
            stated = values(candidate.sentence.text, question.answer_type, question.text)
            candidate.values = stated
            candidate.kind_match = float(typed and bool(stated))
            candidate.kind_missing = float(typed and not stated)
        return chosen

    def read(self, evidence: Evidence) -> list[Candidate]:
        """The candidates scored by the reader and the combination, best first."""
        chosen = self.candidates(evidence)
        logits = self.reader.logits(evidence.question.text, [c.sentence.text for c in chosen])
        for candidate, logit in zip(chosen, logits, strict=True):
            candidate.logit = float(logit)
            candidate.probability = self.combination.probability(candidate.features())
        chosen.sort(key=lambda c: c.probability, reverse=True)
        return chosen

    def answer(self, evidence: Evidence) -> Draft:
        return self.decide(self.read(evidence), evidence.question.answer_type)

    def decide(
        self, ranked: list[Candidate], kind: AnswerType, min_score: float | None = None
    ) -> Draft:
        """The answer from candidates already read (``read``): the best one, with other
        sources' different values, or a refusal below ``min_score`` (the answerer's own threshold
        when None). Nothing is read again, so ``qa eval --refusal-curve`` tries many thresholds
        on one reading."""
        threshold = self.min_score if min_score is None else min_score
        if not ranked or ranked[0].probability < threshold:
            return self._refusal(ranked)
        best = ranked[0]
        chosen = [best, *self._other_sides(best, ranked[1:], kind, threshold)]
        citations = self._cite(chosen)
        if not citations:
            return self._refusal(ranked)
        if len(citations) == 1:
            text = f"{citations[0].quote} [1]"
        else:
            parts = [f"{c.quote} [{c.id}]" for c in citations[1:]]
            text = f"The sources disagree. {citations[0].quote} [1] But: " + " Also: ".join(parts)
        return Draft(answer=text, answered=True, citations=citations)

    def _other_sides(
        self, best: Candidate, rest: list[Candidate], kind: AnswerType, threshold: float
    ) -> list[Candidate]:
        """Strong answers from other sources that state a different value of the asked kind."""
        if kind not in _COMPARABLE or not best.values:
            return []
        stated = _keys(best.values, kind)
        sides: list[Candidate] = []
        for other in rest:
            if other.probability < threshold or len(sides) + 1 >= self.max_citations:
                break
            if other.chunk.source in {best.chunk.source, *(s.chunk.source for s in sides)}:
                continue
            theirs = _keys(other.values, kind)
            if theirs and not theirs & stated:
                stated |= theirs
                sides.append(other)
        return sides

    def _cite(self, chosen: list[Candidate]) -> list[Citation]:
        citations: list[Citation] = []
        for item in chosen:
            citation = build_citation(
                len(citations) + 1, item.chunk, _quoted(item), round(item.probability, 4)
            )
            if citation is not None:
                citations.append(citation)
        return citations

    def refusal(self, evidence: Evidence) -> Draft:
        """ "The sources don't say", with the closest passages of ``evidence``."""
        return self._refusal(self.read(evidence))

    def _refusal(self, ranked: list[Candidate]) -> Draft:
        closest = self._cite(ranked[:2])
        text = NOT_IN_SOURCES
        if closest:
            text += " The closest passages are listed, but none of them answers the question."
        return Draft(answer=text, answered=False, citations=closest)


def _keys(stated: list[str], kind: AnswerType) -> set[str]:
    """The words by which two statements of a value are the same one: a surname ("Ann Lee"
    and "Lee"), any word of a date or amount ("May 5, 1990" and "May 5")."""
    keys: set[str] = set()
    for value in stated:
        tokens = [w.lower() for w in words(value)]
        if kind in (AnswerType.PERSON, AnswerType.PLACE, AnswerType.IDENTIFIER):
            keys.update(tokens[-1:])
        else:
            keys.update(tokens)
    return keys


def _quoted(candidate: Candidate) -> StoredSentence:
    """The sentence, with the one before it when it opens with a pronoun ("They ...")."""
    sentences = candidate.chunk.sentences
    position = next((i for i, s in enumerate(sentences) if s.id == candidate.sentence.id), None)
    if position and leans_on_previous(candidate.sentence.text):
        return join_sentences(candidate.chunk, sentences[position - 1], candidate.sentence)
    return candidate.sentence
