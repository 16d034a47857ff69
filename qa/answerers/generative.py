"""The generative answerer: an LLM writes the answer, and every sentence is checked.

The LLM sees the retrieved chunks as numbered sources ([1]..[n], labelled with file and lines;
``qa.prompts``) and writes sentences with [n] markers. Nothing it writes is trusted:
- a marker that points at no source ([5] with four sources, [0], [1999]) is dropped;
- each remaining marker is narrowed from its chunk to the sentence (or two consecutive
  sentences) that best supports the sentence it follows;
- support is scored with the shared signals of ``qa.answerers.signals`` (embedding cosine
  mapped onto 0..1, and the IDF-weighted share of the sentence's words found in the cited
  lines), weighed and thresholded as calibrated on held-out entailment data
  (``qa/assets/support.json``, written by ``python -m qa.training.support``), and every number
  and name the sentence states must appear in the lines it cites;
- a sentence with no valid marker, or whose cited lines do not support it, is removed, so no
  citation is ever attached to an unsupported claim;
- when nothing supported remains, the answer is the extractive refusal ("The sources don't
  say", with the closest passages) and ``answered`` is false.
The result is the same contract as the extractive answer, citations renumbered 1..k.

Example::

    >>> refusal = ReadingAnswerer(Reader.load()).refusal
    >>> answerer = GenerativeAnswerer(llm, refusal, embedding.embed_query)
    >>> draft = answerer.answer(evidence)   # evidence from qa.engine.Engine.retrieve
    >>> [c.quote for c in draft.citations]
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.answer_kinds import proper_names
from qa.answerers import Answerer, Draft, Evidence, Sampling
from qa.answerers.signals import coverage, join_sentences, scaled_cosine
from qa.citations import build_citation
from qa.conversation import standalone_question
from qa.errors import ConfigError
from qa.lexical import stems, words
from qa.llm import Completion, LLMClient
from qa.markers import Claim, parse_claims
from qa.models import AnswerMode, Citation, Turn
from qa.prompts import build_messages
from qa.questions import analyse
from qa.store import StoredChunk, StoredSentence

Vector = NDArray[np.float32]


#: The calibrated support check that ships with the package.
SUPPORT_FILE = Path(__file__).resolve().parents[1] / "assets" / "support.json"


@dataclass(frozen=True)
class SupportWeights:
    """How a claim's support is scored from its two signals, and the least score that counts
    as support. The weights sum to 1 so that a score is in [0, 1]."""

    meaning: float
    words: float
    threshold: float

    def score(self, meaning: float, cover: float) -> float:
        return self.meaning * meaning + self.words * cover

    @classmethod
    def calibrated(cls, path: Path = SUPPORT_FILE) -> SupportWeights:
        """The check ``python -m qa.training.support`` calibrated (``qa/assets/support.json``)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            weights = data["weights"]
            return cls(
                meaning=float(weights["meaning"]),
                words=float(weights["words"]),
                threshold=float(data["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"cannot read the support calibration {path}: {error}",
                "reinstall qa, or write it again with `python -m qa.training.support`",
            ) from error

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": {"meaning": round(self.meaning, 6), "words": round(self.words, 6)},
            "threshold": round(self.threshold, 6),
        }


def claim_anchors(claim: str, question: str = "") -> frozenset[str]:
    """The numbers and name words ``claim`` states, each of which the lines it cites must
    state too. Names the question itself uses ("Acme") are what is asked about, not claims."""
    names = proper_names(claim, exclude=question)
    anchors = {w for w in words(claim) if w[0].isdigit()}
    anchors |= {w for name in names for w in words(name)}
    return frozenset(anchors)


@dataclass(frozen=True)
class _Claim:
    """A claim with what its support is measured by."""

    text: str
    terms: tuple[str, ...]
    #: Numbers and name words it states: each must appear in the lines it cites.
    anchors: frozenset[str]
    vector: Vector


@dataclass(frozen=True)
class Support:
    """How well one span of a chunk (a sentence, or two consecutive ones) supports one claim."""

    chunk: StoredChunk
    unit: StoredSentence
    score: float
    meaning: float
    stems: frozenset[str]
    #: The claim's anchors that this span states.
    anchors: frozenset[str]

    def cite_key(self) -> tuple[str, int, int, str]:
        return (self.chunk.source, self.unit.start_line, self.unit.end_line, self.unit.text)


class GenerativeAnswerer(Answerer):
    mode: AnswerMode = "generative"

    def __init__(
        self,
        llm: LLMClient,
        refusal: Callable[[Evidence], Draft],
        embed_query: Callable[[str], Vector],
        min_support: float | None = None,
        weights: SupportWeights | None = None,
    ) -> None:
        self.llm = llm
        #: "The sources don't say", with the closest passages: the offline answerer's refusal.
        self.refusal = refusal
        self.embed_query = embed_query
        self.weights = weights or SupportWeights.calibrated()
        #: The least support a claim needs: the calibrated threshold unless set.
        self.min_support = self.weights.threshold if min_support is None else min_support

    def standalone_question(self, question: str, history: Sequence[Turn], max_chars: int) -> str:
        return standalone_question(question, history, self.llm, max_chars)

    def with_sampling(self, sampling: Sampling) -> GenerativeAnswerer:
        clone = copy.copy(self)
        clone.llm = self.llm.with_options(sampling.temperature, sampling.max_tokens)
        return clone

    def answer(self, evidence: Evidence) -> Draft:
        if not evidence.chunks:
            return self.refusal(evidence)
        completion = self.llm.complete(build_messages(evidence.question.text, evidence.chunks))
        return self.check(completion.text, evidence)

    def stream(self, evidence: Evidence) -> Iterator[str | Draft]:
        if not evidence.chunks:
            yield self.refusal(evidence)
            return
        completion: Completion | None = None
        for item in self.llm.stream(build_messages(evidence.question.text, evidence.chunks)):
            if isinstance(item, Completion):
                completion = item
            else:
                yield item
        if completion is not None:
            yield self.check(completion.text, evidence)

    # Post-processing.
    def check(self, text: str, evidence: Evidence) -> Draft:
        """Keep the sentences of ``text`` that its cited sources support, cited to their lines."""
        citations: list[Citation] = []
        numbers: dict[tuple[str, int, int, str], int] = {}
        sentences: list[str] = []
        for claim in parse_claims(text):
            supports = self.supports(claim, evidence)
            if not supports:
                continue  # unsupported, or no marker that points at a source: never cited
            ids: list[int] = []
            for support in supports:
                key = support.cite_key()
                if key not in numbers:
                    citation = build_citation(
                        len(citations) + 1, support.chunk, support.unit, support.score
                    )
                    if citation is None:
                        continue
                    citations.append(citation)
                    numbers[key] = citation.id
                if numbers[key] not in ids:
                    ids.append(numbers[key])
            if ids:
                sentences.append(f"{claim.text} " + "".join(f"[{i}]" for i in ids))
        if not sentences:
            return self.refusal(evidence)
        return Draft(answer=" ".join(sentences), answered=True, citations=citations)

    def supports(self, claim: Claim, evidence: Evidence) -> list[Support]:
        """The cited spans that support ``claim``, best first; empty when it is unsupported."""
        count = len(evidence.chunks)
        chunks = [evidence.chunks[n - 1].chunk for n in claim.markers if 1 <= n <= count]
        cited = list({chunk.id: chunk for chunk in chunks}.values())
        if not cited:
            return []
        measured = self._measure(claim, evidence)
        found = [self._best(measured, chunk, evidence) for chunk in cited]
        best = sorted((b for b in found if b is not None), key=lambda b: b.score, reverse=True)
        if len(best) <= 1:
            return [b for b in best if self._alone(measured, b)]
        # Several sources for one sentence ("36 [1] or 37 [2]"): together they must support it,
        # and each one kept must support it alone or add a word or number the others lack.
        stems = frozenset().union(*(b.stems for b in best))
        anchors = frozenset().union(*(b.anchors for b in best))
        together = self._score(measured, max(b.meaning for b in best), stems, evidence)
        if together < self.min_support or not measured.anchors <= anchors:
            return []
        kept = [b for b in best if self._alone(measured, b)]
        terms = set(measured.terms)
        covered = frozenset().union(*(b.stems & terms for b in kept))
        stated = frozenset().union(*(b.anchors for b in kept))
        for b in best:
            if b in kept:
                continue
            if (b.stems & terms) - covered or b.anchors - stated:
                kept.append(b)
                covered |= b.stems & terms
                stated |= b.anchors
        return kept

    def _alone(self, claim: _Claim, support: Support) -> bool:
        """Whether ``support`` supports the whole claim by itself."""
        return support.score >= self.min_support and claim.anchors <= support.anchors

    def _measure(self, claim: Claim, evidence: Evidence) -> _Claim:
        return _Claim(
            text=claim.text,
            terms=analyse(claim.text).terms,
            anchors=claim_anchors(claim.text, evidence.question.text),
            vector=self.embed_query(claim.text),
        )

    def _best(self, claim: _Claim, chunk: StoredChunk, evidence: Evidence) -> Support | None:
        """The sentence of ``chunk`` that best supports ``claim``; two consecutive sentences
        only when no single one does (a claim may join a sentence and the one it leans on)."""
        sentences = chunk.sentences
        singles = [self._support(claim, chunk, (s,), evidence) for s in sentences]
        best = max((s for s in singles if s is not None), key=self._rank(claim), default=None)
        if best is not None and self._alone(claim, best):
            return best
        pairs = [self._support(claim, chunk, pair, evidence) for pair in pairwise(sentences)]
        candidates = [p for p in pairs if p is not None] + ([best] if best else [])
        return max(candidates, key=self._rank(claim), default=None)

    def _rank(self, claim: _Claim) -> Callable[[Support], tuple[bool, float]]:
        return lambda item: (self._alone(claim, item), item.score)

    def _support(
        self,
        claim: _Claim,
        chunk: StoredChunk,
        parts: tuple[StoredSentence, ...],
        evidence: Evidence,
    ) -> Support | None:
        vectors = [evidence.sentence_vectors.get(part.id) for part in parts]
        if any(v is None for v in vectors):
            return None
        # A pair means what its closer sentence means.
        meaning = max(
            scaled_cosine(float(np.dot(claim.vector, v))) for v in vectors if v is not None
        )
        unit = parts[0] if len(parts) == 1 else join_sentences(chunk, parts[0], parts[-1])
        unit_stems = frozenset(stems(unit.text))
        return Support(
            chunk=chunk,
            unit=unit,
            score=self._score(claim, meaning, unit_stems, evidence),
            meaning=meaning,
            stems=unit_stems,
            anchors=claim.anchors & frozenset(words(unit.text)),
        )

    def _score(
        self, claim: _Claim, meaning: float, unit_stems: frozenset[str], evidence: Evidence
    ) -> float:
        cover = coverage(claim.terms, set(unit_stems), evidence.statistics)
        return self.weights.score(meaning, cover)
