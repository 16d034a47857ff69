"""Scoring the engine against a gold question/answer set (eval/gold.jsonl).

For every gold question the engine answers through ``Engine.ask_with_evidence`` and this module
measures: answer accuracy, citation precision and recall, refusals, retrieval recall@k and MRR
of the evidence lines, and latency. ``eval/README.md`` describes the gold format.
"""

from __future__ import annotations

import json
import re
import statistics
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from qa.answerers import Evidence
from qa.models import Answer, AnswerMode, Citation


class GoldQuestion(BaseModel):
    id: str
    question: str
    answers: list[list[str]]
    evidence: list[str]
    answerable: bool
    category: str

    @field_validator("evidence")
    @classmethod
    def _file_line(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r".+:\d+", item):
                raise ValueError(f"evidence '{item}' is not 'file:line'")
        return value

    def evidence_lines(self) -> list[tuple[str, int]]:
        return [(e.rsplit(":", 1)[0], int(e.rsplit(":", 1)[1])) for e in self.evidence]


def load_gold(path: Path) -> list[GoldQuestion]:
    items: list[GoldQuestion] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(GoldQuestion.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return items


def normalise(text: str) -> str:
    """Lower case, one kind of apostrophe, quote and dash, single spaces."""
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"[‐‑‒–—]", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def matches(text: str, groups: list[list[str]]) -> bool:
    """Every group has an alternative inside ``text``."""
    haystack = normalise(text)
    return all(any(normalise(alt) in haystack for alt in group) for group in groups)


def covers(citation: Citation, evidence: list[tuple[str, int]]) -> bool:
    return any(
        citation.source == source and citation.start_line <= line <= citation.end_line
        for source, line in evidence
    )


class Thresholds(BaseModel):
    """Gate: a metric below its minimum (or above its maximum) fails the run. A threshold left
    out is not gated (a suite with no unanswerable questions has no refusal accuracy)."""

    answer_accuracy: float | None = Field(default=None, ge=0, le=1)
    citation_precision: float | None = Field(default=None, ge=0, le=1)
    citation_recall: float | None = Field(default=None, ge=0, le=1)
    refusal_accuracy: float | None = Field(default=None, ge=0, le=1)
    max_false_refusals: int | None = Field(default=None, ge=0)
    #: False refusals as a share of the answerable questions: for suites of any size.
    max_false_refusal_rate: float | None = Field(default=None, ge=0, le=1)


class UnknownSuiteError(ValueError):
    """The thresholds file has no section for the suite asked for."""


def load_thresholds(path: Path, suite: str | None = None) -> Thresholds:
    """The thresholds of ``suite`` (a ``[suite]`` table of the TOML file). A file with one
    ``[thresholds]`` table, or bare keys, applies to every suite."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if suite is not None and isinstance(data.get(suite), dict):
        return Thresholds.model_validate(data[suite])
    if isinstance(data.get("thresholds"), dict):
        return Thresholds.model_validate(data["thresholds"])
    tables = sorted(k for k, v in data.items() if isinstance(v, dict))
    if tables:
        raise UnknownSuiteError(
            f"'{path}' has no thresholds for the suite '{suite}'; it has: {', '.join(tables)}."
        )
    return Thresholds.model_validate(data)


@dataclass
class QuestionResult:
    gold: GoldQuestion
    answer: Answer
    correct: bool
    good_citations: int
    cited_evidence: bool
    retrieval_rank: int | None

    @property
    def passed(self) -> bool:
        if not self.gold.answerable:
            return not self.answer.answered
        return self.correct and self.cited_evidence

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.gold.id,
            "category": self.gold.category,
            "question": self.gold.question,
            "answerable": self.gold.answerable,
            "expected": self.gold.answers,
            "evidence": self.gold.evidence,
            "answered": self.answer.answered,
            "answer": self.answer.answer,
            "correct": self.correct,
            "citations": [f"{c.source}:{c.start_line}-{c.end_line}" for c in self.answer.citations],
            "good_citations": self.good_citations,
            "cited_evidence": self.cited_evidence,
            "retrieval_rank": self.retrieval_rank,
            "passed": self.passed,
            "total_ms": self.answer.timings_ms.total,
        }


def score_question(gold: GoldQuestion, answer: Answer, evidence: Evidence) -> QuestionResult:
    lines = gold.evidence_lines()
    correct = gold.answerable and answer.answered and matches(answer.answer, gold.answers)
    good = (
        sum(
            1
            for c in answer.citations
            if covers(c, lines)
            or any(normalise(a) in normalise(c.quote) for g in gold.answers for a in g)
        )
        if answer.answered
        else 0
    )
    cited = answer.answered and any(covers(c, lines) for c in answer.citations)
    rank = None
    for position, hit in enumerate(evidence.chunks, start=1):
        if any(
            hit.chunk.source == s and hit.chunk.start_line <= n <= hit.chunk.end_line
            for s, n in lines
        ):
            rank = position
            break
    return QuestionResult(gold, answer, correct, good, cited, rank)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _ratio(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 1.0


@dataclass
class EvalReport:
    mode: AnswerMode
    top_k: int
    results: list[QuestionResult]
    metrics: dict[str, float] = field(default_factory=dict)
    categories: dict[str, dict[str, float]] = field(default_factory=dict)

    def compute(self) -> EvalReport:
        answerable = [r for r in self.results if r.gold.answerable]
        unanswerable = [r for r in self.results if not r.gold.answerable]
        answered = [r for r in self.results if r.answer.answered]
        citations = sum(len(r.answer.citations) for r in answered)
        ranks = [r.retrieval_rank for r in answerable]
        latencies = [r.answer.timings_ms.total for r in self.results]
        self.metrics = {
            "questions": len(self.results),
            "answer_accuracy": _ratio(sum(r.correct for r in answerable), len(answerable)),
            "citation_precision": _ratio(sum(r.good_citations for r in answered), citations),
            "citation_recall": _ratio(sum(r.cited_evidence for r in answerable), len(answerable)),
            "refusal_accuracy": _ratio(
                sum(not r.answer.answered for r in unanswerable), len(unanswerable)
            ),
            "false_refusals": sum(not r.answer.answered for r in answerable),
            "false_refusal_rate": _ratio(
                sum(not r.answer.answered for r in answerable), len(answerable)
            )
            if answerable
            else 0.0,
            f"retrieval_recall_at_{self.top_k}": _ratio(
                sum(r is not None for r in ranks), len(ranks)
            ),
            "retrieval_mrr": _ratio(sum(1.0 / r for r in ranks if r), len(ranks)),
            "latency_p50_ms": round(statistics.median(latencies), 2) if latencies else 0.0,
            "latency_p95_ms": round(_percentile(latencies, 0.95), 2),
        }
        if self.mode == "generative":
            # Answers the extractive answerer gave because the LLM failed (QA_LLM_FALLBACK):
            # they measure the extractive answerer, not the LLM.
            self.metrics["llm_fallbacks"] = sum(
                r.answer.mode == "extractive-fallback" for r in self.results
            )
        for category in sorted({r.gold.category for r in self.results}):
            rows = [r for r in self.results if r.gold.category == category]
            self.categories[category] = {
                "questions": len(rows),
                "passed": sum(r.passed for r in rows),
                "pass_rate": _ratio(sum(r.passed for r in rows), len(rows)),
            }
        return self

    def failures(self) -> list[QuestionResult]:
        return [r for r in self.results if not r.passed]

    def gate(self, thresholds: Thresholds) -> list[str]:
        """The metrics that miss their threshold, as sentences."""
        m = self.metrics
        answerable = any(r.gold.answerable for r in self.results)
        unanswerable = any(not r.gold.answerable for r in self.results)
        minimums = [
            ("answer_accuracy", thresholds.answer_accuracy, answerable),
            ("citation_precision", thresholds.citation_precision, answerable),
            ("citation_recall", thresholds.citation_recall, answerable),
            ("refusal_accuracy", thresholds.refusal_accuracy, unanswerable),
        ]
        problems = [
            f"{name} {m[name]:.3f} < {minimum:.2f}"
            for name, minimum, applies in minimums
            if applies and minimum is not None and m[name] < minimum
        ]
        if thresholds.max_false_refusals is not None and (
            m["false_refusals"] > thresholds.max_false_refusals
        ):
            problems.append(
                f"false_refusals {m['false_refusals']:.0f} > {thresholds.max_false_refusals}"
            )
        rate = thresholds.max_false_refusal_rate
        if rate is not None and m["false_refusal_rate"] > rate:
            problems.append(f"false_refusal_rate {m['false_refusal_rate']:.3f} > {rate:.2f}")
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "top_k": self.top_k,
            "metrics": self.metrics,
            "categories": self.categories,
            "results": [r.to_dict() for r in self.results],
        }


def run_eval(
    gold: Iterable[GoldQuestion],
    ask: Callable[[str], tuple[Answer, Evidence]],
    mode: AnswerMode,
    top_k: int,
    on_progress: Callable[[], None] = lambda: None,
) -> EvalReport:
    results = []
    for item in gold:
        answer, evidence = ask(item.question)
        results.append(score_question(item, answer, evidence))
        on_progress()
    return EvalReport(mode=mode, top_k=top_k, results=results).compute()


def render_markdown(
    report: EvalReport,
    baseline: dict[str, Any] | None = None,
    problems: list[str] | None = None,
    suite: str = "gold",
) -> str:
    lines = [
        f"# qa eval: {suite}, {report.mode}, top_k={report.top_k}",
        "",
        "| metric | value |" + (" baseline | change |" if baseline else ""),
        "|---|---|" + ("---|---|" if baseline else ""),
    ]
    old = (baseline or {}).get("metrics", {})
    for name, value in report.metrics.items():
        line = f"| {name} | {value:g} |"
        if baseline:
            before = old.get(name)
            change = f"{value - before:+g}" if isinstance(before, int | float) else "new"
            line += f" {before if before is not None else '-'} | {change} |"
        lines.append(line)
    lines += ["", "| category | questions | passed | pass rate |", "|---|---|---|---|"]
    for name, row in report.categories.items():
        lines.append(
            f"| {name} | {row['questions']:g} | {row['passed']:g} | {row['pass_rate']:.2f} |"
        )
    if problems is not None:
        lines += ["", "Gate: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems))]
    failures = report.failures()
    lines += ["", f"## Failures ({len(failures)})"]
    for r in failures:
        expected = " AND ".join("/".join(g) for g in r.gold.answers) or "(a refusal)"
        cited = ", ".join(f"{c.source}:{c.start_line}" for c in r.answer.citations) or "none"
        lines += [
            "",
            f"### {r.gold.id} ({r.gold.category})",
            f"- question: {r.gold.question}",
            f"- expected: {expected}; evidence: {', '.join(r.gold.evidence) or '-'}",
            f"- got: {'answered' if r.answer.answered else 'refused'}: {r.answer.answer}",
            f"- cited: {cited}; evidence chunk rank: {r.retrieval_rank}",
        ]
    return "\n".join(lines) + "\n"


def write_reports(
    report: EvalReport, directory: Path, markdown: str, suite: str = "gold"
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"eval-{suite}-{report.mode}.json"
    md_path = directory / f"eval-{suite}-{report.mode}.md"
    json_path.write_text(
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path.write_text(markdown, encoding="utf-8")
    return md_path, json_path
