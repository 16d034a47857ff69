"""Incremental, idempotent ingestion of a corpus folder into the index.

A file is re-embedded only when its content hash changed; a removed file's chunks are deleted;
a file whose previous ingest was interrupted (its record is not marked complete) is redone.
Re-running an ingest is always safe, including after ``kill -9``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from qa.chunking import chunk_source
from qa.config import Settings
from qa.embeddings import QAEmbedding
from qa.loading import SkippedFile, Source, load_corpus
from qa.progress import Progress, SilentProgress
from qa.store import IndexStore

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
    texts_embedded: int = 0
    seconds: float = 0.0

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
            "seconds": round(self.seconds, 3),
        }


def _embed(
    embedding: QAEmbedding, texts: list[str], batch_size: int, progress: Progress
) -> NDArray[np.float32]:
    rows: list[NDArray[np.float32]] = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        rows.append(embedding.embed_passages(batch))
        progress.advance(len(batch))
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack(rows)


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

    plans = [(s, chunk_source(s, settings.chunk_min_chars, settings.chunk_max_chars)) for s in todo]
    total = sum(len(chunks) + sum(len(c.sentences) for c in chunks) for _, chunks in plans)
    progress.start(total, "Embedding")
    try:
        for source, chunks in plans:
            texts = [c.text for c in chunks]
            sentence_texts = [s.text for c in chunks for s in c.sentences]
            vectors = _embed(embedding, texts + sentence_texts, settings.embed_batch_size, progress)
            report.texts_embedded += len(texts) + len(sentence_texts)
            if len(vectors):
                store.claim_embedding_model(embedding.model_id, int(vectors.shape[1]))
            store.write_source(
                source.path,
                source.sha256,
                len(source.lines),
                chunks,
                vectors[: len(texts)],
                vectors[len(texts) :],
            )
            report.chunks_written += len(chunks)
    finally:
        progress.stop()
    report.seconds = time.perf_counter() - started
    logger.info(
        "Ingested %s: %d added, %d updated, %d repaired, %d removed, %d unchanged, %d skipped",
        root,
        len(report.added),
        len(report.updated),
        len(report.repaired),
        len(report.removed),
        len(report.unchanged),
        len(report.skipped),
    )
    return report
