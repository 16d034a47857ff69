"""Calibrating the reading answerer on held-out data: how to weigh its signals and when to
refuse.

Two calibration sets, neither trained on, and no eval set:

- ``squad``: the calibration articles of SQuAD 2.0 (``qa.training.splits``), encyclopaedia
  paragraphs whose questions were written while reading them, half of them made unanswerable on
  purpose;
- ``natural``: ``qa/training/natural/``, news-style documents of other subjects and questions
  worded as users ask them, written for calibration by people who never saw the seeds or the
  eval sets (its README).

The shipped model is calibrated on ``squad`` and measured on ``natural``
(``python -m qa.training --calibrate-on``; docs/performance.md has what calibrating on both
does). Each set is indexed as a corpus, exactly as a user's documents would be, and every
question goes through the product's own retrieval and candidate selection. Then:

1. a logistic regression over the candidates' signals (``qa.answerers.reading.FEATURES``)
   learns the probability that a candidate holds the answer, each set weighing the same;
2. the refusal threshold is the one with the best accuracy (a correct answer, or a refusal of an
   unanswerable question), averaged over the sets, that refuses at most
   ``max_false_refusal_rate`` of the answerable questions of *each* set: the product's promise
   holds on every kind of text calibrated on, not on their average;
3. accuracy against the number of candidates read is measured, for docs/performance.md.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qa.answerers.reading import FEATURES, Combination, ReadingAnswerer
from qa.evaluation import GoldQuestion, load_gold, matches
from qa.progress import progress_for
from qa.reader import Reader
from qa.squad import write_corpus

#: The natural-question calibration set shipped with the training code.
NATURAL_SET = Path(__file__).parent / "natural"


@dataclass(frozen=True)
class CalibrationSet:
    """A corpus folder and gold questions over it (the eval file format)."""

    name: str
    corpus: Path
    questions: tuple[GoldQuestion, ...]
    description: str

    @classmethod
    def natural(cls, folder: Path = NATURAL_SET) -> CalibrationSet:
        """``folder``/corpus and every ``questions-*.jsonl`` beside it."""
        questions = [
            q for path in sorted(folder.glob("questions-*.jsonl")) for q in load_gold(path)
        ]
        if not questions or not (folder / "corpus").is_dir():
            raise FileNotFoundError(
                f"No calibration set in '{folder}': it needs a corpus/ folder and "
                "questions-*.jsonl files (the eval file format)."
            )
        files = len(list((folder / "corpus").glob("*.txt")))
        return cls(
            "natural", folder / "corpus", tuple(questions), f"{folder.name}/ ({files} documents)"
        )


@dataclass
class Observed:
    """One question's candidates, as read with the reader alone."""

    features: NDArray[np.float64]  # (candidates, features)
    labels: NDArray[np.float64]  # 1 where the candidate holds a gold answer
    answerable: bool


def observe(
    reader: Reader, calibration_set: CalibrationSet, depth: int, work: Path
) -> list[Observed]:
    """Index the set's corpus and read each question's ``depth`` best candidates."""
    from qa.config import load_settings
    from qa.embeddings import make_embedding
    from qa.engine import Engine
    from qa.store import IndexStore

    folder = Path(tempfile.mkdtemp(prefix="calibration-", dir=work))
    try:
        settings = load_settings(
            corpus_dir=calibration_set.corpus, index_dir=folder / "index", _env_file=None
        )
        embedding = make_embedding(settings)
        answerer = ReadingAnswerer(reader, candidates=depth, combination=Combination.reader_only())
        engine = Engine(
            settings, embedding, IndexStore.from_settings(settings), {"extractive": answerer}
        )
        engine.ingest(progress=progress_for())
        observed: list[Observed] = []
        bar = progress_for()
        bar.start(len(calibration_set.questions), f"Calibrating on {calibration_set.name}")
        for item in calibration_set.questions:
            evidence, _ = engine.retrieve(item.question)
            ranked = answerer.candidates(evidence)
            logits = reader.logits(item.question, [c.sentence.text for c in ranked])
            rows = []
            for candidate, logit in zip(ranked, logits, strict=True):
                candidate.logit = float(logit)
                rows.append(candidate.features())
            labels = [
                float(item.answerable and matches(c.sentence.text, item.answers)) for c in ranked
            ]
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


def split_sets(
    available: Mapping[str, CalibrationSet], chosen: Sequence[str]
) -> tuple[list[CalibrationSet], list[CalibrationSet]]:
    """The ``chosen`` sets to calibrate on, and the others, to be measured with the result."""
    unknown = [name for name in chosen if name not in available]
    if unknown or not chosen:
        raise ValueError(
            f"Unknown calibration set(s) {unknown or chosen}: choose among {sorted(available)}."
        )
    return (
        [available[name] for name in chosen],
        [s for name, s in available.items() if name not in chosen],
    )


def squad_set(squad_file: Path, articles: Sequence[str], work: Path) -> CalibrationSet:
    """The SQuAD ``articles`` written as a corpus under ``work``."""
    corpus = write_corpus(squad_file, work / "squad-calibration-corpus", articles)
    return CalibrationSet("squad", corpus.folder, corpus.questions, ", ".join(articles))


