"""The offline answerer: quotes the sentences that answer the question, or refuses.

Only a sentence that holds the kind of fact asked for is a candidate: a date for "when", a
number with a unit for "how tall", the name next to the role for "which cosmonaut", a cause for
"why". The sentences of the retrieved chunks, and of the chunks ranked just below them, get a
support score in [0, 1] from these signals:
- meaning: cosine similarity of its embedding to the question's (stored at ingest, so free here);
- words: the share of the question's rare words it contains (IDF-weighted), and of its chunk's;
- kind: how squarely its fact answers (a full date beats "earlier this year");
- rank: how high retrieval put its chunk;
- agreement: other lines that state the same fact.
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
from qa.facts import (
    cast_names,
    facts,
    modifies_another_noun,
    normalise_fact,
    role_names,
    time_units,
    title_cased,
)
from qa.lexical import TermStatistics, stems, words
from qa.models import AnswerMode, Citation
from qa.questions import AnswerType, Question
from qa.store import StoredChunk, StoredSentence

_CRISP = frozenset(
    {AnswerType.AGE, AnswerType.DATE, AnswerType.MONEY, AnswerType.NUMBER, AnswerType.DURATION}
)
_FULL_DATE = re.compile(r"[A-Za-z]{3,}\.?\s*\d{1,2}\b|\b\d{1,2}\s+[A-Z][a-z]{2,}")
# A date that names a month, a year or a weekday, but not a day of the month.
_PARTIAL_DATE = re.compile(
    r"\b(?:19|20)\d{2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|day\b", re.I
)
# "Its launch date has not been set", "is still TBC": the sources' answer to "when" is that
# there is no date yet.
_UNDATED = re.compile(
    r"\b(?:has|have|had) (?:not|yet to) (?:yet )?(?:been |be )?"
    r"(?:set|revealed|confirmed|announced|decided|fixed)\b|\bstill (?:TBC|TBA|unknown)\b",
    re.I,
)
# Reasons: a cause answers "why" better than a purpose, which beats a bare "needs".
_CAUSE = re.compile(
    r"\b(?:because|due to|owing to|since|struck by|suffer|condition|after being|caused by|"
    r"too sick|ill\b)",
    re.I,
)
# "How tall ...", "How far ...": a number with a unit of measure, not any number.
_MEASURE_QUESTION = re.compile(r"\bhow (?:tall|high|far|heavy|wide|deep)\b|\bheight\b", re.I)
_MEASURE = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:-\s*)?(?:m|cm|mm|km|kg|t|ft|in|lbs?|meters?|metres?|centimet(?:er|re)s?|"
    r"kilomet(?:er|re)s?|feet|foot|inch(?:es)?|miles?|tons?|tonnes?|kilograms?|pounds?)\b",
    re.I,
)
_MORE = re.compile(
    r"\b(?:also|as well|in addition|additionally|besides|too|further|another)\b", re.I
)
# "not only for professionals but also for ..." adds to a contrast, not to what was said before.
_NOT_ONLY = re.compile(r"\bnot only\b.*?\bbut (?:also|as well)\b", re.I)
_PURPOSE = re.compile(r"^(?:to |so that|in order to|as a means)", re.I)
# "Why does he need an operation?", "Why can't she be flown home?", "Why was the ride rough?"
# ask for a cause; a purpose ("to save a crew member") answers why someone acts ("Why is
# Russia making the film?").
_WHY_NEED = re.compile(
    r"\bwhy\b.*\b(?:needs?|needed|requires?|required|can['’]?t|cannot|couldn['’]?t)\b", re.I
)
_WHY_BE = re.compile(r"\bwhy\s+(?:is|was|are|were|isn['’]t|wasn['’]t)\b", re.I)
_ACTING = re.compile(r"\b\w{2,}ing\b", re.I)


def asks_for_a_cause(question: str) -> bool:
    """Whether a "why" question asks about a state, which only a cause explains."""
    return bool(_WHY_NEED.search(question)) or bool(
        _WHY_BE.search(question) and not _ACTING.search(question)
    )


#: Kinds of fact that several sources can state alike; agreement among them is evidence. Not
#: names: the people a corpus is about occur in every other sentence.
_COUNTABLE = frozenset(
    {
        AnswerType.DATE,
        AnswerType.PLACE,
        AnswerType.AGE,
        AnswerType.DURATION,
        AnswerType.MONEY,
        AnswerType.NUMBER,
    }
)


#: How squarely names answer a "which cosmonaut" question when none stands next to the role:
#: when no sentence puts a name in that role, and when another sentence does.
_NAMES = 0.6
_UNPLACED_NAMES = 0.3


@dataclass(frozen=True)
class Weights:
    """How much each signal counts; they sum to 1 so that a score is in [0, 1]."""

    meaning: float = 0.45
    words: float = 0.25
    chunk_words: float = 0.10
    kind: float = 0.15
    rank: float = 0.05
    #: Added at most to a sentence whose fact other sentences state too.
    agreement: float = 0.08
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
    #: How squarely its facts answer (a date with its day: 1; "earlier this year": 0.4).
    squarely: float = 1.0
    #: Its names stand next to the role asked about ("cosmonaut Anton Shkaplerov").
    by_role: bool = False


def coverage(terms: tuple[str, ...], text_stems: set[str], statistics: TermStatistics) -> float:
    """IDF-weighted share of ``terms`` found in ``text_stems``.

    A word the corpus never uses can match no sentence. One stray such word ("rival" where the
    text says "beat a Hollywood project") is forgiven and left to the embedding's sense of
    meaning; a question mostly about such words ("box office", "soundtrack") is not.
    """
    return TermWeights.of(terms, statistics).share(text_stems)


@dataclass(frozen=True)
class TermWeights:
    """The terms that count towards ``coverage``, with their IDF weights: worked out once per
    question, not once for each of the hundreds of sentences it is held against."""

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

    def share(self, text_stems: set[str]) -> float:
        if not self.total:
            return 0.0
        found = sum(w for t, w in self.weights if self.statistics.found_in(t, text_stems))
        return found / self.total


def _fact_key(fact: str, answer_type: AnswerType) -> str:
    """What two statements of one fact share: "October 5, 2021" and "October 5"; "Oleg
    Artemyev" and "Artemyev"; "Baikonur Cosmodrome" and "Baikonur, Kazakhstan"."""
    tokens = normalise_fact(fact).split()
    if not tokens:
        return ""
    if answer_type is AnswerType.DATE and _FULL_DATE.search(fact):
        return " ".join(tokens[:2])
    if answer_type in (AnswerType.PERSON, AnswerType.ENTITY):
        return tokens[-1]
    if answer_type is AnswerType.PLACE:
        return tokens[0]
    return " ".join(tokens)


