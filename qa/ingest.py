"""Incremental, idempotent ingestion of a corpus folder into the index.

A file is re-embedded only when its content hash changed; a removed file's chunks are deleted;
a file whose previous ingest was interrupted (its record is not marked complete) is redone.
Re-running an ingest is always safe, including after ``kill -9``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from qa.chunking import Chunk, chunk_source
from qa.config import Settings
from qa.embeddings import QAEmbedding
from qa.loading import SkippedFile, Source, load_corpus
from qa.progress import Progress, SilentProgress
from qa.store import IndexStore, SourceWrite

logger = logging.getLogger(__name__)


@dataclass
class IngestReport:
    corpus: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks_written: int = 0
    #: Chunks and sentences given a vector.
    texts_embedded: int = 0
    #: Vectors computed: identical texts (a one-sentence chunk and its sentence, a paragraph
    #: two files share) share one.
    embeddings_computed: int = 0
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """How many files had each outcome."""
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "repaired": len(self.repaired),
            "removed": len(self.removed),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
        }

    def counts_text(self) -> str:
        """``5 added, 0 updated, ...`` for logs and the CLI."""
        return ", ".join(f"{n} {outcome}" for outcome, n in self.counts().items())

    def to_dict(self) -> dict[str, object]:
        return {
            "corpus": self.corpus,
            "added": self.added,
            "updated": self.updated,
            "repaired": self.repaired,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "chunks_written": self.chunks_written,
            "texts_embedded": self.texts_embedded,
            "embeddings_computed": self.embeddings_computed,
            "seconds": round(self.seconds, 3),
        }


#: Vectors an ingest keeps for texts it may meet again (boilerplate, quotes, a paragraph that
#: several files share): about 1.6 KB each with its key, so at most ~3.4 MB. Text that recurs
#: (a header, a disclaimer) stays in; more would only cost memory.
RECENT_VECTORS = 2_048


def _key(text: str) -> bytes:
    # A digest, not the text: a chunk can be a kilobyte or more.
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class RecentVectors:
    """The vectors of the texts embedded last in this ingest, so that a text met again (in
    this group or an earlier one) is not embedded again. Bounded: least recently used first out."""

    def __init__(self, capacity: int = RECENT_VECTORS) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[bytes, NDArray[np.float32]] = OrderedDict()

    def get(self, text: str) -> NDArray[np.float32] | None:
        key = _key(text)
        vector = self._vectors.get(key)
        if vector is not None:
            self._vectors.move_to_end(key)
        return vector

    def put(self, text: str, vector: NDArray[np.float32]) -> None:
        key = _key(text)
        self._vectors[key] = vector
        self._vectors.move_to_end(key)
        while len(self._vectors) > self.capacity:
            self._vectors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._vectors)


def _embed_unique(
    embedding: QAEmbedding,
    texts: list[str],
    batch_size: int,
    recent: RecentVectors,
    progress: Progress,
) -> tuple[NDArray[np.float32], int]:
    """Vectors of ``texts``, one row per text, each distinct text embedded once (a
    one-sentence chunk is also its sentence) and none that ``recent`` holds; and how many
    vectors were computed. ``progress`` advances by ``len(texts)`` in all, batch by batch."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    found: dict[str, NDArray[np.float32]] = {}
    missing: list[str] = []
    for text in dict.fromkeys(texts):
        vector = recent.get(text)
        if vector is None:
            missing.append(text)
        else:
            found[text] = vector
    shown = 0
    for start in range(0, len(missing), batch_size):
        part = missing[start : start + batch_size]
        for text, row in zip(part, embedding.embed_passages(part), strict=True):
            found[text] = row.copy()  # not a view that would keep its whole batch alive
            recent.put(text, found[text])
        # The share of the group's texts done so far (duplicates and recent ones are free).
        done = len(texts) * (start + len(part)) // len(missing)
        progress.advance(done - shown)
        shown = done
    progress.advance(len(texts) - shown)
    return np.vstack([found[text] for text in texts]), len(missing)


