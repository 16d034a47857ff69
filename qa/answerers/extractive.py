"""The offline answerer: quotes the sentences that answer the question, or refuses.

Each sentence of the retrieved chunks gets a support score in [0, 1] from four signals:
- meaning: cosine similarity of its embedding to the question's (stored at ingest, so free here);
- words: the share of the question's rare words it contains (IDF-weighted), and of its chunk's;
- kind: whether it states the kind of fact asked for (a date for "when", a name for "who");
- rank: how high retrieval put its chunk.
The best sentence answers; below ``min_score`` the answer is a refusal. Sentences from other
sources that state a different fact of the asked kind are shown as a disagreement.

Example::

    >>> answerer = ExtractiveAnswerer(min_score=0.5)
    >>> draft = answerer.answer(evidence)   # evidence from qa.engine.Engine.retrieve
    >>> draft.answered, draft.citations[0].quote
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from qa.answerers import NOT_IN_SOURCES, Answerer, Draft, Evidence
from qa.citations import build_citation
from qa.facts import facts, normalise_fact
from qa.lexical import TermStatistics, stems, words
from qa.models import AnswerMode, Citation
from qa.questions import AnswerType, Question
from qa.store import StoredChunk, StoredSentence

_CRISP = frozenset(
    {AnswerType.AGE, AnswerType.DATE, AnswerType.MONEY, AnswerType.NUMBER, AnswerType.DURATION}
)
_FULL_DATE = re.compile(r"[A-Za-z]{3,}\.?\s*\d{1,2}\b|\b\d{1,2}\s+[A-Z][a-z]{2,}")


@dataclass(frozen=True)
class Weights:
    """How much each signal counts; they sum to 1 so that a score is in [0, 1]."""

    meaning: float = 0.45
    words: float = 0.25
    chunk_words: float = 0.10
    kind: float = 0.15
    rank: float = 0.05
    #: Cosine similarities of multilingual-e5-small live in a narrow band; map it to 0..1.
    cosine_floor: float = 0.75
    cosine_ceiling: float = 0.92


@dataclass
class ScoredSentence:
    chunk: StoredChunk
    sentence: StoredSentence
    score: float
    meaning: float
    words: float
    facts: list[str]


def coverage(terms: tuple[str, ...], text_stems: set[str], statistics: TermStatistics) -> float:
    """IDF-weighted share of ``terms`` found in ``text_stems``.

    A word the corpus never uses can match no sentence. One stray such word ("rival" where the
    text says "beat a Hollywood project") is forgiven and left to the embedding's sense of
    meaning; a question mostly about such words ("box office", "soundtrack") is not.
    """
    if not terms:
        return 0.0
    unknown = [t for t in terms if not statistics.known(t)]
    if len(unknown) * 3 <= len(terms):
        terms = tuple(t for t in terms if statistics.known(t))
    total = sum(statistics.idf(t) for t in terms)
    found = sum(statistics.idf(t) for t in terms if t in text_stems)
    return found / total if total else 0.0


def _comparable_facts(item: ScoredSentence, answer_type: AnswerType) -> set[str]:
    """The facts of a sentence that can contradict another's."""
    if answer_type is AnswerType.DATE:
        # Only full dates compare: "October 5, 2021" does not contradict "later in 2021".
        chosen = [f for f in item.facts if _FULL_DATE.search(f)]
    elif answer_type in (AnswerType.PERSON, AnswerType.PLACE, AnswerType.ENTITY):
        # Full names only: a lone capitalised word ("RIA") is too weak to disagree with.
        chosen = [f for f in item.facts if " " in f]
    else:
        chosen = item.facts
    return {normalise_fact(f) for f in chosen}


# A sentence that opens with a pronoun leans on the one before it.
_CONTINUES = re.compile(r"(?:They|He|She|It|This|These|Those|Their|His|Her|Its)\b")


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


def _worth_quoting(sentence: StoredSentence) -> bool:
    """Credit lines ("Reuters", "AFP") and fragments answer nothing."""
    return len(words(sentence.text)) >= 4