def _comparable_facts(item: ScoredSentence, answer_type: AnswerType) -> set[str]:
    """The facts of a sentence that can contradict another's."""
    if answer_type is AnswerType.DATE:
        # Only full dates compare: "October 5, 2021" does not contradict "later in 2021".
        chosen = [f for f in item.facts if _FULL_DATE.search(f)]
    elif answer_type is AnswerType.REASON:
        chosen = [f for f in item.facts if _CAUSE.search(f)]
    elif answer_type in (AnswerType.PERSON, AnswerType.PLACE, AnswerType.ENTITY):
        # Full names only: a lone capitalised word ("RIA") is too weak to disagree with.
        chosen = [f for f in item.facts if " " in f]
    else:
        chosen = item.facts
    return {_fact_key(f, answer_type) for f in chosen}


def _states_otherwise(best: ScoredSentence, other: ScoredSentence, answer_type: AnswerType) -> bool:
    """Whether ``other`` can contradict ``best`` at all: it answers as squarely ("later in
    2021" does not contradict "October 5"); names stand in the role asked about in both
    (two names in two sentences are not two answers otherwise); it does not merely name what
    ``best`` names as well; durations are of one scale ("three hours" to reach the station
    and a "12-day" stay are two facts, not two answers)."""
    if other.squarely < best.squarely:
        return False
    if answer_type in (AnswerType.PERSON, AnswerType.ENTITY) and not (
        best.by_role and other.by_role
    ):
        return False
    said = best.sentence.text.lower()
    if other.facts and all(_fact_key(f, answer_type) in said for f in other.facts):
        return False
    if answer_type is AnswerType.DURATION:
        units = set().union(*(time_units(f) for f in best.facts))
        if not any(time_units(f) & units for f in other.facts):
            return False
    return True


