"""Calibration arithmetic: the logistic fit, the threshold under a false-refusal budget, and
the AUC used in validation. Small made-up data, so each property is visible."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from qa.answerers.reading import FEATURES, Combination
from qa.training.calibrate import Observed, choose_threshold, fit_logistic, outcome
from qa.training.validate import auc

WIDTH = len(FEATURES)


def row(logit: float) -> list[float]:
    return [logit if f == "logit" else 0.0 for f in FEATURES]


def question(logits: list[float], labels: list[float], answerable: bool) -> Observed:
    return Observed(
        np.asarray([row(x) for x in logits], dtype=np.float64).reshape(-1, WIDTH),
        np.asarray(labels, dtype=np.float64),
        answerable,
    )


def test_the_fit_learns_which_signal_separates() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] > 0).astype(np.float64)  # only the first column matters
    weights, _ = fit_logistic(x, y)
    assert weights[0] > 3 * abs(weights[1])


def test_the_threshold_keeps_false_refusals_within_the_budget() -> None:
    observed = [
        question([3.0, -1.0], [1.0, 0.0], True),
        question([0.5, -2.0], [1.0, 0.0], True),  # a weak but right answer
        question([0.2, -1.0], [0.0, 0.0], False),
        question([-1.0, -3.0], [0.0, 0.0], False),
    ]
    combination = Combination.reader_only()
    strict, result = choose_threshold(observed, combination, depth=2, max_false_refusal_rate=0.0)
    assert result.false_refusal_rate == 0.0 and result.answer_accuracy == 1.0
    assert strict <= 1 / (1 + np.exp(-0.5))  # the weak answer still answers
    loose, best = choose_threshold(observed, combination, depth=2, max_false_refusal_rate=0.5)
    assert best.accuracy >= result.accuracy and loose >= strict


def test_reading_fewer_candidates_can_only_miss_answers() -> None:
    observed = [question([-1.0, 2.0], [0.0, 1.0], True)]
    combination = Combination.reader_only()
    assert outcome(observed, combination, 0.5, depth=2).answer_accuracy == 1.0
    assert outcome(observed, combination, 0.5, depth=1).answer_accuracy == 0.0


def test_auc_is_the_chance_a_positive_outscores_a_negative() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20), st.lists(st.floats(0, 1), min_size=1))
def test_auc_of_swapped_sets_is_its_complement(pos: list[float], neg: list[float]) -> None:
    assert abs(auc(pos, neg) + auc(neg, pos) - 1.0) < 1e-9
