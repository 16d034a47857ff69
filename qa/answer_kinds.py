"""Whether a sentence holds the kind of value a question asks for, and which values it states.

General English patterns only (dates, numbers with units, amounts of money, capitalised names,
causal connectives), nothing of any one corpus. They are signals, not verdicts: the reading
answerer learns how much a kind match is worth on held-out articles, and compares the values of
two strong answers to notice that sources disagree ("1932" against "1933").
"""

from __future__ import annotations

import re

from qa.lexical import words
from qa.questions import AnswerType

_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|"
    r"ninety|hundred|thousand|million|billion|dozen"
)
_TIME_UNITS = r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century"

_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\s*\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s*\d{{4}})?"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?|(?:{_MONTHS})\s+\d{{4}}|(?:{_MONTHS})"
    r"|\d{3,4}s?\b|\d{1,2}(?:st|nd|rd|th) centur(?:y|ies)"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
    re.I,
)
_NUMBER = re.compile(rf"\b\d+(?:[.,]\d+)*\b|\b(?:{_NUMBER_WORDS})\b", re.I)
_DURATION = re.compile(
    rf"\b(?:\d+(?:[.,]\d+)?|{_NUMBER_WORDS}|a few|several|a|an)[- ](?:{_TIME_UNITS})\b", re.I
)
_MONEY = re.compile(
    r"[$€£¥₽]\s?\d[\d,.]*(?:\s*(?:million|billion|thousand|[mbk]n?)\b)?"
    r"|\b\d[\d,.]*\s*(?:million|billion|thousand)?\s*(?:dollars?|euros?|pounds?|yen|francs?)\b",
    re.I,
)
_IDENTIFIER = re.compile(r"\b[A-Za-z]+[- ]?\d+[A-Za-z0-9-]*\b|\b\d+[A-Za-z]+[A-Za-z0-9-]*\b")
_REASON = re.compile(
    r"\b(?:because|due to|owing to|caused by|as a result|since|so that|in order to|so as to"
    r"|thanks to|led to|leads to|reason)\b",
    re.I,
)
# Runs of capitalised words, allowing the small joining words of names.
_NAME = re.compile(
    r"\b[A-Z][\w’'.-]*\w(?:\s+(?:of\s+|de\s+|von\s+|van\s+|the\s+)?[A-Z][\w’'.-]*\w)*"
)
_NOT_NAMES = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "but",
        "in",
        "on",
        "at",
        "of",
        "for",
        "to",
        "by",
        "with",
        "from",
        "as",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "he",
        "she",
        "they",
        "we",
        "i",
        "his",
        "her",
        "their",
        "our",
        "after",
        "before",
        "when",
        "while",
        "if",
        "although",
        "even",
        "since",
        "now",
        "then",
        "there",
        "what",
        "which",
        "who",
        "why",
        "how",
        "once",
        "however",
        "also",
    ]
)


def proper_names(sentence: str, exclude: str = "") -> list[str]:
    """Runs of capitalised words in ``sentence`` (not its first word alone), minus any word
    that occurs in ``exclude`` (the question: what is asked about is no answer)."""
    excluded = {w.lower() for w in words(exclude)}
    names: list[str] = []
    for match in _NAME.finditer(sentence):
        tokens = [t for t in match.group(0).split() if t.lower().strip(".’'") not in _NOT_NAMES]
        tokens = [
            t
            for t in tokens
            if t.lower().removesuffix("’s").removesuffix("'s").strip(".") not in excluded
        ]
        if not tokens or (match.start() == 0 and len(tokens) == 1):
            continue  # a sentence's first word is capitalised anyway
        names.append(" ".join(tokens))
    return names


def values(sentence: str, kind: AnswerType, question: str = "") -> list[str]:
    """The values of ``kind`` that ``sentence`` states, minus those the question itself states
    ("When did X happen in 1900?" is not answered by "1900")."""
    if kind is AnswerType.DATE:
        found = [m.group(0) for m in _DATE.finditer(sentence)]
    elif kind is AnswerType.DURATION:
        found = [m.group(0) for m in _DURATION.finditer(sentence)]
    elif kind is AnswerType.MONEY:
        found = [m.group(0) for m in _MONEY.finditer(sentence)]
    elif kind in (AnswerType.NUMBER, AnswerType.AGE):
        found = [m.group(0) for m in _NUMBER.finditer(sentence)]
    elif kind is AnswerType.IDENTIFIER:
        found = [m.group(0) for m in _IDENTIFIER.finditer(sentence)]
    elif kind is AnswerType.REASON:
        found = [m.group(0) for m in _REASON.finditer(sentence)]
    elif kind in (AnswerType.PERSON, AnswerType.PLACE, AnswerType.ENTITY):
        return proper_names(sentence, exclude=question)
    else:
        return []
    asked = {w.lower() for w in words(question)}
    return [v for v in found if not {w.lower() for w in words(v)} <= asked or not words(v)]


def holds_kind(sentence: str, kind: AnswerType, question: str = "") -> bool:
    """Whether ``sentence`` states a value of the kind asked for."""
    return bool(values(sentence, kind, question))
