"""Calibrating the reading answerer on held-out articles: how to weigh its signals and when to
refuse.

The calibration articles (``qa.training.splits``) were not trained on, and no eval set is used.
They are indexed as a corpus, exactly as a user's documents would be, and every question goes
through the product's own retrieval and candidate selection. Then:

1. a logistic regression over the candidates' signals (``qa.answerers.reading.FEATURES``)
   learns the probability that a candidate holds the answer;
2. the refusal threshold is the one that answers the most questions right (a correct answer,
   or a refusal of an unanswerable one) while refusing at most ``max_false_refusal_rate`` of
   the answerable ones, the product's promise;
3. accuracy against the number of candidates read is measured, for docs/performance.md.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.answerers.reading import FEATURES, Combination, ReadingAnswerer
from qa.evaluation import normalise
from qa.progress import progress_for
from qa.reader import Reader
from qa.squad import write_corpus


@dataclass
class Observed:
    """One question's candidates, as read with the reader alone."""

    features: NDArray[np.float64]  # (candidates, features)
    labels: NDArray[np.float64]  # 1 where the candidate holds a gold answer
    answerable: bool


def _holds(text: str, answers: Sequence[str]) -> bool:
    haystack = normalise(text)
    return any(normalise(a) in haystack for a in answers)


def observe(
    reader: Reader, squad_file: Path, articles: Sequence[str], depth: int, work: Path
) -> list[Observed]:
    """Index ``articles`` and read each question's ``depth`` best candidates."""
    from qa.config import load_settings
    from qa.embeddings import make_embedding
    from qa.engine import Engine
    from qa.store import IndexStore

    folder = Path(tempfile.mkdtemp(prefix="calibration-", dir=work))
    try:
        corpus = write_corpus(squad_file, folder / "corpus", articles)
        settings = load_settings(
            corpus_dir=folder / "corpus", index_dir=folder / "index", _env_file=None
        )
        embedding = make_embedding(settings)
        answerer = ReadingAnswerer(reader, candidates=depth, combination=Combination.reader_only())
        engine = Engine(
            settings, embedding, IndexStore.from_settings(settings), {"extractive": answerer}
        )
        engine.ingest(progress=progress_for())
        observed: list[Observed] = []
        bar = progress_for()
        bar.start(len(corpus.questions), "Calibrating")
        for item in corpus.questions:
            evidence, _ = engine.retrieve(item.question)
            ranked = answerer.candidates(evidence)
            logits = reader.logits(item.question, [c.sentence.text for c in ranked])
            rows = []
            for candidate, logit in zip(ranked, logits, strict=True):
                candidate.logit = float(logit)
                rows.append(candidate.features())
            answers = [a for group in item.answers for a in group]
            labels = [float(_holds(c.sentence.text, answers)) for c in ranked]
            observed.append(
                Observed(
                    np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)),
                    np.asarray(labels, dtype=np.float64),
                    item.answerable,
                )
            )
            bar.advance()
        bar.stop()
        return observed
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fit_logistic(
    x: NDArray[np.float64], y: NDArray[np.float64], l2: float = 1e-2, steps: int = 50
) -> tuple[NDArray[np.float64], float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Outcome:
    accuracy: float
    answer_accuracy: float
    refusal_accuracy: float
    false_refusal_rate: float


@dataclass(frozen=True)
class Picks:
    """Each question's best candidate under a combination: its probability, and whether it
    holds an answer; and whether the question is answerable."""

    probability: NDArray[np.float64]
    right: NDArray[np.bool_]
    answerable: NDArray[np.bool_]


def picks(observed: Sequence[Observed], combination: Combination, depth: int) -> Picks:
    """The candidate the answerer would pick for each question, reading ``depth`` of them."""
    weights = np.asarray(combination.weights, dtype=np.float64)
    best_p, right = [], []
    for item in observed:
        rows = item.features[:depth]
        if not len(rows):
            best_p.append(0.0)
            right.append(False)
            continue
        z = np.clip(rows @ weights + combination.bias, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        best = int(np.argmax(p))
        best_p.append(float(p[best]))
        right.append(bool(item.labels[best] == 1.0))
    answerable = np.array([o.answerable for o in observed], dtype=bool)
    return Picks(np.array(best_p), np.array(right, dtype=bool), answerable)


def outcome_at(chosen: Picks, threshold: float) -> Outcome:
    """How the answerer does refusing below ``threshold``."""
    refuses = chosen.probability < threshold
    answerable = chosen.answerable
    answered_right = answerable & ~refuses & chosen.right
    refused_right = ~answerable & refuses
    n_answerable = max(1, int(answerable.sum()))
    n_unanswerable = max(1, int((~answerable).sum()))
    return Outcome(
        accuracy=round(float((answered_right | refused_right).mean()), 4),
        answer_accuracy=round(float(answered_right.sum()) / n_answerable, 4),
        refusal_accuracy=round(float(refused_right.sum()) / n_unanswerable, 4),
        false_refusal_rate=round(float((answerable & refuses).sum()) / n_answerable, 4),
    )


def outcome(
    observed: Sequence[Observed], combination: Combination, threshold: float, depth: int
) -> Outcome:
    """How the answerer would do with ``combination``, refusing below ``threshold`` and
    reading only the first ``depth`` candidates of each question."""
    return outcome_at(picks(observed, combination, depth), threshold)


def choose_threshold(
    observed: Sequence[Observed],
    combination: Combination,
    depth: int,
    max_false_refusal_rate: float,
) -> tuple[float, Outcome]:
    """The threshold with the best accuracy among those within the false-refusal budget.
    Every best-candidate probability is tried (each is where an outcome can change), and a
    threshold halfway to the next lower one is kept, so that it is not on a seen value."""
    chosen = picks(observed, combination, depth)
    values = np.unique(chosen.probability)
    best: tuple[float, Outcome] | None = None
    for index, value in enumerate(values):
        below = values[index - 1] if index else 0.0
        threshold = float((value + below) / 2)
        result = outcome_at(chosen, threshold)
        if result.false_refusal_rate > max_false_refusal_rate:
            break  # higher thresholds only refuse more
        if best is None or result.accuracy > best[1].accuracy:
            best = (round(threshold, 6), result)
    if best is None:
        return 0.0, outcome_at(chosen, 0.0)
    return best


#: Candidate counts tried; the answerer reads the smallest whose accuracy is within
#: ``DEPTH_TOLERANCE`` of the best (each candidate costs a run of the model, ~2.5 ms on 2 cores).
DEPTHS: tuple[int, ...] = (4, 8, 12, 16, 24, 32)
DEPTH_TOLERANCE = 0.005


def calibrate(
    reader: Reader,
    squad_file: Path,
    articles: Sequence[str],
    work: Path,
    max_false_refusal_rate: float = 0.10,
) -> dict[str, Any]:
    """Fit the combination, the candidate count and the threshold; store them in the model's
    reader.json."""
    from qa.training.export import write_manifest

    observed = observe(reader, squad_file, articles, max(DEPTHS), work)
    fitted: dict[int, tuple[Combination, Outcome]] = {}
    for depth in DEPTHS:
        x = np.vstack([o.features[:depth] for o in observed])
        y = np.concatenate([o.labels[:depth] for o in observed])
        weights, bias = fit_logistic(x, y)
        combination = Combination(tuple(float(w) for w in weights), bias, 0.5)
        threshold, result = choose_threshold(observed, combination, depth, max_false_refusal_rate)
        fitted[depth] = (Combination(combination.weights, bias, threshold), result)
    best = max(result.accuracy for _, result in fitted.values())
    depth = min(d for d, (_, result) in fitted.items() if result.accuracy >= best - DEPTH_TOLERANCE)
    combination, result = fitted[depth]
    reader_alone, alone = choose_threshold(
        observed, Combination.reader_only(), depth, max_false_refusal_rate
    )
    calibration: dict[str, Any] = {
        "weights": dict(zip(FEATURES, (round(w, 6) for w in combination.weights), strict=True)),
        "bias": round(combination.bias, 6),
        "threshold": combination.threshold,
        "candidates": depth,
        "articles": list(articles),
        "questions": len(observed),
        "max_false_refusal_rate": max_false_refusal_rate,
        "figures": result.__dict__,
        "reader_alone": {"threshold": reader_alone, **alone.__dict__},
        "by_candidates": {
            str(d): {"threshold": c.threshold, **r.__dict__} for d, (c, r) in fitted.items()
        },
    }
    write_manifest(reader.model_dir, reader.manifest.max_length, calibration)
    (work / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")
    return calibration
