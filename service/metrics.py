"""Prometheus metrics: requests by route and status, latency, answered vs refused, index size.

With several workers (``qa serve --workers N``) each is a process of its own; ``qa serve`` then
points PROMETHEUS_MULTIPROC_DIR at a fresh folder and /metrics adds up every worker's figures.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from qa.engine import IndexStatus
from qa.models import Answer

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]

# The *_created series double the output and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServiceMetrics:
    """The service's metrics, in a registry of their own (one per app, so tests can make many)."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_dir() is not None
        # In multiprocess mode values live in files; the collector reads them at scrape time.
        self.registry = CollectorRegistry()
        own = None if self.multiprocess else self.registry
        self.requests = Counter(
            "qa_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.answers = Counter(
            "qa_answers",
            "Answers by outcome (answered or refused) and mode.",
            ["outcome", "mode"],
            registry=own,
        )
        self.stage = Histogram(
            "qa_ask_stage_duration_seconds",
            "Time per stage of answering a question (embed, retrieve, answer).",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.slack_events = Counter(
            "qa_slack_events",
            "Slack events received, by outcome: new, or duplicate (a retry; not answered again).",
            ["outcome"],
            registry=own,
        )
        self.slack_replies = Counter(
            "qa_slack_replies",
            "Slack replies by surface (mention, dm, command) and outcome (answered, refused, "
            "help, error).",
            ["surface", "outcome"],
            registry=own,
        )
        self.slack_feedback = Counter(
            "qa_slack_feedback",
            "Feedback buttons clicked on Slack answers, by vote (helpful, not_helpful).",
            ["vote"],
            registry=own,
        )
        self.feedback = Counter(
            "qa_feedback",
            "Helpful / not helpful votes on answers, by channel (slack, web) and vote.",
            ["channel", "vote"],
            registry=own,
        )
        self.index_chunks = Gauge(
            "qa_index_chunks",
            "Chunks in the index being served.",
            registry=own,
            multiprocess_mode="mostrecent",
        )
        self.index_sources = Gauge(
            "qa_index_sources",
            "Files in the index being served.",
            registry=own,
            multiprocess_mode="mostrecent",
        )
        if self.multiprocess:
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_answer(self, answer: Answer) -> None:
        self.answers.labels("answered" if answer.answered else "refused", answer.mode).inc()
        timings = answer.timings_ms
        for stage, ms in (
            ("embed", timings.embed),
            ("retrieve", timings.retrieve),
            ("answer", timings.answer),
        ):
            self.stage.labels(stage).observe(ms / 1000.0)

    def observe_slack_feedback(self, helpful: bool) -> None:
        self.slack_feedback.labels(_vote(helpful)).inc()
        self.observe_feedback("slack", helpful)

    def observe_feedback(self, channel: str, helpful: bool) -> None:
        self.feedback.labels(channel, _vote(helpful)).inc()

    def observe_index(self, status: IndexStatus) -> None:
        self.index_chunks.set(status.chunks)
        self.index_sources.set(status.sources)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _vote(helpful: bool) -> str:
    return "helpful" if helpful else "not_helpful"
