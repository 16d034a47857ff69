"""Words as the lexical side of retrieval and answering sees them: tokens, stems, rarity.

One tokenizer serves the BM25 index and the answerer's word-overlap score, so that "opened",
"opens" and "open" meet as one stem in both.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)

#: Function words that carry no topic (plus question words: "when" does not appear in answers).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "also",
        "about",
        "after",
        "again",
        "against",
        "all",
        "am",
        "any",
        "because",
        "before",
        "below",
        "between",
        "both",
        "down",
        "during",
        "each",
        "few",
        "further",
        "s",
        "t",
        "don",
        "now",
        "ll",
        "re",
        "ve",
        "y",
        "many",
        "much",
        "tell",
        "say",
        "said",
        "says",
        "according",
        "whose",
    ]
)

_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe: one per thread.
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


# "centre", "fibres", "theatre": one spelling for both sides of the Atlantic.
_BRITISH_RE = re.compile(r"(?<=[a-z][bt])re(s?)$")
_COUNTRY_US = re.compile(r"\bU\.S\.(?=\W|$)|\bU\.S\b|\bUS\b")


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens; curly and straight apostrophes agree.

    "US" the country is kept apart from "us" the pronoun, a stop word.
    """
    return list(_words(text))


def stems(text: str, keep_stopwords: bool = False) -> list[str]:
    """Stems of the content words of ``text``."""
    return list(_stems(text, keep_stopwords))


# The answerer tokenizes the same stored sentences for question after question: remember them.
@lru_cache(maxsize=32_768)
def _words(text: str) -> tuple[str, ...]:
    tokens = []
    for token in _TOKEN.findall(_COUNTRY_US.sub("USA", text)):
        token = token.lower().replace("’", "'").removesuffix("'s")
        if token.endswith(("re", "res")):
            token = _BRITISH_RE.sub(r"er\1", token)
        tokens.append(token)
    return tuple(tokens)


@lru_cache(maxsize=32_768)
def _stems(text: str, keep_stopwords: bool) -> tuple[str, ...]:
    tokens = [w for w in _words(text) if keep_stopwords or w not in STOPWORDS]
    return tuple(_stemmer().stemWords(tokens))


#: "World Health Organization (WHO)": a name and the acronym the text defines for it.
_ACRONYM = re.compile(r"((?:[A-Z][\w’'-]*\s+){1,6}[A-Z][\w’'-]*)\s*\(([A-Z]{2,6})\)")


def acronyms(text: str) -> dict[str, tuple[str, ...]]:
    """Acronyms that ``text`` defines, as stem -> stems of the long form.

    Only a definition whose initials spell the acronym counts ("World Health
    Organization (WHO)"), so that a question's "WHO" meets a sentence that spells the name out.
    """
    found: dict[str, tuple[str, ...]] = {}
    for match in _ACRONYM.finditer(text):
        acronym = match.group(2)
        tokens = match.group(1).split()[-len(acronym) :]
        if "".join(t[0] for t in tokens).upper() == acronym:
            long_form = tuple(stems(" ".join(tokens)))
            if long_form:
                found[stems(acronym)[0] if stems(acronym) else acronym.lower()] = long_form
    return found


class TermStatistics:
    """Document frequencies over a collection of passages, for IDF weights, and the acronyms
    the passages define."""

    def __init__(self, passages: Iterable[str] = ()) -> None:
        self.document_count = 0
        self.frequencies: Counter[str] = Counter()
        self.aliases: dict[str, tuple[str, ...]] = {}
        for passage in passages:
            self.add(passage)

    def add(self, passage: str) -> None:
        self.document_count += 1
        self.frequencies.update(set(stems(passage)))
        self.aliases.update(acronyms(passage))

    def idf(self, stem: str) -> float:
        """Smoothed IDF; a stem never seen scores as rare as a stem seen once."""
        df = max(self.frequencies.get(stem, 0), 1)
        return math.log(1.0 + (self.document_count - df + 0.5) / (df + 0.5))

    def known(self, stem: str) -> bool:
        return stem in self.frequencies

    def found_in(self, term: str, text_stems: set[str]) -> bool:
        """Whether ``text_stems`` state ``term``: the stem itself, the long form of an acronym,
        or, for a word the corpus never uses, another form of it ("liftoff" for "lifting",
        "Danish" for "Denmark") that the stemmer does not join."""
        if term in text_stems:
            return True
        long_form = self.aliases.get(term)
        if long_form and all(part in text_stems for part in long_form):
            return True
        if not self.known(term) and len(term) >= 5:
            return any(
                len(stem) >= 4 and (term.startswith(stem) or stem.startswith(term))
                for stem in text_stems
            )
        return False
