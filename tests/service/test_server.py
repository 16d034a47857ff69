"""`qa serve` as a real uvicorn server on 127.0.0.1: the main path, concurrency, raw-bytes
validation, JSON logs with request ids, API key, several workers, start-up failures and a
re-ingest by another process while it runs."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.engine import Engine
from tests.support.chroma import write_corpus
from tests.support.corpora import MILL_AND_FERRY
from tests.support.processes import qa_environment, run_qa

pytestmark = pytest.mark.slow

JSON = {"content-type": "application/json"}
DIRECTOR = "Who directs Challenge?"
API_KEY = "server-key-0123456789abcdef"
QUESTIONS = [
    DIRECTOR,
    "When did the film crew launch to the ISS?",
    "Who plays the surgeon?",
    "How much did Challenge earn at the box office?",
]


def assert_verbatim(body: dict[str, Any], corpus: Path) -> None:
    assert body["citations"], body
    for citation in body["citations"]:
        lines = (corpus / citation["source"]).read_text(encoding="utf-8").splitlines()
        cited = "\n".join(lines[citation["start_line"] - 1 : citation["end_line"]])
        assert citation["quote"] in cited, citation


def test_main_path_answers_with_verbatim_citations_and_logs_json(
    seed_server: Any, seeds_dir: Path
) -> None:
    response = httpx.post(
        seed_server.url + "/ask",
        json={"question": DIRECTOR},
        headers={"x-request-id": "acceptance-1"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # The answer contract over the wire; which seed line answers is the eval suites' job.
    assert body["question"] == DIRECTOR and body["mode"] == "extractive"
    assert isinstance(body["answered"], bool) and body["answer"].strip()
    assert [c["id"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))
    assert_verbatim(body, seeds_dir)
    assert response.headers["x-request-id"] == "acceptance-1"

    # The request's log line is written once the response has been sent: on a busy machine it
    # can land a moment after the client has the response.
    deadline = time.monotonic() + 10
    while True:
        entries = [json.loads(line) for line in seed_server.log_lines() if line.startswith("{")]
        mine = [e for e in entries if e.get("request_id") == "acceptance-1"]
        logged = any(
            e["message"] == "request" and e["route"] == "/ask" and e["status"] == 200 for e in mine
        )
        if logged or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert entries, "the server logs JSON lines"
    assert logged, mine
    assert all("duration_ms" in e for e in mine if e["message"] == "request")


def test_get_ask_from_curl_style_url(seed_server: Any) -> None:
    response = httpx.get(seed_server.url + "/ask?q=Who+directs+Challenge%3F", timeout=30)
    assert response.status_code == 200
    got = response.json()
    assert got["question"] == DIRECTOR  # "+" and "%3F" decoded
    posted = httpx.post(seed_server.url + "/ask", json={"question": DIRECTOR}, timeout=30).json()
    assert (got["answer"], got["citations"]) == (posted["answer"], posted["citations"])


def test_32_concurrent_requests_all_answer_as_sequential_ones(seed_server: Any) -> None:
    url = seed_server.url + "/ask"
    with httpx.Client(timeout=60) as session:
        expected = {q: session.post(url, json={"question": q}).json() for q in QUESTIONS}

    def ask(question: str) -> tuple[str, int, dict[str, Any]]:
        with httpx.Client(timeout=60) as session:
            response = session.post(url, json={"question": question})
            return question, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(ask, QUESTIONS * 8))
    assert len(results) == 32
    for question, status, body in results:
        assert status == 200
        assert body["answer"] == expected[question]["answer"]
        assert body["citations"] == expected[question]["citations"]


def _chunked(total: int) -> Iterator[bytes]:
    yield b'{"question": "'
    sent = 0
    while sent < total:
        yield b"a" * 8192
        sent += 8192
    yield b'"}'


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b'{"question": "caf\xe9 \xff"}', JSON, 400, "malformed_body"),
        (b'{"question": ', JSON, 400, "malformed_json"),
        (b'{"question": "who\\u0000"}', JSON, 422, "invalid_question"),
        (b'{"question": "\\udc80"}', JSON, 422, "invalid_question"),
        (b'{"question": "a b"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"question": "' + b"a" * 100_000 + b'"}', JSON, 413, "body_too_large"),
        ("chunked", JSON, 413, "body_too_large"),
    ],
    ids=["invalid-utf8", "malformed", "nul", "surrogate", "text-plain", "too-large", "chunked"],
)
def test_bad_bodies_over_the_wire_get_json_4xx(
    seed_server: Any, content: bytes | str, headers: dict[str, str], status: int, code: str
) -> None:
    body: bytes | Iterator[bytes] = _chunked(100_000) if content == "chunked" else content
    response = httpx.post(seed_server.url + "/ask", content=body, headers=headers, timeout=30)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    # The server is still there and answering after each.
    assert httpx.get(seed_server.url + "/healthz", timeout=10).status_code == 200


def test_api_key_over_the_wire(serve: Callable[..., Any], seed_engine: Engine) -> None:
    settings = seed_engine.settings
    server = serve(settings.index_dir, settings.corpus_dir, env={"QA_API_KEY": API_KEY})
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
    refused = httpx.post(server.url + "/ask", json={"question": DIRECTOR}, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    allowed = httpx.post(
        server.url + "/ask",
        json={"question": DIRECTOR},
        headers={"authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    assert allowed.status_code == 200
    assert allowed.json()["question"] == DIRECTOR and allowed.json()["answer"].strip()


def _counter(text: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("qa_http_requests_total{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("} ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_answer_and_metrics_add_up_across_them(
    serve: Callable[..., Any], seed_engine: Engine
) -> None:
    settings = seed_engine.settings
    server = serve(settings.index_dir, settings.corpus_dir, "--workers", "2")
    with httpx.Client(timeout=60) as session:
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(
                pool.map(
                    lambda q: session.post(server.url + "/ask", json={"question": q}).status_code,
                    QUESTIONS * 5,
                )
            )
        assert statuses == [200] * 20
        metrics = session.get(server.url + "/metrics").text
    assert _counter(metrics, method="POST", route="/ask", status="200") == 20
    pids = {
        json.loads(line).get("message")
        for line in server.log_lines()
        if line.startswith("{") and "Started server process" in line
    }
    assert len(pids) == 2, pids


def test_a_port_in_use_fails_fast_with_the_fix(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_qa(
            "serve",
            "--port",
            str(port),
            env=qa_environment(QA_INDEX_DIR=str(tmp_path / "i")),
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_empty_index_serves_health_and_says_to_ingest(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    server = serve(tmp_path / "index", corpus, wait_ready=False)
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
    ready = httpx.get(server.url + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["ready"] is False
    asked = httpx.post(server.url + "/ask", json={"question": DIRECTOR}, timeout=30)
    assert asked.status_code == 503
    assert asked.json()["error"]["code"] == "index_empty"
    assert "qa ingest" in asked.json()["error"]["hint"]


def test_an_ingest_by_another_process_is_picked_up_while_serving(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    # The tests' own small files: only mill.md, added later, names who built the mill.
    corpus = write_corpus(tmp_path / "corpus", {"ferry.txt": MILL_AND_FERRY["ferry.txt"]})
    index = tmp_path / "index"
    env = qa_environment(QA_INDEX_DIR=str(index), QA_CORPUS_DIR=str(corpus))
    assert run_qa("ingest", "--json", env=env, cwd=tmp_path).returncode == 0
    # A threshold of 0: every question is answered from the best sentence the index holds.
    server = serve(index, corpus, env={"QA_ANSWER_MIN_SCORE": "0"})
    mill = {"question": "Who built the mill on the hill?"}
    before = httpx.post(server.url + "/ask", json=mill, timeout=30).json()
    assert {c["source"] for c in before["citations"]} == {"ferry.txt"}

    (corpus / "mill.md").write_text(MILL_AND_FERRY["mill.md"], encoding="utf-8")
    ingested = run_qa("ingest", "--json", env=env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    # Straight after the other process wrote: an answer, never an error.
    right_after = httpx.post(server.url + "/ask", json=mill, timeout=30)
    assert right_after.status_code == 200, right_after.text
    ready = httpx.get(server.url + "/readyz", timeout=10).json()
    assert ready["sources"] == 2
    after = httpx.post(server.url + "/ask", json=mill, timeout=30).json()
    assert after["answered"] is True
    assert after["citations"][0]["source"] == "mill.md"
    assert "Jonas Berg" in after["answer"]
    assert_verbatim(after, corpus)


def test_sigterm_stops_the_server_cleanly(serve: Callable[..., Any], tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    server = serve(tmp_path / "index", corpus, wait_ready=False)
    server.process.terminate()
    # uvicorn finishes its shutdown, then re-raises the signal so that supervisors see it.
    assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    assert any("Application shutdown complete" in line for line in server.log_lines())
