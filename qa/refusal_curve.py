"""How the extractive answerer's refusal threshold (``QA_ANSWER_MIN_SCORE``) trades answers for
refusals on a gold set, and the threshold to suggest for a user's own documents
(``qa eval --refusal-curve``).

The shipped threshold is calibrated on held-out encyclopaedia articles; on other kinds of text
the reader's scores sit higher or lower (docs/performance.md), so a user with a few labelled
questions about their own documents can measure where to set it. Each question is retrieved
and read once; the answer at every threshold is then decided from the same ranked candidates
(``ReadingAnswerer.decide``), so the whole curve costs one eval run, and its row at the
answerer's own threshold is exactly what ``qa eval`` scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qa.answerers import Evidence
from qa.answerers.reading import Candidate, ReadingAnswerer
from qa.evaluation import EvalReport, GoldQuestion, score_question
from qa.models import Answer, Timings
from qa.pipeline import Pipeline

#: The thresholds tried besides the answerer's own: 0.00 to 0.99 by 0.01.
GRID: tuple[float, ...] = tuple(round(i / 100, 2) for i in range(100))
#: The share of answerable questions a suggested threshold may refuse, unless the user says.
DEFAULT_MAX_FALSE_REFUSAL_RATE = 0.10


@dataclass(frozen=True)
class ReadQuestion:
    """A gold question with its evidence and its candidates as the reader ranked them."""

    gold: GoldQuestion
    question: str
    evidence: Evidence
    ranked: list[Candidate]
    timings: Timings


@dataclass(frozen=True)
class CurvePoint:
    """The eval's metrics with the answerer refusing below ``threshold``. ``pass_rate`` is the
    share of all questions passed: answered right with the evidence line cited, or refused
    when the sources do not answer."""

    threshold: float
    pass_rate: float
    metrics: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "pass_rate": self.pass_rate, **self.metrics}


def read_all(
    pipeline: Pipeline,
    answerer: ReadingAnswerer,
    items: Sequence[GoldQuestion],
    top_k: int,
    on_progress: Callable[[], None] = lambda: None,
) -> list[ReadQuestion]:
    """Retrieve and read every question once, as ``qa eval`` would answer it extractively."""
    reads: list[ReadQuestion] = []
    for item in items:
        prepared = pipeline.prepare(item.question, top_k, "extractive")
        ranked = answerer.read(prepared.evidence)
        reads.append(
            ReadQuestion(item, prepared.question, prepared.evidence, ranked, prepared.timings)
        )
        on_progress()
    return reads


def answer_at(read: ReadQuestion, answerer: ReadingAnswerer, threshold: float) -> Answer:
    """The answer ``read``'s question gets when the answerer refuses below ``threshold``."""
    draft = answerer.decide(read.ranked, read.evidence.question.answer_type, threshold)
    return Answer(
        question=read.question,
        answer=draft.answer,
        answered=draft.answered,
        citations=draft.citations,
        mode="extractive",
        timings_ms=read.timings,
    )


def point_at(
    reads: Sequence[ReadQuestion], answerer: ReadingAnswerer, threshold: float, top_k: int
) -> CurvePoint:
    """The eval's metrics (latency aside: nothing is timed again) refusing below ``threshold``."""
    results = [score_question(r.gold, answer_at(r, answerer, threshold), r.evidence) for r in reads]
    report = EvalReport(mode="extractive", top_k=top_k, results=results).compute()
    passed = sum(r.passed for r in results)
    return CurvePoint(
        threshold=threshold,
        pass_rate=round(passed / len(results), 4) if results else 0.0,
        metrics={k: v for k, v in report.metrics.items() if not k.startswith("latency")},
    )


def curve(
    reads: Sequence[ReadQuestion],
    answerer: ReadingAnswerer,
    top_k: int,
    thresholds: Sequence[float] = GRID,
) -> list[CurvePoint]:
    """The metrics at each of ``thresholds`` and at the answerer's own, lowest first."""
    tried = sorted({*thresholds, answerer.min_score})
    return [point_at(reads, answerer, t, top_k) for t in tried]


def suggest(
    points: Sequence[CurvePoint], max_false_refusal_rate: float = DEFAULT_MAX_FALSE_REFUSAL_RATE
) -> CurvePoint | None:
    """The point with the best pass rate among those refusing at most
    ``max_false_refusal_rate`` of the answerable questions (the lowest threshold of a tie: the
    rule ``qa.training.calibrate`` chooses the shipped threshold by)."""
    best: CurvePoint | None = None
    for point in sorted(points, key=lambda p: p.threshold):
        if point.metrics["false_refusal_rate"] > max_false_refusal_rate:
            continue
        if best is None or point.pass_rate > best.pass_rate:
            best = point
    return best