# A sentence that opens with a pronoun leans on the one before it.
_CONTINUES = re.compile(r"(?:They|He|She|It|This|These|Those|Their|His|Her|Its)\b")


_DEFINITE = re.compile(r"(?:The|This|That|These|Those|Such)\s+([A-Za-z-]+)")


def leaning(previous_stems: set[str], following: str) -> str | None:
    """How ``following`` leans on the sentence before it, if it does: it opens with a
    pronoun ("They were planning ..."), or with a definite noun the sentence before
    introduced ("... have been training since June 1. The training regimen included ...")."""
    if _CONTINUES.match(following):
        return "pronoun"
    definite = _DEFINITE.match(following)
    if definite is not None and set(stems(definite.group(1))) & previous_stems:
        return "definite"
    return None


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
        hits = [*evidence.chunks, *evidence.candidates]
        weights = TermWeights.of(question.terms, evidence.statistics)
        # "backup" always on "crew" in the sources: no name is a "backup actress".
        elsewhere = modifies_another_noun(question.focus_phrase, *(h.chunk.text for h in hits))
        for rank, hit in enumerate(hits):
            sentences = hit.chunk.sentences
            # Stem each sentence once: a chunk is its sentences, a pair is two of them.
            sentence_stems = [set(stems(s.text)) for s in sentences]
            chunk_stems = set().union(*sentence_stems)
            chunk_cover = weights.share(chunk_stems)
            rank_signal = 1.0 / (1.0 + rank)
            meanings = [self._meaning(evidence, s.id) for s in sentences]
            for position, sentence in enumerate(sentences):
                meaning = meanings[position]
                if meaning is None or not _worth_quoting(sentence) or sentence.text in seen_texts:
                    continue
                seen_texts.add(sentence.text)  # repeated captions: quote the first only
                # (quoted span, its meaning, its stems, the text whose facts answer)
                units = [(sentence, meaning, sentence_stems[position], sentence.text)]
                following = sentences[position + 1] if position + 1 < len(sentences) else None
                leans = leaning(sentence_stems[position], following.text) if following else None
                if following is not None and leans is not None:
                    # "... a Hollywood project by Tom Cruise. They were planning a movie ...":
                    # the second sentence only makes sense with the first; quote them together.
                    # A pronoun's sentence means little alone, so the pair means what the
                    # better of the two does; "The training regimen included ..." means what
                    # it says, the sentence before only tells which training.
                    pair = join_sentences(hit.chunk, sentence, following)
                    second = meanings[position + 1] or 0.0
                    pair_meaning = max(meaning, second) if leans == "pronoun" else second
                    pair_stems = sentence_stems[position] | sentence_stems[position + 1]
                    # The interview date of "Peresild, seen here on June 4. The actress is
                    # part of a crew ..." is no date of the crew's: a definite sentence
                    # states its own facts.
                    stating = pair.text if leans == "pronoun" else following.text
                    units.append((pair, pair_meaning, pair_stems, stating))
                for unit, unit_meaning, unit_stems, stating in units:
                    slot = self._slot(stating, unit_stems, evidence, hit.chunk.text, elsewhere)
                    if slot is None:
                        continue  # it does not hold the kind of fact asked for
                    found, kind, by_role = slot
                    cover = weights.share(unit_stems)
                    score = (
                        w.meaning * unit_meaning
                        + w.words * cover
                        + w.chunk_words * chunk_cover
                        + w.kind * kind
                        + w.rank * rank_signal
                    )
                    scored.append(
                        ScoredSentence(
                            hit.chunk, unit, score, unit_meaning, cover, found, kind, by_role
                        )
                    )
        if question.answer_type in _COUNTABLE:
            self._add_agreement(scored, question.answer_type)
        asked = question.answer_type
        holders = {_fact_key(f, asked) for item in scored if item.by_role for f in item.facts}
        if holders:
            # The sources name someone in the very role asked about: a sentence that names
            # others without that role is a weaker guess than it would be otherwise.
            for item in scored:
                named = {_fact_key(f, asked) for f in item.facts}
                if not item.by_role and item.squarely < 1.0 and not named & holders:
                    item.score -= w.kind * (item.squarely - _UNPLACED_NAMES)
                    item.squarely = _UNPLACED_NAMES
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def _add_agreement(self, scored: list[ScoredSentence], answer_type: AnswerType) -> None:
        """Raise sentences whose fact other lines state too ("October 5" in nine captions and
        articles), a little: many weak echoes must not outvote one strong statement."""
        lines: dict[str, set[tuple[str, int]]] = {}
        # Only facts that answer squarely count: "earlier this year" agrees with nothing.
        scored = [item for item in scored if item.squarely >= 1.0]
        for item in scored:
            for key in {_fact_key(f, answer_type) for f in item.facts}:
                lines.setdefault(key, set()).add((item.chunk.source, item.sentence.start_line))
        for item in scored:
            support = max((len(lines[_fact_key(f, answer_type)]) for f in item.facts), default=1)
            bonus = self.weights.agreement * min(1.0, (support - 1) / 4)
            item.score = min(1.0, item.score + bonus)

    def _slot(
        self,
        text: str,
        text_stems: set[str],
        evidence: Evidence,
        context: str = "",
        elsewhere: bool = False,
    ) -> tuple[list[str], float, bool] | None:
        """The facts of ``text`` that answer what the question asks, how squarely (0..1) and
        whether they are names standing next to the role asked about; None when it holds none:
        a sentence without a date cannot say when; one that only repeats the question's words
        says nothing new."""
        question = evidence.question
        asked = set(question.terms)
        kind = question.answer_type
        if kind is AnswerType.OTHER:
            if len(text_stems - asked) < 2:
                return None
            # No kind of fact to look for: look for the thing asked about, if named.
            focus = question.focus
            named = focus is None or evidence.statistics.found_in(focus, text_stems)
            if question.asks_for_more:
                # "What else is planned?" asks for something more: "... are also planned".
                named = named and bool(_MORE.search(_NOT_ONLY.sub(" ", text)))
            return [], 1.0 if named else 0.5, False
        found: list[str] | None = None
        squarely = 1.0
        if question.character:
            # "Who plays the pilot's wife?": only a line that casts someone in that part
            # answers; "a surgeon, played by Peresild" says nothing of the wife.
            cast = cast_names(text, question.character)
            return (cast, 1.0, True) if cast else None
        if kind in (AnswerType.PERSON, AnswerType.ENTITY) and question.focus:
            if title_cased(text):
                return None  # a headline's capitals are not names
            found = role_names(text, question.focus_phrase, question.text, context, elsewhere)
            if found is None:
                squarely = _NAMES  # names, but none standing next to the role asked about
        by_role = found is not None
        if found is None:
            found = facts(text, kind, question.text)
        # A fact made of the question's own words ("needs" for "why ... need") answers nothing.
        found = [f for f in found if set(stems(f)) - asked or not stems(f)]
        if kind is AnswerType.NUMBER and _MEASURE_QUESTION.search(question.text):
            found = _MEASURE.findall(text)
        if kind is AnswerType.DATE and not found:
            found = [m.group(0) for m in _UNDATED.finditer(text)]
            if found:
                return found, 0.7, False
        if not found:
            return None
        if kind is AnswerType.DATE:
            if any(_FULL_DATE.search(f) for f in found):
                squarely = 1.0
            elif any(_PARTIAL_DATE.search(f) for f in found):
                squarely = 0.7
            else:
                squarely = 0.4  # "earlier this year"
        elif kind is AnswerType.REASON:
            if any(_CAUSE.search(f) for f in found):
                squarely = 1.0
            elif asks_for_a_cause(question.text):
                return None  # a purpose or a "needs" is no cause
            elif any(_PURPOSE.search(f) for f in found):
                squarely = 0.6
            else:
                squarely = 0.3  # "needs", "requires"
        return found, squarely, by_role

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
            if not _states_otherwise(best, candidate, question.answer_type):
                continue
            found = _comparable_facts(candidate, question.answer_type)
            differs = bool(found) and bool(stated) and not (found & stated)
            if differs:
                stated |= found
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
