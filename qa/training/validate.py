"""How well a reader picks and refuses on whole held-out articles, one paragraph at a time.

For each question, every sentence of its paragraph is scored: top-1 is the share of answerable
questions whose best sentence holds the answer; AUC is how well the best sentence's score tells
answerable questions from unanswerable ones (0.5: not at all; 1: perfectly).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.reader import Reader
from qa.training.pairs import SquadQuestion


@dataclass(frozen=True)
class Validation:
    questions: int
    answerable: int
    top1: float
    auc: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def auc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """The probability that a random positive scores above a random negative (ties: half)."""
    if not len(positive) or not len(negative):
        return float("nan")
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.sort(np.asarray(negative, dtype=np.float64))
    # Sorted, so each positive's count of lower and of equal negatives is two binary searches.
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * equal.sum()) / (pos.size * neg.size))


def validate(reader: Reader, questions: Sequence[SquadQuestion]) -> Validation:
    hits = 0
    best_answerable: list[float] = []
    best_unanswerable: list[float] = []
    for q in questions:
        if not q.sentences:
            continue
        scores = reader.score(q.question, list(q.sentences))
        best = int(np.argmax(scores))
        if q.answers:
            hits += best in q.answer_sentences
            best_answerable.append(float(scores[best]))
        else:
            best_unanswerable.append(float(scores[best]))
    answerable = len(best_answerable)
    return Validation(
        questions=answerable + len(best_unanswerable),
        answerable=answerable,
        top1=round(hits / answerable, 4) if answerable else 0.0,
        auc=round(auc(best_answerable, best_unanswerable), 4),
    )


def evaluate_squad_suite(
    model_dir: Path, squad_file: Path, articles: Sequence[str], work: Path
) -> dict[str, float]:
    """The figures ``qa eval --squad FILE --articles ...`` prints for the reader in
    ``model_dir``: the articles indexed as a corpus and every question asked through the
    product. Reported only: nothing is tuned on them."""
    from qa.config import load_settings
    from qa.engine import Engine
    from qa.evaluation import run_eval
    from qa.progress import progress_for
    from qa.squad import suite_settings, write_corpus

    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="squad-suite-", dir=work) as name:
        scratch = Path(name)
        corpus = write_corpus(squad_file, scratch / "corpus", articles)
        settings = suite_settings(
            load_settings(_env_file=None, reader_model=model_dir), corpus, scratch
        )
        engine = Engine.open(settings)
        engine.ingest(progress=progress_for())
        bar = progress_for()
        bar.start(len(corpus.questions), "Out-of-domain suite")
        try:
            report = run_eval(
                corpus.questions,
                engine.ask_with_evidence,
                "extractive",
                settings.top_k,
                on_progress=bar.advance,
            )
        finally:
            bar.stop()
    keys = (
        "questions",
        "answer_accuracy",
        "citation_recall",
        "refusal_accuracy",
        "false_refusal_rate",
        "latency_p50_ms",
    )
    return {k: report.metrics[k] for k in keys}
