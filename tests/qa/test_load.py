"""The count of questions being answered, which the embedding model and the reader size their
threads to."""

from __future__ import annotations

from typing import Any

import pytest

from qa import load
from qa.answerers import Draft, Evidence
from qa.engine import Engine


def test_answering_counts_while_inside_also_after_an_error() -> None:
    before = load.active()
    with load.answering():
        assert load.active() == before + 1
        with load.answering():
            assert load.active() == before + 2
        assert load.active() == before + 1
    with pytest.raises(ValueError), load.answering():
        raise ValueError("boom")
    assert load.active() == before


class _Recording:
    """An answerer that notes how many questions were being answered while it ran."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def answer(self, evidence: Evidence) -> Draft:
        self.seen.append(load.active())
        draft: Draft = self.inner.answer(evidence)
        return draft


def test_an_ask_counts_as_one_question_while_it_runs(
    seed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = _Recording(seed_engine.answerers["extractive"])
    monkeypatch.setitem(seed_engine.answerers, "extractive", recording)
    before = load.active()
    seed_engine.ask("When did the crew launch?")
    assert recording.seen == [before + 1]
    assert load.active() == before
