"""Splitting a Source into Chunks (what gets retrieved) and Sentences (what gets quoted).

A paragraph is a run of non-blank lines. Each paragraph is cut into sentences; paragraphs
are then grouped into chunks of one or a few paragraphs: a paragraph shorter than
``min_chars`` (a photo credit, a headline) joins its neighbour, and one
longer than ``max_chars`` is cut between sentences. Chunks never straddle two documents.

Every Sentence and Chunk keeps character offsets into ``Source.text``, so its text is always
``source.text[start:end]`` and its lines are exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from qa.loading import Source

# Words that end in a period without ending a sentence ("Jan. 3", "Dr. Smith", "U.S. law").
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "approx",
        "dept",
        "est",
        "fig",
        "gen",
        "gov",
        "lt",
        "col",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "rep",
        "sen",
        "rev",
        "inc",
        "ltd",
        "co",
        "corp",
        "no",
        "nos",
        "vol",
        "pp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mon",
        "tue",
        "tues",
        "wed",
        "thu",
        "thur",
        "thurs",
        "fri",
        "sat",
        "sun",
        "u.s",
        "u.k",
        "u.n",
        "e.u",
        "a.m",
        "p.m",
    ]
)
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_CLOSERS = "\"'”’)]"
_TERMINAL = (".", "!", "?", "…", ":", ";", *tuple(_CLOSERS))


@dataclass(frozen=True)
class Span:
    """A piece of one source: character offsets into ``Source.text`` and the lines they cover."""

    source: str
    start: int
    end: int
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True)
class Sentence(Span):
    """The unit that gets quoted in a citation."""

    start_col: int
    end_col: int


@dataclass(frozen=True)
class Chunk(Span):
    """One or a few paragraphs: the unit that gets embedded and retrieved."""

    index: int
    sentences: tuple[Sentence, ...]


def _make_sentence(source: Source, start: int, end: int) -> Sentence | None:
    text = source.text[start:end]
    stripped = text.strip()
    if not stripped:
        return None
    start += len(text) - len(text.lstrip())
    end = start + len(stripped)
    start_line, start_col = source.position(start)
    end_line, end_col = source.position(end)
    return Sentence(
        source=source.path,
        start=start,
        end=end,
        start_line=start_line,
        end_line=end_line,
        text=stripped,
        start_col=start_col,
        end_col=end_col,
    )


def is_abbreviation(text: str, boundary_start: int) -> bool:
    """Whether the period at ``boundary_start`` belongs to an abbreviation or initial."""
    if text[boundary_start] != ".":
        return False
    word_start = boundary_start
    while (
        word_start > 0
        and not text[word_start - 1].isspace()
        and text[word_start - 1] not in "(\"“‘'"
    ):
        word_start -= 1
    word = text[word_start:boundary_start].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S", "a.m").
    return bool(re.fullmatch(r"[a-z]|([a-z]\.)+[a-z]", word))


def _line_break_ends_sentence(previous: str, following: str) -> bool:
    """A line break ends a sentence unless it wraps prose mid-sentence.

    Headlines and captions often stand on their own line with no full stop; hard-wrapped prose
    continues on the next line in lower case.
    """
    prev = previous.rstrip()
    nxt = following.lstrip()
    if not prev or not nxt:
        return True
    if prev.endswith(_TERMINAL):
        return True
    return not (nxt[0].islower() or nxt[0] in ",;:)—–-")


def _paragraph_sentences(source: Source, start: int, end: int) -> list[Sentence]:
    """Sentences of source.text[start:end], a paragraph that may span several lines."""
    text = source.text[start:end]
    cuts: list[int] = []
    for match in _BOUNDARY.finditer(text):
        cut = match.end()
        nxt = text[cut:].lstrip(" \t")
        if not nxt or nxt.startswith("\n"):
            cuts.append(cut)  # the line break handling below decides
            continue
        if is_abbreviation(text, match.start()):
            continue
        first = nxt[0]
        if first.islower():
            continue  # "e.g. this", "said 3 p.m. yesterday": not a new sentence
        cuts.append(cut)
    # Line breaks inside the paragraph.
    offset = 0
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        offset += len(lines[i]) + 1
        if _line_break_ends_sentence(lines[i], lines[i + 1]):
            cuts.append(offset - 1)
    cuts = sorted(set(cuts))
    sentences: list[Sentence] = []
    prev = 0
    for cut in [*cuts, len(text)]:
        sentence = _make_sentence(source, start + prev, start + cut)
        if sentence is not None:
            sentences.append(sentence)
        prev = cut
    return sentences


def _paragraph_bounds(source: Source) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of each run of non-blank lines."""
    run_start: int | None = None
    for number, line in enumerate(source.lines):
        offset = source.line_starts[number]
        if line.strip():
            if run_start is None:
                run_start = offset
        elif run_start is not None:
            yield run_start, offset - 1
            run_start = None
    if run_start is not None:
        yield run_start, len(source.text)


def split_sentences(source: Source) -> list[Sentence]:
    """Every sentence of the source, in order."""
    return [
        s
        for start, end in _paragraph_bounds(source)
        for s in _paragraph_sentences(source, start, end)
    ]


def _group(
    paragraphs: list[list[Sentence]], min_chars: int, max_chars: int
) -> list[list[Sentence]]:
    """Group paragraphs' sentences into chunks of roughly min_chars..max_chars characters."""
    pieces: list[list[Sentence]] = []
    for sentences in paragraphs:
        # Cut long paragraphs between sentences.
        current: list[Sentence] = []
        for sentence in sentences:
            if current and sentence.end - current[0].start > max_chars:
                pieces.append(current)
                current = []
            current.append(sentence)
        if current:
            pieces.append(current)
    chunks: list[list[Sentence]] = []
    pending: list[Sentence] = []
    for piece in pieces:
        pending.extend(piece)
        if pending[-1].end - pending[0].start >= min_chars:
            chunks.append(pending)
            pending = []
    if pending:
        # A short tail joins the previous chunk when that stays within bounds.
        if chunks and pending[-1].end - chunks[-1][0].start <= max_chars:
            chunks[-1].extend(pending)
        else:
            chunks.append(pending)
    return chunks


def chunk_source(source: Source, min_chars: int = 160, max_chars: int = 1_000) -> list[Chunk]:
    """Chunks of one source, each holding its sentences."""
    paragraphs = [
        sentences
        for start, end in _paragraph_bounds(source)
        if (sentences := _paragraph_sentences(source, start, end))
    ]
    chunks: list[Chunk] = []
    for index, sentences in enumerate(_group(paragraphs, min_chars, max_chars)):
        start, end = sentences[0].start, sentences[-1].end
        chunks.append(
            Chunk(
                source=source.path,
                start=start,
                end=end,
                start_line=sentences[0].start_line,
                end_line=sentences[-1].end_line,
                text=source.text[start:end],
                index=index,
                sentences=tuple(sentences),
            )
        )
    return chunks
