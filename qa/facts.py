"""Finding, in a sentence, the kind of fact a question asks for (a date, a name, an age...).

The extractive answerer prefers sentences that hold such a fact, and compares the facts of
two sentences to notice that sources disagree (36 vs 37 years old).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise

from qa.lexical import words
from qa.questions import AnswerType

_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December|"
    r"Jan\.|Feb\.|Mar\.|Apr\.|Aug\.|Sept?\.|Oct\.|Nov\.|Dec\."
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"twenty|thirty|forty|fifty|hundred|dozen"
)
_UNITS = r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?"
_UNIT = re.compile(rf"\b({_UNITS})", re.I)

_PATTERNS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.DATE: re.compile(
        rf"\b(?:(?:{_MONTHS})\s*\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s*\d{{4}})?"
        rf"|\d{{1,2}}\s+(?:{_MONTHS})"
        rf"(?:\s+\d{{4}})?|(?:{_MONTHS})\s+\d{{4}}|(?:in|since|by|of|until)\s+(?:{_MONTHS}|\d{{4}})"
        r"|\b(?:19|20)\d{2}\b|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
        r"|tomorrow|yesterday|today|tonight|next (?:week|month|year)|last (?:week|month|year)"
        r"|this (?:week|month|year)|earlier this (?:week|month|year)"
        r"|later (?:this|in) (?:year|\d{4}))",
        re.I,
    ),
    AnswerType.AGE: re.compile(
        r"\b\d{1,3}[- ]years?[- ]old\b|\baged?\s+\d{1,3}\b|\b\d{1,3}, (?:who|is)\b", re.I
    ),
    AnswerType.DURATION: re.compile(
        # "37-year-old" is an age, not a duration.
        rf"\b(?:\d+|{_NUMBER_WORDS}|a few|several|a|an)[- ](?:{_UNITS})(?:[- ]long)?\b(?![- ]old)",
        re.I,
    ),
    AnswerType.MONEY: re.compile(
        r"[$€£₽]\s?\d[\d,.]*(?:\s*(?:million|billion|thousand|[mbk]n?)\b)?"
        r"|\b\d[\d,.]*\s*(?:million|billion)?\s*(?:dollars?|rubles?|roubles?|euros?|pounds?)\b",
        re.I,
    ),
    # "ISS-66", "Soyuz MS-19", "B52": letters joined to a number (not "October 5").
    AnswerType.IDENTIFIER: re.compile(r"\b[A-Z][A-Za-z]*(?:[- ][A-Z]+)?-?\d+[A-Za-z0-9-]*\b"),
    AnswerType.NUMBER: re.compile(rf"\b\d+(?:[.,]\d+)?\b|\b(?:{_NUMBER_WORDS})\b", re.I),
    AnswerType.REASON: re.compile(
        r"\b(?:because|due to|owing to|since|so that|in order to|to (?:save|treat|operate|help)"
        r"|in need of|needs?|requires?|required|struck by|suffer(?:s|ing)? from|with an? [\w ]+ "
        r"condition|after being|as a means|caused by|too sick|ill)\b",
        re.I,
    ),
}

# Capitalised words that are not names of people or places in these texts.
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
        "russian",
        "russians",
        "american",
        "us",
        "u.s",
        "ap",
        "afp",
        "reuters",
        "getty",
    ]
)
_NAME = re.compile(r"\b[A-Z][\w’'.-]*[\w](?:\s+(?:[A-Z][\w’'.-]*[\w]|de|von|van|bin))*")


def proper_names(sentence: str, exclude: str = "") -> list[str]:
    """Runs of capitalised words in ``sentence`` (not at its start unless multi-word),
    minus any word that occurs in ``exclude`` (the question)."""
    excluded = set(words(exclude))
    names: list[str] = []
    for match in _NAME.finditer(sentence):
        tokens = [t for t in match.group(0).split() if t.lower().strip(".’'") not in _NOT_NAMES]
        tokens = [
            t for t in tokens if t.lower().removesuffix("’s").removesuffix("'s") not in excluded
        ]
        if not tokens:
            continue
        if match.start() == 0 and len(tokens) == 1:
            continue  # a sentence's first word is capitalised anyway
        names.append(" ".join(tokens))
    return names


# A place is a name after a locative preposition: "from Baikonur", "at the Baikonur Cosmodrome".
_PLACE = re.compile(
    r"\b(?:from|at|in|near|to|toward|towards|outside|inside)\s+(?:the\s+)?"
    r"((?:[A-Z][\w’'.-]*\w)(?:,?\s+[A-Z][\w’'.-]*\w)*)"
)
_NOT_PLACES = re.compile(
    r"^(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


#: A question that asks where from ("launched from?") is not answered by where to.
_ORIGIN = re.compile(r"\bfrom\s*\??\s*$|^from\s+(?:where|which)\b", re.I)
_TOWARDS = re.compile(r"^(?:to|toward|towards)\b", re.I)


def places(sentence: str, exclude: str = "") -> list[str]:
    """Names that follow a locative preposition, minus those in ``exclude`` (the question)."""
    excluded = set(words(exclude))
    origin = bool(_ORIGIN.search(exclude.strip()))
    found = []
    for match in _PLACE.finditer(sentence):
        if origin and _TOWARDS.match(match.group(0)):
            continue
        name = match.group(1)
        if _NOT_PLACES.match(name) or all(w in excluded for w in words(name)):
            continue
        found.append(name)
    return found


_NAMED = frozenset({AnswerType.PERSON, AnswerType.ENTITY, AnswerType.PLACE})


def title_cased(sentence: str) -> bool:
    """A headline ("Russian Film Crew Set to Make First Ever Movie in Space"): its capitals say
    nothing about which words are names."""
    long_words = [w for w in sentence.split() if len(w) >= 4 and w[0].isalpha()]
    return len(long_words) >= 3 and all(w[0].isupper() for w in long_words)


def facts(sentence: str, answer_type: AnswerType, question: str = "") -> list[str]:
    """The facts of ``answer_type`` that ``sentence`` states and ``question`` does not."""
    if answer_type in _NAMED and title_cased(sentence):
        return []
    if answer_type is AnswerType.PLACE:
        return places(sentence, exclude=question)
    if answer_type is AnswerType.PERSON:
        # A person has a full name ("Oleg Artemyev") or is named after "by" ("played by Peresild");
        # a lone capitalised word is as likely an agency or a place ("Roscosmos").
        return [
            name
            for name in proper_names(sentence, exclude=question)
            if " " in name or re.search(rf"\bby\s+{re.escape(name)}\b", sentence)
        ]
    if answer_type is AnswerType.ENTITY:
        return proper_names(sentence, exclude=question)
    asked = question.lower()
    return [fact for fact in _matches(sentence, answer_type) if fact.lower() not in asked]


# The answerer reads the same stored sentences for question after question: what does not
# depend on the question is worked out once per sentence.
@lru_cache(maxsize=16_384)
def _matches(sentence: str, answer_type: AnswerType) -> tuple[str, ...]:
    pattern = _PATTERNS.get(answer_type)
    return tuple(m.group(0) for m in pattern.finditer(sentence)) if pattern else ()


@lru_cache(maxsize=16_384)
def _word_spans(text: str) -> tuple[tuple[int, int, tuple[str, ...], str], ...]:
    """Each word of ``text``: where it is, its stems (stop words kept) and its lower case."""
    from qa.lexical import stems

    return tuple(
        (m.start(), m.end(), tuple(stems(m.group(0), keep_stopwords=True)), m.group(0).lower())
        for m in _WORD_SPAN.finditer(text)
    )


def time_units(fact: str) -> set[str]:
    """The units of a duration, singular: "a 12-day stay" -> {"day"}."""
    return {unit.lower().removesuffix("s") for unit in _UNIT.findall(fact)}


def normalise_fact(fact: str) -> str:
    """A comparable form: "37-year-old" and "37 years old" agree, case and punctuation aside."""
    tokens = words(fact)
    return " ".join(
        t.rstrip("s") if t in {"years", "days", "months", "weeks"} else t for t in tokens
    )


_WORD_SPAN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Between a name and its role: nothing ("cosmonaut Anton Shkaplerov"), or a comma and at most
# three words before the role ("Konstantin Ernst, CEO of ...", "Roscosmos, Russia's state space
# agency").
_BEFORE_ROLE = re.compile(r"\s*(?:,\s*(?:[\w’'-]+\s+){0,3})?")
# After the role: nothing ("cosmonaut Anton Shkaplerov"), or a short phrase and a comma
# ("cosmonauts currently onboard the station, Oleg Novitskiy").
_AFTER_ROLE = re.compile(r"\s*(?:(?:[\w’'-]+\s+){0,4}[\w’'-]+,\s*)?")


def modifies_another_noun(phrase: tuple[str, ...], *texts: str) -> bool:
    """Whether ``texts`` use a modifier of ``phrase`` on a noun other than its head: a "backup"
    that is always a "backup crew" says there is no "backup actress" to name."""
    from qa.lexical import STOPWORDS

    if len(phrase) < 2:
        return False
    *modifiers, head = phrase
    tokens = [(stem, word) for text in texts for _, _, stem, word in _word_spans(text)]
    on_another = False
    for (stem, _), (next_stem, next_word) in pairwise(tokens):
        if not stem or stem[0] not in modifiers or next_word in STOPWORDS or not next_stem:
            continue
        if next_stem[0] == head:
            return False  # the sources do use the whole phrase
        on_another = on_another or next_stem[0] not in modifiers
    return on_another


def role_names(
    sentence: str,
    phrase: tuple[str, ...],
    question: str = "",
    context: str = "",
    elsewhere: bool = False,
) -> list[str] | None:
    """Names that stand next to the role a question asks about ("Which cosmonaut ...":
    "cosmonaut Oleg Artemyev"), minus names the question uses.

    ``phrase`` is the stems of the role's noun phrase, its head last. None when no name stands
    next to the head noun (the role may be worded otherwise, "a surgeon, played by Peresild":
    look at every name); [] when the question's modifier is on another noun, in the sentence or
    its ``context`` paragraph ("a two-person backup crew" is not the "backup actress"), or
    ``elsewhere`` in the sources (see :func:`modifies_another_noun`).
    """
    from qa.lexical import stems  # the stemmer, as the question's phrase was made

    *modifiers, head = phrase
    tokens = [(start, end, stem) for start, end, stem, _ in _word_spans(sentence)]
    roles: list[tuple[int, int]] = []
    uses_head = conflicts = False
    for index, (_, end, stem) in enumerate(tokens):
        if head not in stem:
            continue
        uses_head = True
        preceding = {s for _, _, st in tokens[max(0, index - 3) : index] for s in st}
        if modifiers and not preceding & set(modifiers):
            nearby = {s for _, _, st in tokens for s in st} | set(stems(context))
            if elsewhere or nearby & set(modifiers):
                conflicts = True
                continue  # the modifier is on another noun here
        first = index
        while first > 0 and tokens[first - 1][2] and tokens[first - 1][2][0] in modifiers:
            first -= 1
        roles.append((tokens[first][0], end))
    if not uses_head:
        return None
    excluded = set(words(question))
    found: list[str] = []
    for match in _NAME.finditer(sentence):
        if any(head in stems(t, keep_stopwords=True) for t in match.group(0).split()[1:]):
            found.append(match.group(0))  # the role is part of the name: "Gagarin Center"
            continue
        name = " ".join(
            t
            for t in match.group(0).split()
            if t.lower().strip(".’'") not in _NOT_NAMES
            and t.lower().removesuffix("’s").removesuffix("'s") not in excluded
        )
        if not name:
            continue
        for role_start, role_end in roles:
            after = sentence[role_end : match.start()]
            before = sentence[match.end() : role_start]
            if (match.start() >= role_end and _AFTER_ROLE.fullmatch(after)) or (
                match.end() <= role_start and _BEFORE_ROLE.fullmatch(before)
            ):
                found.append(name)
                break
    if not found and not conflicts:
        return None  # the role is named, but its holder is linked otherwise ("played by")
    return found


_CAST_NAME = r"([A-Z][\w’'.-]*\w(?:\s+[A-Z][\w’'.-]*\w)*)"
# "a surgeon, played by Peresild", "a Russian doctor (played by Peresild)".
_PLAYED_BY = re.compile(rf"([\w’'-]+)[\s,(]*played by\s+{_CAST_NAME}")
# "Peresild plays a surgeon", "Peresild, who will play the doctor".
_PLAYS_PART = re.compile(
    rf"{_CAST_NAME},?\s+(?:who\s+)?(?:will\s+|is\s+to\s+|is\s+)?play(?:s|ing)?\s+"
    r"(?:the\s+|a\s+|an\s+)?((?:[\w’'-]+\s+){0,2}[\w’'-]+)"
)


def cast_names(sentence: str, character: str) -> list[str] | None:
    """Who ``sentence`` says plays ``character`` (a stem: "surgeon"): the names cast in that
    part; [] when it casts people in other parts only; None when it casts no one."""
    from qa.lexical import stems

    links = [(m.group(1), m.group(2)) for m in _PLAYED_BY.finditer(sentence)]
    links += [(m.group(2), m.group(1)) for m in _PLAYS_PART.finditer(sentence)]
    if not links:
        return None
    return [name for part, name in links if character in stems(part, keep_stopwords=True)]
