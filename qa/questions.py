"""What a question asks for: validation, and the kind of answer it expects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from qa.errors import InvalidQuestionError
from qa.lexical import stems, words

MAX_QUESTION_CHARS = 2_000


class AnswerType(StrEnum):
    """The kind of fact a question asks for; an answer sentence should hold one."""

    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    AGE = "age"
    DURATION = "duration"
    MONEY = "money"
    NUMBER = "number"
    REASON = "reason"
    ENTITY = "entity"
    #: A designation, code or model: "A-320", "v2.1".
    IDENTIFIER = "identifier"
    OTHER = "other"


@dataclass(frozen=True)
class Question:
    text: str
    answer_type: AnswerType
    #: Stems of the content words, in order, without duplicates.
    terms: tuple[str, ...]


def _rule(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.I)


# First match wins, so the specific kinds come before the general ones. Patterns that start
# with ^ apply to the question's own wh-word only (see ``_asked``). Plain English question
# words, nothing of any one corpus: the answerer learns how much each kind match is worth.
_TYPE_RULES: list[tuple[re.Pattern[str], AnswerType]] = [
    (
        _rule(
            r"\bdesignations?\b",
            r"\bcode.?names?\b",
            r"\bcall.?signs?\b",
            r"\b(serial|model|flight|mission) (number|code)\b",
        ),
        AnswerType.IDENTIFIER,
    ),
    (_rule(r"\bhow old\b", r"\bwhat age\b", r"\bage of\b"), AnswerType.AGE),
    (
        _rule(
            r"\bhow long\b",
            r"\bhow many (days|weeks|months|years|hours|minutes|seconds)\b",
            r"\bduration\b",
        ),
        AnswerType.DURATION,
    ),
    (
        _rule(
            r"\bhow much (money|did|does|was|is|will)\b.*"
            r"\b(cost|budget|earn|pay|worth|spend|spent)",
            r"\bbudget\b",
            r"\bhow expensive\b",
        ),
        AnswerType.MONEY,
    ),
    (
        _rule(r"\bhow (many|much)\b", r"\bwhat number\b", r"\bhow (tall|high|far|big|large)\b"),
        AnswerType.NUMBER,
    ),
    (
        _rule(
            r"^when\b",
            r"\bwhat (date|day|year|month|time|century|decade)\b",
            r"\bwhich (date|day|year|month|century|decade)\b",
        ),
        AnswerType.DATE,
    ),
    (
        _rule(
            r"^where\b",
            r"\b(which|what) (city|country|place|site|location|region|state|town|continent)\b",
        ),
        AnswerType.PLACE,
    ),
    (_rule(r"^why\b", r"\bwhat (caused|causes|is the reason)\b", r"\breason\b"), AnswerType.REASON),
    (
        _rule(
            r"^(who|whom|whose)\b",
            r"\b(which|what) (\w+ )?(person|people|man|woman|king|leader|writer|author)\b",
        ),
        AnswerType.PERSON,
    ),
]


def validate_question(text: object, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question stripped of outer whitespace, or an InvalidQuestionError saying what to fix."""
    if not isinstance(text, str):
        raise InvalidQuestionError("The question must be text.", "Send a string.", field="question")
    stripped = text.strip()
    if not stripped:
        raise InvalidQuestionError(
            "The question is empty.",
            'Ask something, e.g. "Who designed the bridge?"',
            field="question",
        )
    if len(stripped) > max_chars:
        raise InvalidQuestionError(
            f"The question is {len(stripped):,} characters long; the limit is {max_chars:,}.",
            "Shorten it to the question itself.",
            field="question",
        )
    if "\x00" in stripped:
        raise InvalidQuestionError(
            "The question contains a NUL character.", "Remove it.", field="question"
        )
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuestionError(
            "The question is not valid Unicode text (it holds a lone surrogate).",
            "Send it as UTF-8 text.",
            field="question",
        ) from None
    return stripped


_WH_WORD = re.compile(r"\b(when|where|why|who|whom|whose|which|what|how)\b", re.I)
_YES_NO = re.compile(r"^(?:did|does|do|is|was|are|were|has|have|had|can|could|will|would)\b", re.I)


def _asked(text: str) -> str:
    """The question from its first wh-word on ("In 1900, who ..." asks "who")."""
    if _YES_NO.match(text):
        return ""  # its "when", "who" belong to a clause, not to what is asked
    match = _WH_WORD.search(text)
    return text[match.start() :] if match else text


def analyse(text: str) -> Question:
    """Classify the expected answer and pick the content terms of a validated question."""
    asked = _asked(text)
    answer_type = next(
        (kind for pattern, kind in _TYPE_RULES if pattern.search(asked)), AnswerType.OTHER
    )
    if answer_type is AnswerType.OTHER and re.match(r"which\b", asked, re.I):
        answer_type = AnswerType.ENTITY  # "Which ship ...": a named thing
    seen: dict[str, None] = {}
    for stem in stems(text):
        seen.setdefault(stem, None)
    if not seen:  # a question of stop words only ("Who is he?"): keep them rather than nothing
        for word in words(text):
            seen.setdefault(word, None)
    return Question(text=text, answer_type=answer_type, terms=tuple(seen))
