"""Citations: built from stored sentences, checked before anyone sees them.

The contract: a citation's ``quote`` is verbatim text within lines ``start_line..end_line`` of
``source``. ``build_citation`` re-derives the lines from the chunk text the quote was cut from
and drops a citation that does not agree; ``quote_in_lines`` is the check against the file
itself, used by tests and by ``qa eval``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from qa.loading import Source
from qa.models import Citation
from qa.store import StoredChunk, StoredSentence

logger = logging.getLogger(__name__)

_MARKER = re.compile(r"\[(\d{1,3})\]")


def build_citation(
    number: int, chunk: StoredChunk, sentence: StoredSentence, score: float
) -> Citation | None:
    """A citation of ``sentence``, or None (logged) when its stored lines disagree with its text."""
    offset = sentence.chunk_start
    consistent = (
        offset >= 0
        and chunk.text[offset : offset + len(sentence.text)] == sentence.text
        and sentence.text.strip() == sentence.text
        and bool(sentence.text)
        and chunk.start_line + chunk.text.count("\n", 0, offset) == sentence.start_line
        and sentence.start_line + sentence.text.count("\n") == sentence.end_line
        and chunk.start_line <= sentence.start_line <= sentence.end_line <= chunk.end_line
    )
    if not consistent:
        logger.error(
            "Dropped a citation whose lines do not match its text: %s:%d-%d %r",
            chunk.source,
            sentence.start_line,
            sentence.end_line,
            sentence.text[:80],
        )
        return None
    return Citation(
        id=number,
        source=chunk.source,
        start_line=sentence.start_line,
        end_line=sentence.end_line,
        quote=sentence.text,
        score=round(max(0.0, min(1.0, score)), 4),
    )


def quote_in_lines(citation: Citation, source: Source) -> bool:
    """Whether the quote is verbatim within the cited lines of the source file."""
    if citation.source != source.path:
        return False
    if not 1 <= citation.start_line <= citation.end_line <= len(source.lines):
        return False
    return bool(citation.quote) and citation.quote in source.span(
        citation.start_line, citation.end_line
    )


def markers(text: str) -> list[int]:
    """The citation numbers ``[n]`` used in an answer text, in order of first use."""
    seen: dict[int, None] = {}
    for match in _MARKER.finditer(text):
        seen.setdefault(int(match.group(1)), None)
    return list(seen)


def renumber(citations: Sequence[Citation]) -> list[Citation]:
    """Citations numbered 1..n in their order."""
    return [c.model_copy(update={"id": i}) for i, c in enumerate(citations, start=1)]