#: Files are written to the index (a few calls to Chroma, each with a fixed cost of some
#: milliseconds) in groups of about this many embedding batches' worth of texts: 256 chunks
#: and sentences with the default ``QA_EMBED_BATCH_SIZE`` of 16.
BATCHES_PER_WRITE = 16


def _batches(
    plans: list[tuple[Source, list[Chunk]]], texts_per_batch: int
) -> Iterator[list[tuple[Source, list[Chunk]]]]:
    """Files in groups of about ``texts_per_batch`` texts (a big file is a group of its own)."""
    group: list[tuple[Source, list[Chunk]]] = []
    size = 0
    for plan in plans:
        group.append(plan)
        size += sum(1 + len(c.sentences) for c in plan[1])
        if size >= texts_per_batch:
            yield group
            group, size = [], 0
    if group:
        yield group


def ingest_corpus(
    root: Path,
    store: IndexStore,
    embedding: QAEmbedding,
    settings: Settings,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index in line with the files under ``root``."""
    progress = progress or SilentProgress()
    started = time.perf_counter()
    store.check_embedding_model(embedding.model_id)
    corpus = load_corpus(root)
    report = IngestReport(corpus=str(root), skipped=corpus.skipped)
    records = store.sources()
    todo: list[Source] = []
    for source in corpus.sources:
        record = records.get(source.path)
        if record is None:
            report.added.append(source.path)
        elif not record.complete:
            report.repaired.append(source.path)
        elif record.sha256 != source.sha256:
            report.updated.append(source.path)
        else:
            report.unchanged.append(source.path)
            continue
        todo.append(source)
    present = {s.path for s in corpus.sources}
    for path in sorted(set(records) - present):
        store.delete_source(path)
        report.removed.append(path)

    # Chunks are planned for every file first (text only: the total for the progress bar);
    # vectors exist for one group of files at a time, embedded together and written together,
    # so memory does not grow with the corpus and each group costs a few calls to Chroma.
    plans = [(s, chunk_source(s, settings.chunk_min_chars, settings.chunk_max_chars)) for s in todo]
    total = sum(len(chunks) + sum(len(c.sentences) for c in chunks) for _, chunks in plans)
    progress.start(total, "Embedding")
    written = 0
    recent = RecentVectors()
    added = set(report.added)  # no record, so nothing of them in the index to delete
    logged_at = time.monotonic()
    try:
        for group in _batches(plans, BATCHES_PER_WRITE * settings.embed_batch_size):
            # Per file: its chunks' texts, then its sentences'.
            texts = [
                text
                for _, chunks in group
                for text in [c.text for c in chunks] + [s.text for c in chunks for s in c.sentences]
            ]
            vectors, computed = _embed_unique(
                embedding, texts, settings.embed_batch_size, recent, progress
            )
            report.texts_embedded += len(texts)
            report.embeddings_computed += computed
            if len(vectors):
                store.claim_embedding_model(embedding.model_id, int(vectors.shape[1]))
            writes: list[SourceWrite] = []
            offset = 0
            for source, chunks in group:
                middle = offset + len(chunks)
                end = middle + sum(len(c.sentences) for c in chunks)
                writes.append(
                    SourceWrite(
                        source.path,
                        source.sha256,
                        len(source.lines),
                        chunks,
                        vectors[offset:middle],
                        vectors[middle:end],
                    )
                )
                offset = end
            store.write_sources(writes, fresh=added)
            report.chunks_written += sum(len(chunks) for _, chunks in group)
            written += len(group)
            if time.monotonic() - logged_at >= 1.0 or written == len(plans):
                # Where a long ingest job is (quiet terminals, CI, a cron or k8s job's log).
                logger.info("Ingest: %d of %d files written", written, len(plans))
                logged_at = time.monotonic()
    finally:
        progress.stop()
    report.seconds = time.perf_counter() - started
    logger.info("Ingested %s: %s", root, report.counts_text())
    return report
