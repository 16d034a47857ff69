"""Reading an LLM's answer: its sentences and the [n] source markers each one carries.

Models write markers in several ways: "text [1].", "text. [1]", "text [1][3].", "text [1, 3].",
"text [Source 2]." All of them are read here; a marker that follows a sentence's full stop
belongs to that sentence. Which numbers are valid is not decided here: any number is returned
as written and the answerer drops the ones that point at no source.

Example::

    >>> parse_claims("Lee designed it [1]. It opened on May 5. [2][9]")
    [Claim(text='Lee designed it.', markers=(1,)),
     Claim(text='It opened on May 5.', markers=(2, 9))]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.chunking import is_abbreviation

#: One bracketed group of source numbers: [1], [1, 3], [1;3], [Source 2], [sources 1 and 2].
MARKER_GROUP = re.compile(
    r"\[\s*(?:sources?\s*)?(\d{1,6}(?:\s*(?:,|;|and|&)\s*(?:sources?\s*)?\d{1,6})*)\s*\]",
    re.IGNORECASE,
)
_TRAILING = re.compile(r"(?:\s*" + MARKER_GROUP.pattern + ")+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")
# A sentence ends at terminal punctuation (and closing quotes), then any markers, then space.
_END = re.compile(r"[.!?…]+[\"'”’)]*")
_LEADER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class Claim:
    """One sentence of the answer, without its markers, and the source numbers it cites."""

    text: str
    markers: tuple[int, ...]


def _numbers(group: str) -> list[int]:
    return [int(n) for n in _NUMBER.findall(group)]


def _clean(text: str) -> str:
    """The sentence without markers, on one line, with no space left before punctuation."""
    text = MARKER_GROUP.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([.,;:!?…])", r"\1", text)


def _claim(text: str) -> Claim | None:
    seen: dict[int, None] = {}
    for group in MARKER_GROUP.finditer(text):
        for number in _numbers(group.group(1)):
            seen.setdefault(number, None)
    cleaned = _clean(text)
    if not any(ch.isalnum() for ch in cleaned):
        return None
    return Claim(text=cleaned, markers=tuple(seen))


def _line_sentences(line: str) -> list[str]:
    """Cut one line into sentences; markers after a full stop stay with that sentence."""
    pieces: list[str] = []
    start = 0
    position = 0
    while True:
        end = _END.search(line, position)
        if end is None:
            break
        cut = end.end()
        trailing = _TRAILING.match(line, cut)  # markers right after the full stop belong here
        if trailing is not None:
            cut = trailing.end()
        rest = line[cut:]
        position = cut
        if rest and not rest[0].isspace():
            continue  # "3.5", "U.S.A": not a boundary
        following = rest.lstrip()
        if following and (following[0].islower() or is_abbreviation(line, end.start())):
            continue  # "e.g. this", "Dr. Smith"
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return pieces


def parse_claims(text: str) -> list[Claim]:
    """The sentences of ``text`` in order, each with the numbers of its markers."""
    claims: list[Claim] = []
    for line in text.splitlines():
        line = _LEADER.sub("", line)  # list bullets and numbers are not part of a sentence
        for piece in _line_sentences(line):
            claim = _claim(piece)
            if claim is not None:
                claims.append(claim)
            elif claims and MARKER_GROUP.search(piece):
                # Markers alone on the next line cite the sentence before them.
                last = claims[-1]
                extra = (n for g in MARKER_GROUP.finditer(piece) for n in _numbers(g.group(1)))
                merged = dict.fromkeys([*last.markers, *extra])
                claims[-1] = Claim(text=last.text, markers=tuple(merged))
    return claims