def fit_logistic(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    l2: float = 1e-2,
    steps: int = 50,
    sample_weight: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], float]:
    """Weights and bias of an L2-regularised logistic regression, by Newton's method; each row
    counts ``sample_weight`` times (1 when None)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    counts = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight)
    w = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (counts * (p - y)) + penalty @ w
        hessian = design.T @ (design * (counts * p * (1 - p))[:, None]) + penalty
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


def choose_threshold_across(
    sets: Mapping[str, Sequence[Observed]],
    combination: Combination,
    depth: int,
    max_false_refusal_rate: float,
) -> tuple[float, dict[str, Outcome]]:
    """The threshold with the best accuracy averaged over ``sets`` among those that refuse at
    most ``max_false_refusal_rate`` of each set's answerable questions. Every best-candidate
    probability is tried (each is where an outcome can change), and a threshold halfway to the
    next lower one is kept, so that it is not on a seen value."""
    chosen = {name: picks(observed, combination, depth) for name, observed in sets.items()}
    values = np.unique(np.concatenate([c.probability for c in chosen.values()]))
    best: tuple[float, float, dict[str, Outcome]] | None = None
    for index, value in enumerate(values):
        below = values[index - 1] if index else 0.0
        threshold = float((value + below) / 2)
        results = {name: outcome_at(c, threshold) for name, c in chosen.items()}
        if any(r.false_refusal_rate > max_false_refusal_rate for r in results.values()):
            break  # higher thresholds only refuse more
        mean = float(np.mean([r.accuracy for r in results.values()]))
        if best is None or mean > best[1]:
            best = (round(threshold, 6), mean, results)
    if best is None:
        return 0.0, {name: outcome_at(c, 0.0) for name, c in chosen.items()}
    return best[0], best[2]


def choose_threshold(
    observed: Sequence[Observed],
    combination: Combination,
    depth: int,
    max_false_refusal_rate: float,
) -> tuple[float, Outcome]:
    """``choose_threshold_across`` for one set."""
    threshold, results = choose_threshold_across(
        {"": observed}, combination, depth, max_false_refusal_rate
    )
    return threshold, results[""]


def set_weights(rows: Mapping[str, int]) -> dict[str, float]:
    """The weight of one candidate row of each set in the fit: every set then weighs as much as
    the largest, however many rows it has (one set alone: every row counts once)."""
    largest = max(rows.values(), default=0)
    return {name: largest / max(1, count) for name, count in rows.items()}


def fit_combination(sets: Mapping[str, Sequence[Observed]], depth: int) -> Combination:
    """The logistic combination over the first ``depth`` candidates of every question, each set
    weighing the same (``set_weights``); threshold 0.5 until one is chosen."""
    x = np.vstack([o.features[:depth] for observed in sets.values() for o in observed])
    y = np.concatenate([o.labels[:depth] for observed in sets.values() for o in observed])
    rows = {name: sum(len(o.labels[:depth]) for o in observed) for name, observed in sets.items()}
    per_row = set_weights(rows)
    weight = np.concatenate(
        [
            np.full(len(o.labels[:depth]), per_row[name])
            for name, observed in sets.items()
            for o in observed
        ]
    )
    weights, bias = fit_logistic(x, y, sample_weight=weight)
    return Combination(tuple(float(w) for w in weights), bias, 0.5)


#: Candidate counts tried; the answerer reads the smallest whose accuracy is within
#: ``DEPTH_TOLERANCE`` of the best (each candidate costs a run of the model, ~2.5 ms on 2 cores).
DEPTHS: tuple[int, ...] = (4, 8, 12, 16, 24, 32)
DEPTH_TOLERANCE = 0.005


def _mean_accuracy(results: Mapping[str, Outcome]) -> float:
    return round(float(np.mean([r.accuracy for r in results.values()])), 4)


def _as_dicts(results: Mapping[str, Outcome]) -> dict[str, dict[str, float]]:
    return {name: dict(r.__dict__) for name, r in results.items()}


def calibrate(
    reader: Reader,
    sets: Sequence[CalibrationSet],
    work: Path,
    max_false_refusal_rate: float = 0.10,
    measured: Sequence[CalibrationSet] = (),
) -> dict[str, Any]:
    """Fit the combination, the candidate count and the threshold on ``sets``; store them in
    the model's reader.json. The ``measured`` sets are only measured with the result."""
    from qa.training.export import write_manifest

    observed = {s.name: observe(reader, s, max(DEPTHS), work) for s in sets}
    only_measured = [(s, observe(reader, s, max(DEPTHS), work)) for s in measured]
    fitted: dict[int, tuple[Combination, dict[str, Outcome]]] = {}
    for depth in DEPTHS:
        combination = fit_combination(observed, depth)
        threshold, results = choose_threshold_across(
            observed, combination, depth, max_false_refusal_rate
        )
        fitted[depth] = (Combination(combination.weights, combination.bias, threshold), results)
    best = max(_mean_accuracy(results) for _, results in fitted.values())
    depth = min(
        d for d, (_, results) in fitted.items() if _mean_accuracy(results) >= best - DEPTH_TOLERANCE
    )
    combination, results = fitted[depth]
    alone_threshold, alone = choose_threshold_across(
        observed, Combination.reader_only(), depth, max_false_refusal_rate
    )
    calibration: dict[str, Any] = {
        "weights": dict(zip(FEATURES, (round(w, 6) for w in combination.weights), strict=True)),
        "bias": round(combination.bias, 6),
        "threshold": combination.threshold,
        "candidates": depth,
        "sets": {s.name: {"data": s.description, "questions": len(s.questions)} for s in sets},
        "max_false_refusal_rate": max_false_refusal_rate,
        "figures": _as_dicts(results),
        "measured": {
            s.name: {
                "data": s.description,
                "questions": len(items),
                **outcome(items, combination, combination.threshold, depth).__dict__,
            }
            for s, items in only_measured
        },
        "reader_alone": {"threshold": alone_threshold, "figures": _as_dicts(alone)},
        "by_candidates": {
            str(d): {"threshold": c.threshold, "figures": _as_dicts(r)}
            for d, (c, r) in fitted.items()
        },
    }
    write_manifest(reader.model_dir, reader.manifest.max_length, calibration)
    (work / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n")
    return calibration
