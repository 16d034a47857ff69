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
    #: A designation, code or model: "ISS-66", "MS-19".
    IDENTIFIER = "identifier"
    OTHER = "other"


@dataclass(frozen=True)
class Question:
    text: str
    answer_type: AnswerType
    #: Stems of the content words, in order, without duplicates.
    terms: tuple[str, ...]
    #: Stem of the noun a question asks about ("project" in "What rival project ..."), if any.
    focus: str | None = None
    #: Stems of the noun phrase it heads ("rival", "project"), the head last.
    focus_phrase: tuple[str, ...] = ()
    #: Stem of the part a casting question asks about ("wife" in "Who plays the pilot's wife?").
    character: str | None = None
    #: It asks for something besides what it names ("What else is planned?").
    asks_for_more: bool = False


def _rule(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.I)


# First match wins, so the specific kinds come before the general ones. Patterns that start
# with ^ apply to the question's own wh-word only (see ``_focus``).
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


_NP = r"((?:[\w'’-]+\s+){0,3}?[\w'’-]+?)"
_AUX = r"(?:is|was|are|were|did|does|do|has|had|have|will|would|can|could)"
_STOP = r"(?:\s+(?:of|for|like|in|on|at|behind|that|who|which|to|from|with)\b|\s*[?.!,]|\s*$)"
# The noun phrase a question asks about, tried in order on the question from its wh-word on:
_FOCUS_PATTERNS = [
    # "What rival project was ...", "Which Kazakh spaceport did ..."
    re.compile(rf"(?:what|which)\s+{_NP}\s+{_AUX}\b", re.I),
    # "What is the running time of ...", "Who was the cinematographer on ...", "Who is the CEO"
    re.compile(rf"what\s+(?:is|was|are|were)\s+(?:the\s+|a\s+|an\s+)?{_NP}{_STOP}", re.I),
    re.compile(rf"who\s+(?:is|was|are|were)\s+(?:the|a|an)\s+{_NP}{_STOP}", re.I),
    # "Who plays the sick cosmonaut's wife ..."
    re.compile(rf"who\s+(?:plays?|played|will play)\s+(?:the\s+|a\s+)?{_NP}{_STOP}", re.I),
    # "Which spacecraft carried ...", "Which two cosmonauts already ..."
    re.compile(
        rf"which\s+{_NP}\s+(?:\w+ed|\w+ies|flew|paid|made|won|plays|and|already|also|who|that)\b",
        re.I,
    ),
    re.compile(r"which\s+([\w'’-]+)\b", re.I),
]
# "What is the name of the backup actress ...": the name is not the thing asked about.
_NAME_OF = re.compile(rf"\b(?:name|member)s? of (?:the\s+|a\s+|an\s+)?{_NP}{_STOP}", re.I)
#: Heads that say nothing about what is asked ("What else ...", "What is wrong with ...").
_GENERIC_HEADS = frozenset(
    ["name", "member", "thing", "kind", "type", "sort", "part", "one", "exact", "els", "wrong"]
)
#: A yes/no question ("Did anything go wrong when ...") asks for no kind of fact.
_YES_NO = re.compile(r"^(?:did|does|do|is|was|are|were|has|have|had|can|could|will|would)\b", re.I)


def _focus_phrase(focus_text: str) -> tuple[str, ...]:
    """Stems of the noun phrase a question asks about, the head last; () if none."""
    if re.search(r"\babout\s*[?.!]?\s*$", focus_text, re.I):
        return ()  # "What is the film about?": asks for its topic, not for a thing named
    for pattern in _FOCUS_PATTERNS:
        match = pattern.match(focus_text)
        if not match:
            continue
        found = _phrase_stems(match.group(1))
        if found and found[-1] in _GENERIC_HEADS:
            named = _NAME_OF.search(focus_text)
            found = _phrase_stems(named.group(1)) if named else ()
        if found and found[-1] not in _GENERIC_HEADS:
            return found
        return ()
    return ()


# "Who plays the sick cosmonaut's wife in ...", "Which actor plays the injured cosmonaut who ...".
_PLAYS = re.compile(
    r"\bplays?\s+(?:the|a|an)\s+([\w’' -]+?)(?:\s+(?:in|on|who|that|which|of|from)\b|[?.!]|$)",
    re.I,
)
#: Nouns that name a part in general, not a character: "Who plays the lead role?".
_PARTS = frozenset(stems("role part lead character roles parts"))


def _character(text: str) -> str | None:
    """The stem of the character a casting question asks about, or None."""
    match = _PLAYS.search(text)
    if not match:
        return None
    phrase = _phrase_stems(match.group(1))
    if not phrase or phrase[-1] in _PARTS:
        return None
    return phrase[-1]


def _phrase_stems(phrase: str) -> tuple[str, ...]:
    """Stems of a noun phrase; of a possessive, the thing possessed ("cosmonaut's wife")."""
    return tuple(stems(re.split(r"['’]s\s+", phrase)[-1]))


# "Apart from the feature film, what else ...": what the question sets aside is not what it asks
# about, so its words must not pull toward sentences about the feature film.
_SET_ASIDE = re.compile(
    r"\b(?:apart from|aside from|besides|other than|except(?: for)?|in addition to)\s+[^,?;]+?"
    r"(?:,\s*|(?=\s+(?:what|which|who|whom|where|when|how)\b))",
    re.I,
)


_ELSE = re.compile(r"\b(?:what|who|which|where|anything|anyone|anywhere)\s+else\b", re.I)


def asked_part(text: str) -> str:
    """The question without what it sets aside ("Besides the film itself, what else ...")."""
    asked = _SET_ASIDE.sub(" ", text).strip(" ,;")
    return re.sub(r"\s{2,}", " ", asked) if words(asked) else text


def _focus(text: str) -> str:
    """The question from its first wh-word on ("What animal ... when asked" asks "what")."""
    match = _WH_WORD.search(text)
    return text[match.start() :] if match else text


def analyse(text: str) -> Question:
    """Classify the expected answer and pick the content terms of a validated question."""
    answer_type = AnswerType.OTHER
    asked = asked_part(text)
    focus_text = _focus(asked)
    if _YES_NO.match(asked):
        focus_text = ""  # its "when", "who" belong to a clause, not to what is asked
    for pattern, kind in _TYPE_RULES:
        if pattern.search(focus_text):
            answer_type = kind
            break
    if answer_type is AnswerType.OTHER and re.match(r"which\b", focus_text, re.I):
        answer_type = AnswerType.ENTITY  # "Which spacecraft ...": a named thing
    phrase = _focus_phrase(focus_text)
    focus = phrase[-1] if phrase else None
    seen: dict[str, None] = {}
    for stem in stems(asked):
        seen.setdefault(stem, None)
    if not seen:  # a question of stop words only ("Who is he?"): keep them rather than nothing
        for word in words(asked):
            seen.setdefault(word, None)
    return Question(
        text=text,
        answer_type=answer_type,
        terms=tuple(seen),
        focus=focus,
        focus_phrase=phrase,
        character=_character(text) if answer_type is AnswerType.PERSON else None,
        asks_for_more=bool(_ELSE.search(asked)),
    )
