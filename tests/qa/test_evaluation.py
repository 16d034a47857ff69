"""The gold sets are sound, scoring follows eval/README.md, and a bad answerer fails the gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.answerers import Answerer, Draft, Evidence
from qa.citations import build_citation
from qa.engine import Engine
from qa.evaluation import (
    EvalReport,
    GoldQuestion,
    Thresholds,
    UnknownSuiteError,
    load_gold,
    load_thresholds,
    matches,
    run_eval,
)
from qa.loading import load_corpus
from tests.support.gold_sets import assert_sound

REPO = Path(__file__).resolve().parents[2]
GOLD_SETS = [REPO / "eval" / f"{name}.jsonl" for name in ("gold", "dev", "blind")]
CATEGORIES = {
    "launch",
    "cast",
    "plot",
    "rival",
    "production",
    "training",
    "conflict",
    "unanswerable",
    "paraphrase",
    "background",
}


@pytest.mark.parametrize("path", GOLD_SETS, ids=lambda p: p.name)
def test_every_evidence_line_exists_and_supports_its_answer(path: Path) -> None:
    lines = {s.path: s.lines for s in load_corpus(REPO / "seeds").sources}
    assert_sound(load_gold(path), lines, CATEGORIES)


def test_the_news_suite_is_sound_and_its_table_gates_nothing() -> None:
    """Documents of another kind (eval/news/): every evidence line exists and states its answer;
    it is measured, not gated, so its table holds no threshold."""
    folder = REPO / "eval" / "news"
    lines = {s.path: s.lines for s in load_corpus(folder / "corpus").sources}
    questions = load_gold(folder / "news.jsonl")
    assert_sound(questions, lines, {"fact", "paraphrase", "unanswerable"})
    assert len(questions) == 360 and sum(q.answerable for q in questions) == 270
    assert set(
        load_thresholds(REPO / "eval" / "thresholds.toml", "news").model_dump().values()
    ) == {None}


def test_gold_set_covers_the_required_categories() -> None:
    items = load_gold(GOLD_SETS[0])
    assert len(items) >= 45
    counts = {c: sum(q.category == c for q in items) for c in CATEGORIES}
    assert all(counts[c] >= 1 for c in CATEGORIES), counts
    assert counts["unanswerable"] >= 8


def test_matching_needs_every_group_and_any_alternative() -> None:
    groups = [["36"], ["37"]]
    assert matches("one says 36, another 37", groups)
    assert not matches("she is 37", groups)
    assert matches("Launch on Oct. 5", [["October 5", "Oct. 5"]])
    assert matches("a 12‑day trip", [["12-day"]])  # non-breaking hyphen
    assert matches("“Cinema isn’t sports”", [["cinema isn't sports"]])


@given(st.text(max_size=80), st.text(min_size=1, max_size=10))
def test_an_alternative_inside_the_text_always_matches(prefix: str, alternative: str) -> None:
    assert matches(prefix + alternative + prefix, [[alternative]])


def test_every_suite_gates_every_metric() -> None:
    """No metric of a suite CI runs is left ungated by a missing line."""
    path = REPO / "eval" / "thresholds.toml"
    for suite in ("gold", "dev", "blind"):
        thresholds = load_thresholds(path, suite)
        assert None not in thresholds.model_dump(exclude={"max_false_refusal_rate"}).values()
    squad = load_thresholds(path, "squad")
    assert None not in (
        squad.answer_accuracy,
        squad.citation_recall,
        squad.refusal_accuracy,
        squad.max_false_refusal_rate,
    )


def test_a_suite_without_a_table_is_an_error_that_lists_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[gold]\nanswer_accuracy = 0.5\n[dev]\n", encoding="utf-8")
    with pytest.raises(UnknownSuiteError, match="it has: dev, gold"):
        load_thresholds(path, "blind")
    one = tmp_path / "one.toml"
    one.write_text("[thresholds]\nanswer_accuracy = 0.5\n", encoding="utf-8")
    assert load_thresholds(one, "anything").answer_accuracy == 0.5


def test_a_threshold_left_out_is_not_gated() -> None:
    report = EvalReport("extractive", 5, [])
    report.metrics = {"answer_accuracy": 0.1, "false_refusals": 9, "false_refusal_rate": 0.5}
    assert report.gate(Thresholds()) == []


class FirstSentenceAnswerer(Answerer):
    """Deliberately bad: always quotes the first sentence retrieved, never refuses."""

    mode = "extractive"

    def answer(self, evidence: Evidence) -> Draft:
        chunk = evidence.chunks[0].chunk
        citation = build_citation(1, chunk, chunk.sentences[0], 1.0)
        assert citation is not None
        return Draft(answer=f"{citation.quote} [1]", answered=True, citations=[citation])


def test_a_bad_answerer_fails_the_gate(seed_engine: Engine) -> None:
    gold: list[GoldQuestion] = load_gold(GOLD_SETS[0])[:30] + [
        q for q in load_gold(GOLD_SETS[0]) if not q.answerable
    ]
    bad = Engine(
        seed_engine.settings,
        seed_engine.embedding,
        seed_engine.store,
        answerers={"extractive": FirstSentenceAnswerer()},
    )
    report = run_eval(gold, lambda q: bad.ask_with_evidence(q), "extractive", 5)
    problems = report.gate(load_thresholds(REPO / "eval" / "thresholds.toml", "gold"))
    assert report.metrics["refusal_accuracy"] == 0.0
    assert any(p.startswith("refusal_accuracy") for p in problems)
    assert any(p.startswith("answer_accuracy") for p in problems)