@dataclass(frozen=True)
class RefusalCurve:
    """A set's curve, the answerer's own threshold's point and the suggested one."""

    suite: str
    questions: int
    points: list[CurvePoint]
    current: CurvePoint
    suggested: CurvePoint | None
    max_false_refusal_rate: float
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "questions": self.questions,
            "max_false_refusal_rate": self.max_false_refusal_rate,
            "current": self.current.to_dict(),
            "suggested": self.suggested.to_dict() if self.suggested else None,
            "notes": self.notes,
            "curve": [p.to_dict() for p in self.points],
        }

    def markdown(self) -> str:
        return render_markdown(
            self.suite,
            self.points,
            self.current.threshold,
            self.suggested,
            self.max_false_refusal_rate,
            self.notes,
        )


def measure(
    pipeline: Pipeline,
    answerer: ReadingAnswerer,
    items: Sequence[GoldQuestion],
    top_k: int,
    suite: str,
    max_false_refusal_rate: float = DEFAULT_MAX_FALSE_REFUSAL_RATE,
    on_progress: Callable[[], None] = lambda: None,
) -> RefusalCurve:
    """Read ``items`` once and score every threshold (``qa eval --refusal-curve``)."""
    points = curve(read_all(pipeline, answerer, items, top_k, on_progress), answerer, top_k)
    return RefusalCurve(
        suite=suite,
        questions=len(items),
        points=points,
        current=next(p for p in points if p.threshold == answerer.min_score),
        suggested=suggest(points, max_false_refusal_rate),
        max_false_refusal_rate=max_false_refusal_rate,
        notes=caveats(items),
    )


def caveats(items: Sequence[GoldQuestion]) -> list[str]:
    """What the set lacks for a threshold chosen on it to mean much."""
    notes = []
    if not any(not q.answerable for q in items):
        notes.append(
            "The set has no unanswerable questions, so refusing never pays on it: add "
            "questions your documents do not answer."
        )
    if not any(q.answerable for q in items):
        notes.append("The set has no answerable questions: add questions your documents answer.")
    if len(items) < 50:
        notes.append(
            f"{len(items)} questions are few: one question moves a rate by "
            f"{1 / max(1, len(items)):.0%} or more."
        )
    return notes


def render_markdown(
    suite: str,
    points: Sequence[CurvePoint],
    current: float,
    suggested: CurvePoint | None,
    max_false_refusal_rate: float,
    notes: Sequence[str],
) -> str:
    """The curve every 0.05, with the answerer's own threshold and the suggested one."""
    shown = [
        p
        for p in points
        if round(p.threshold * 100) % 5 == 0
        or p.threshold == current
        or (suggested is not None and p.threshold == suggested.threshold)
    ]
    lines = [
        f"# qa eval --refusal-curve: {suite}",
        "",
        "| QA_ANSWER_MIN_SCORE | pass rate | answer accuracy | citation precision "
        "| refusal accuracy | false refusals | |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in shown:
        mark = []
        if p.threshold == current:
            mark.append("now")
        if suggested is not None and p.threshold == suggested.threshold:
            mark.append("suggested")
        m = p.metrics
        lines.append(
            f"| {p.threshold:g} | {p.pass_rate:.3f} | {m['answer_accuracy']:.3f} "
            f"| {m['citation_precision']:.3f} | {m['refusal_accuracy']:.3f} "
            f"| {m['false_refusals']:g} ({m['false_refusal_rate']:.1%}) | {', '.join(mark)} |"
        )
    lines.append("")
    if suggested is not None:
        lines.append(
            f"Suggested: QA_ANSWER_MIN_SCORE={suggested.threshold:g}, the best pass rate "
            f"({suggested.pass_rate:.3f}) that refuses at most {max_false_refusal_rate:.0%} of "
            f"the answerable questions (now {current:g}: the reader's calibration, or your "
            "setting)."
        )
    lines.append(
        "Choose it on questions you will not measure with afterwards: a threshold fitted to a "
        "set flatters that set."
    )
    lines += [f"Note: {note}" for note in notes]
    return "\n".join(lines) + "\n"
