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
    OTHER = "other"


@dataclass(frozen=True)
class Question:
    text: str
    answer_type: AnswerType
    #: Stems of the content words, in order, without duplicates.
    terms: tuple[str, ...]
    #: Stem of the noun a "what/which X ..." question asks about ("project"), if any.
    focus: str | None = None


def _rule(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.I)


# First match wins, so the specific kinds come before the general ones. Patterns that start
# with ^ apply to the question's own wh-word only (see ``_focus``).
_TYPE_RULES: list[tuple[re.Pattern[str], AnswerType]] = [
    (_rule(r"\bhow old\b", r"\bwhat age\b", r"\bage of\b", r"\bhow young\b"), AnswerType.AGE),
    (
        _rule(
            r"\bhow long\b",
            r"\bhow many (days|weeks|months|years|hours|minutes)\b",
            r"\bduration\b",
        ),
        AnswerType.DURATION,
    ),
    (
        _rule(
            r"\bhow much (money|did|does|was|is|will)\b.*"
            r"\b(cost|budget|earn|gross|pay|worth|spend|spent|take|make)",
            r"\bbudget\b",
            r"\bhow expensive\b",
            r"\bbox.office\b",
        ),
        AnswerType.MONEY,
    ),
    (
        _rule(r"\bhow (many|much)\b", r"\bwhat number\b", r"\bhow (tall|high)\b", r"\bheight\b"),
        AnswerType.NUMBER,
    ),
    (
        _rule(
            r"^when\b", r"\bwhat (date|day|year|month|time)\b", r"\bwhich (date|day|year|month)\b"
        ),
        AnswerType.DATE,
    ),
    (
        _rule(
            r"^where\b",
            r"\bwhich (city|country|place|site|spaceport|cosmodrome|location)\b",
            r"\bfrom what (city|country|place)\b",
        ),
        AnswerType.PLACE,
    ),
    (_rule(r"^why\b", r"\bwhat (caused|causes|is the reason)\b", r"\breason\b"), AnswerType.REASON),
    (
        _rule(
            r"^(who|whom|whose)\b",
            r"\bname of the\b",
            r"\bwhich (\w+ )?(actor|star|actress|cosmonaut|astronaut|director|person|people)\b",
            r"\bwhich (\w+ )?(man|woman)\b",
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
            'Ask something, e.g. "When did the crew launch?"',
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


# "What rival project was ...": the words between the wh-word and the verb name the thing asked.
_FOCUS_NOUN = re.compile(
    r"(?:what|which)\s+((?:[\w'’-]+\s+){0,3}?[\w'’-]+)\s+"
    r"(?:is|was|are|were|did|does|do|has|had|have|will|would|can|could)\b",
    re.I,
)


def _focus(text: str) -> str:
    """The question from its first wh-word on ("What animal ... when asked" asks "what")."""
    match = _WH_WORD.search(text)
    return text[match.start() :] if match else text


def analyse(text: str) -> Question:
    """Classify the expected answer and pick the content terms of a validated question."""
    answer_type = AnswerType.OTHER
    focus_text = _focus(text)
    for pattern, kind in _TYPE_RULES:
        if pattern.search(focus_text):
            answer_type = kind
            break
    if answer_type is AnswerType.OTHER and re.match(r"which\b", focus_text, re.I):
        answer_type = AnswerType.ENTITY  # "Which spacecraft ...": a named thing
    focus = None
    head = _FOCUS_NOUN.match(focus_text)
    if head:
        focus_stems = stems(head.group(1))
        focus = focus_stems[-1] if focus_stems else None
    seen: dict[str, None] = {}
    for stem in stems(text):
        seen.setdefault(stem, None)
    if not seen:  # a question of stop words only ("Who is he?"): keep them rather than nothing
        for word in words(text):
            seen.setdefault(word, None)
    return Question(text=text, answer_type=answer_type, terms=tuple(seen), focus=focus)