class ExtractiveAnswerer(Answerer):
    mode: AnswerMode = "extractive"

    def __init__(
        self,
        min_score: float = 0.5,
        weights: Weights | None = None,
        disagreement_margin: float = 0.12,
        max_citations: int = 3,
    ) -> None:
        self.min_score = min_score
        self.weights = weights or Weights()
        self.disagreement_margin = disagreement_margin
        self.max_citations = max_citations

    def score(self, evidence: Evidence) -> list[ScoredSentence]:
        """Every quotable sentence of the evidence (with its continuation, if any), best first."""
        w = self.weights
        question = evidence.question
        scored: list[ScoredSentence] = []
        seen_texts: set[str] = set()
        for rank, hit in enumerate(evidence.chunks):
            sentences = hit.chunk.sentences
            # Stem each sentence once: a chunk is its sentences, a pair is two of them.
            sentence_stems = [set(stems(s.text)) for s in sentences]
            chunk_stems = set().union(*sentence_stems)
            chunk_cover = coverage(question.terms, chunk_stems, evidence.statistics)
            rank_signal = 1.0 / (1.0 + rank)
            meanings = [self._meaning(evidence, s.id) for s in sentences]
            for position, sentence in enumerate(sentences):
                meaning = meanings[position]
                if meaning is None or not _worth_quoting(sentence) or sentence.text in seen_texts:
                    continue
                seen_texts.add(sentence.text)  # repeated captions: quote the first only
                units = [(sentence, meaning, sentence_stems[position])]
                following = sentences[position + 1] if position + 1 < len(sentences) else None
                if following is not None and _CONTINUES.match(following.text):
                    # "... a Hollywood project by Tom Cruise. They were planning a movie ...":
                    # the second sentence only makes sense with the first; quote them together.
                    pair = join_sentences(hit.chunk, sentence, following)
                    pair_meaning = max(meaning, meanings[position + 1] or 0.0)
                    pair_stems = sentence_stems[position] | sentence_stems[position + 1]
                    units.append((pair, pair_meaning, pair_stems))
                for unit, unit_meaning, unit_stems in units:
                    cover = coverage(question.terms, unit_stems, evidence.statistics)
                    found = facts(unit.text, question.answer_type, question.text)
                    kind = 1.0 if found else 0.0
                    if question.answer_type is AnswerType.OTHER:
                        # No kind of fact to look for: look for the thing asked about, if named.
                        named = question.focus is None or question.focus in unit_stems
                        kind = 1.0 if named else 0.5
                    score = (
                        w.meaning * unit_meaning
                        + w.words * cover
                        + w.chunk_words * chunk_cover
                        + w.kind * kind
                        + w.rank * rank_signal
                    )
                    scored.append(
                        ScoredSentence(hit.chunk, unit, score, unit_meaning, cover, found)
                    )
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def _meaning(self, evidence: Evidence, sentence_id: str) -> float | None:
        """Question/sentence cosine, mapped from the model's narrow band onto 0..1."""
        vector = evidence.sentence_vectors.get(sentence_id)
        if vector is None:
            return None
        return self.scaled_cosine(float(np.dot(evidence.vector, vector)))

    def scaled_cosine(self, cosine: float) -> float:
        """A cosine of the embedding model mapped from its narrow band onto 0..1."""
        w = self.weights
        return min(1.0, max(0.0, (cosine - w.cosine_floor) / (w.cosine_ceiling - w.cosine_floor)))

    def answer(self, evidence: Evidence) -> Draft:
        ranked = self.score(evidence)
        if not ranked or ranked[0].score < self.min_score:
            return self._refusal(ranked)
        best = ranked[0]
        chosen = [best, *self._other_sides(best, ranked[1:], evidence.question)]
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
        self, best: ScoredSentence, rest: list[ScoredSentence], question: Question
    ) -> list[ScoredSentence]:
        """Strong sentences from other sources that state a different fact of the asked kind."""
        # Crisp facts (ages, dates, amounts) disagree visibly even in a weaker sentence, as long
        # as it is about the same thing (shares the question's words); names and reasons need
        # a sentence nearly as strong as the best.
        if question.answer_type is AnswerType.OTHER:
            return []  # no kind of fact to compare
        crisp = question.answer_type in _CRISP
        margin = self.disagreement_margin * (2 if crisp else 1)
        floor = max(self.min_score, best.score - margin)
        stated = _comparable_facts(best, question.answer_type)
        sides: list[ScoredSentence] = []
        for candidate in rest:
            if candidate.score < floor or len(sides) + 1 >= self.max_citations:
                break
            if candidate.chunk.source in {best.chunk.source, *(c.chunk.source for c in sides)}:
                continue
            if crisp and candidate.words < 0.5 * best.words:
                continue
            if question.answer_type is AnswerType.REASON:
                # Reasons are not values: a sentence that is mostly new words gives another one.
                theirs = set(stems(candidate.sentence.text))
                differs = len(theirs - set(stems(best.sentence.text))) > 0.6 * len(theirs)
            else:
                found = _comparable_facts(candidate, question.answer_type)
                differs = bool(found) and bool(stated) and not (found & stated)
                stated |= found if differs else set()
            if differs:
                sides.append(candidate)
        return sides

    def _cite(self, chosen: list[ScoredSentence]) -> list[Citation]:
        citations: list[Citation] = []
        for item in chosen:
            citation = build_citation(len(citations) + 1, item.chunk, item.sentence, item.score)
            if citation is not None:
                citations.append(citation)
        return citations

    def refusal(self, evidence: Evidence) -> Draft:
        """ "The sources don't say", with the closest passages of ``evidence``."""
        return self._refusal(self.score(evidence))

    def _refusal(self, ranked: list[ScoredSentence]) -> Draft:
        distinct: dict[tuple[str, int], ScoredSentence] = {}
        for item in ranked:
            distinct.setdefault((item.chunk.source, item.sentence.start_line), item)
        closest = self._cite(list(distinct.values())[:2])
        text = NOT_IN_SOURCES
        if closest:
            text += " The closest passages are listed, but none of them answers the question."
        return Draft(answer=text, answered=False, citations=closest)
