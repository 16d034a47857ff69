"""The indexing stage: one ``Indexer`` ingests a corpus into the store and reads back what the
index holds (its files, their lines). ``qa ingest``, the engine and ``qa eval`` all use it.

Example::

    >>> indexer = Indexer.open()
    >>> report = indexer.ingest(Path("docs"))
    >>> report.counts_text(), indexer.store.count_chunks()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qa.config import Settings, configure_offline_environment, get_settings
from qa.embeddings import QAEmbedding, make_embedding
from qa.errors import InvalidRequestError, SourceChangedError, SourceNotFoundError
from qa.ingest import IngestReport, ingest_corpus
from qa.loading import Source, read_document
from qa.progress import Progress
from qa.store import IndexStore, SourceRecord


@dataclass(frozen=True)
class SourceLines:
    """Lines start_line..end_line of an indexed file, as they were indexed."""

    source: str
    sha256: str
    line_count: int
    start_line: int
    end_line: int
    lines: tuple[str, ...]


class Indexer:
    """A corpus's index: the store, and the embedding model that writes to it."""

    def __init__(self, settings: Settings, embedding: QAEmbedding, store: IndexStore) -> None:
        self.settings = settings
        self.embedding = embedding
        self.store = store

    @classmethod
    def open(
        cls, settings: Settings | None = None, embedding: QAEmbedding | None = None
    ) -> Indexer:
        """The configured store and embedding model (no lexical index: ingest needs none)."""
        configure_offline_environment()
        settings = settings or get_settings()
        store = IndexStore.from_settings(settings)
        return cls(settings, embedding or make_embedding(settings), store)

    def ingest(self, root: Path | None = None, progress: Progress | None = None) -> IngestReport:
        """Index the documents under ``root`` (the corpus folder by default), incrementally."""
        return ingest_corpus(
            root or self.settings.corpus_dir, self.store, self.embedding, self.settings, progress
        )

    def reopen(self) -> None:
        """A fresh store client: an embedded Chroma client does not see another process's new
        vectors. The index must still hold this embedding model's vectors."""
        self.store = self.store.reopen()
        self.store.check_embedding_model(self.embedding.model_id)

    def sources(self) -> list[SourceRecord]:
        """The indexed files, by path."""
        return sorted(self.store.sources().values(), key=lambda record: record.path)

    def source_lines(
        self, path: str, start_line: int | None = None, end_line: int | None = None
    ) -> SourceLines:
        """Lines of an indexed file, so that a citation can be shown in context or linked to.

        Only files in the index can be read (never an arbitrary path), and only while the file
        on disk still matches what was indexed: otherwise citations' line numbers may be wrong.
        """
        record = self.store.sources().get(path)
        if record is None or not record.complete:
            raise SourceNotFoundError(
                f"'{path}' is not in the index.", "GET /sources lists the indexed files."
            )
        loaded = read_document(self.settings.corpus_dir / path, path)
        if not isinstance(loaded, Source):
            raise SourceChangedError(
                f"'{path}' is in the index but can no longer be read from the corpus folder "
                f"({loaded.reason}).",
                "Restore the file, or run `qa ingest` to drop it from the index.",
            )
        if loaded.sha256 != record.sha256:
            raise SourceChangedError(
                f"'{path}' has changed since it was indexed, so cited line numbers may not match.",
                "Run `qa ingest` to index the new version.",
            )
        count = len(loaded.lines)
        start = start_line or 1
        end = end_line or count
        if not 1 <= start <= count:
            raise InvalidRequestError(
                f"start must be between 1 and {count} (the file's last line), not {start}.",
                "Leave it out to start at line 1.",
                field="start",
            )
        if not start <= end <= count:
            raise InvalidRequestError(
                f"end must be between start ({start}) and {count} (the last line), not {end}.",
                "Leave it out to read to the end of the file.",
                field="end",
            )
        return SourceLines(
            source=path,
            sha256=record.sha256,
            line_count=count,
            start_line=start,
            end_line=end,
            lines=loaded.lines[start - 1 : end],
        )
