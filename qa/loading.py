"""Reading the corpus folder into Sources that know their exact lines.

A line is what ``sed -n Np`` and every editor call line N: text between ``\\n``, ``\\r\\n`` or
``\\r`` terminators, without the terminator. A UTF-8 byte-order mark is not part of line 1.
Everything downstream (chunks, sentences, citations) addresses text as (line, column) into
these lines, so the mapping is exact whatever the file's line endings are.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import CorpusNotFoundError

logger = logging.getLogger(__name__)

#: File endings read as documents. Anything else in the folder is ignored.
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text"})
_LINE_BREAK = re.compile(r"\r\n|\n|\r")
#: Files larger than this are skipped with a warning: a corpus of prose has no such files.
MAX_FILE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Source:
    """One document: its path relative to the corpus folder and its lines."""

    path: str
    lines: tuple[str, ...]
    sha256: str
    #: The document with every line terminator normalised to ``\\n``.
    text: str = field(repr=False)
    #: Offset in ``text`` of the first character of each line.
    line_starts: tuple[int, ...] = field(repr=False)

    @classmethod
    def from_text(cls, path: str, text: str, sha256: str | None = None) -> Source:
        lines = tuple(_LINE_BREAK.split(text))
        # A final terminator ends the last line; it does not open an empty one.
        if len(lines) > 1 and lines[-1] == "":
            lines = lines[:-1]
        starts: list[int] = []
        offset = 0
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
        digest = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(
            path=path,
            lines=lines,
            sha256=digest,
            text="\n".join(lines),
            line_starts=tuple(starts),
        )

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 0-based column) of a character offset into ``text``."""
        if not 0 <= offset <= len(self.text):
            raise ValueError(f"offset {offset} outside {self.path}")
        lo, hi = 0, len(self.line_starts) - 1
        while lo < hi:  # last line start <= offset
            mid = (lo + hi + 1) // 2
            if self.line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - self.line_starts[lo]

    def span(self, start_line: int, end_line: int) -> str:
        """Lines start_line..end_line (1-based, inclusive) joined by ``\\n``."""
        if not 1 <= start_line <= end_line <= len(self.lines):
            raise ValueError(f"lines {start_line}-{end_line} outside {self.path}")
        return "\n".join(self.lines[start_line - 1 : end_line])


@dataclass(frozen=True)
class SkippedFile:
    """A file the loader could not use, and why (shown to the user as a warning)."""

    path: str
    reason: str


@dataclass
class Corpus:
    root: Path
    sources: list[Source]
    skipped: list[SkippedFile]


def decode_document(data: bytes) -> str | None:
    """The text of a file's bytes, or None when it is binary or not UTF-8."""
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.removeprefix("\ufeff")


def iter_document_paths(root: Path) -> Iterator[Path]:
    """Document files under ``root`` in a stable order, skipping hidden files and folders."""
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
            yield path


def read_document(path: Path, rel: str) -> Source | SkippedFile:
    """One document as a Source, or why it cannot be used."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return SkippedFile(rel, f"larger than {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        return SkippedFile(rel, f"unreadable ({exc.strerror or exc})")
    text = decode_document(data)
    if text is None:
        return SkippedFile(rel, "binary or not UTF-8 text")
    if not text.strip():
        return SkippedFile(rel, "empty")
    return Source.from_text(rel, text, hashlib.sha256(data).hexdigest())


def load_corpus(root: Path) -> Corpus:
    """Read every document under ``root``. Unreadable files are skipped and reported."""
    if not root.exists():
        raise CorpusNotFoundError(
            f"Corpus folder '{root}' does not exist.",
            "Pass the folder to `qa ingest PATH` or set QA_CORPUS_DIR.",
        )
    if not root.is_dir():
        raise CorpusNotFoundError(
            f"Corpus path '{root}' is not a folder.",
            "Pass a folder of .txt/.md files to `qa ingest PATH` or set QA_CORPUS_DIR.",
        )
    sources: list[Source] = []
    skipped: list[SkippedFile] = []
    for path in iter_document_paths(root):
        loaded = read_document(path, path.relative_to(root).as_posix())
        if isinstance(loaded, Source):
            sources.append(loaded)
        else:
            skipped.append(loaded)
    for item in skipped:
        logger.warning("Skipped %s: %s", item.path, item.reason)
    return Corpus(root=root, sources=sources, skipped=skipped)
