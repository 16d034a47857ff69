"""Streaming answers over HTTP (Server-Sent Events) and generative mode's failures, with the
scripted OpenAI stand-in as the LLM: in-process, and end to end over a real uvicorn. The corpus
is the tests' own small one (the ``mill_engine`` fixture): which source names the mill's builder,
and so which [n] a scripted reply must cite, is certain."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from qa.citations import quote_in_lines
from qa.engine import Engine
from qa.loading import Source, load_corpus
from qa.models import Answer
from tests.support.openai_standin import OpenAIStandIn, Reply

QUESTION = "Who built the mill on the hill?"
CLAIM = "The mill on the hill was built by Jonas Berg [{n}]. Tom Cruise built it too [{n}]."
#: What the checks keep of CLAIM: mill.md line 3 names Jonas Berg, no line names Tom Cruise.
CHECKED = "The mill on the hill was built by Jonas Berg. [1]"


@pytest.fixture(scope="module")
def sources(mill_engine: Engine) -> dict[str, Source]:
    return {s.path: s for s in load_corpus(mill_engine.settings.corpus_dir).sources}


@pytest.fixture
def llm_client(
    mill_client: Callable[..., TestClient], llm_standin: OpenAIStandIn
) -> Callable[..., TestClient]:
    """``llm_client(**settings)``: a client of the app over the small corpus whose LLM is the
    stand-in."""

    def make(**overrides: object) -> TestClient:
        llm = {"llm_base_url": llm_standin.url, "llm_model": "standin", "llm_retry_backoff_s": 0.05}
        return mill_client(**{**llm, **overrides})

    return make


def builder_marker(engine: Engine) -> int:
    """The [n] of the source that names the mill's builder (mill.md)."""
    evidence = engine.retrieve(QUESTION, 5)[0]
    return next(
        n
        for n, hit in enumerate(evidence.chunks, start=1)
        if "built by Jonas Berg" in hit.chunk.text
    )


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, object]]]:
    """(event, data) pairs of a text/event-stream, as they arrive."""
    event, data = "message", ""
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads(data)
            event, data = "message", ""
        elif line.startswith("event:"):
            event = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data += line[len("data:") :].strip()


def check_events(events: list[tuple[str, dict[str, object]]], sources: dict[str, Source]) -> Answer:
    """Deltas, then exactly one answer event (last) that is a valid, verbatim answer."""
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1, names
    assert set(names[:-1]) <= {"delta"}, names
    answer = Answer.model_validate(events[-1][1])
    for citation in answer.citations:
        assert quote_in_lines(citation, sources[citation.source]), citation
    return answer


@pytest.mark.parametrize(
    ("route", "extra"), [("/ask/stream", {}), ("/ask", {"stream": True})], ids=["stream", "flag"]
)
def test_stream_sends_deltas_then_the_checked_answer(
    llm_client: Callable[..., TestClient],
    mill_engine: Engine,
    llm_standin: OpenAIStandIn,
    sources: dict[str, Source],
    route: str,
    extra: dict[str, object],
) -> None:
    client = llm_client()
    draft = CLAIM.format(n=builder_marker(mill_engine))
    llm_standin.script(Reply(draft, chunk_chars=4))
    response = client.post(route, json={"question": QUESTION, **extra})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-request-id"]
    events = list(parse_sse(response.text.splitlines()))
    answer = check_events(events, sources)
    assert "".join(str(data["text"]) for name, data in events if name == "delta") == draft
    assert answer.mode == "generative" and answer.answered
    assert answer.answer == CHECKED  # Cruise removed
    assert (answer.citations[0].source, answer.citations[0].start_line) == ("mill.md", 3)
    assert llm_standin.requests[0]["stream"] is True


def test_plain_generative_answer_over_http(
    llm_client: Callable[..., TestClient],
    mill_engine: Engine,
    llm_standin: OpenAIStandIn,
    sources: dict[str, Source],
) -> None:
    llm_standin.script(Reply(CLAIM.format(n=builder_marker(mill_engine))))
    response = llm_client().post("/ask", json={"question": QUESTION})
    assert response.status_code == 200
    answer = Answer.model_validate(response.json())
    assert answer.mode == "generative"
    assert answer.answer == CHECKED
    assert all(quote_in_lines(c, sources[c.source]) for c in answer.citations)
    extractive = llm_client().post("/ask", json={"question": QUESTION, "mode": "extractive"})
    assert extractive.json()["mode"] == "extractive"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"question": "  "}, 422, "question"),
        ({"question": QUESTION, "top_k": 0}, 422, "top_k"),
        ({"question": QUESTION, "stream": "yes"}, 422, "stream"),
        ({"question": QUESTION, "mode": "poetry"}, 422, "mode"),
    ],
)
def test_errors_before_the_stream_keep_their_status(
    llm_client: Callable[..., TestClient],
    llm_standin: OpenAIStandIn,
    body: dict[str, object],
    status: int,
    field: str,
) -> None:
    client = llm_client()
    for route in ("/ask/stream", "/ask"):
        response = client.post(route, json={**body, "stream": body.get("stream", True)})
        assert response.status_code == status, (route, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["field"] == field
    assert llm_standin.requests == []


def test_stream_in_generative_mode_without_an_llm_is_422(client: TestClient) -> None:
    response = client.post("/ask/stream", json={"question": QUESTION, "mode": "generative"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "mode" and "not configured" in error["message"]


def test_extractive_stream_without_an_llm(
    mill_client: Callable[..., TestClient], mill_engine: Engine, sources: dict[str, Source]
) -> None:
    response = mill_client().post("/ask/stream", json={"question": QUESTION})
    events = list(parse_sse(response.text.splitlines()))
    answer = check_events(events, sources)
    assert answer.mode == "extractive"
    assert events[0] == ("delta", {"text": mill_engine.ask(QUESTION).answer})
    assert answer.answer == mill_engine.ask(QUESTION).answer


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (Reply(raw=b"garbage"), 502, "llm_failed"),
        (Reply(status=503), 502, "llm_failed"),
        (Reply("late", delay_s=60), 504, "llm_timeout"),
    ],
    ids=["garbage", "503", "slow"],
)
def test_llm_failures_are_clear_errors_without_fallback(
    llm_client: Callable[..., TestClient],
    llm_standin: OpenAIStandIn,
    reply: Reply,
    status: int,
    code: str,
) -> None:
    client = llm_client(llm_fallback="error", llm_timeout_s=1, llm_max_retries=1)
    llm_standin.script(reply)
    started = time.monotonic()
    response = client.post("/ask", json={"question": QUESTION})
    assert time.monotonic() - started < 10  # 1 s timeout: never a hang
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["hint"] and "extractive" in error["hint"]
    assert QUESTION not in response.text  # errors never echo input
    # The same failure once a stream has started: a final error event.
    llm_standin.script(reply)
    streamed = client.post("/ask/stream", json={"question": QUESTION})
    assert streamed.status_code == 200
    events = list(parse_sse(streamed.text.splitlines()))
    name, data = events[-1]
    assert name == "error"
    body = data["error"]
    assert isinstance(body, dict) and body["code"] == code
    assert body["request_id"] == streamed.headers["x-request-id"]


def test_llm_failure_falls_back_to_the_extractive_answer_marked(
    llm_client: Callable[..., TestClient],
    llm_standin: OpenAIStandIn,
    mill_engine: Engine,
    sources: dict[str, Source],
) -> None:
    client = llm_client(llm_timeout_s=1)
    llm_standin.script(Reply("late", delay_s=60))
    started = time.monotonic()
    response = client.post("/ask", json={"question": QUESTION})
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert response.json()["mode"] == "extractive-fallback"
    assert response.json()["answer"] == mill_engine.ask(QUESTION).answer
    streamed = client.post("/ask/stream", json={"question": QUESTION})
    answer = check_events(list(parse_sse(streamed.text.splitlines())), sources)
    assert answer.mode == "extractive-fallback"
    metrics = client.get("/metrics").text
    assert 'mode="extractive-fallback"' in metrics


def test_openapi_documents_streaming_and_the_fallback_mode(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    stream = schema["paths"]["/ask/stream"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    ask = schema["paths"]["/ask"]["post"]
    assert set(ask["responses"]["200"]["content"]) == {"application/json", "text/event-stream"}
    assert {"502", "504"} <= set(ask["responses"])
    assert "extractive-fallback" in ask["responses"]["200"]["description"]
    mode = schema["components"]["schemas"]["Answer"]["properties"]["mode"]
    assert mode["enum"] == mode["examples"] == ["extractive", "generative", "extractive-fallback"]
    assert "generative" in ask["requestBody"]["content"]["application/json"]["examples"]
    assert schema["components"]["schemas"]["AskRequest"]["properties"]["stream"]["type"] == (
        "boolean"
    )


@pytest.mark.slow
def test_streaming_end_to_end_over_a_real_server(
    serve: Callable[..., object],
    mill_engine: Engine,
    llm_standin: OpenAIStandIn,
    sources: dict[str, Source],
) -> None:
    """qa serve (uvicorn) with the stand-in as its LLM: the first delta reaches the client while
    the LLM is still holding back the rest, so nothing buffers the stream on the way."""
    settings = mill_engine.settings
    server = serve(
        settings.index_dir,
        settings.corpus_dir,
        env={"QA_LLM_BASE_URL": llm_standin.url, "QA_LLM_MODEL": "standin"},
    )
    hold = threading.Event()
    draft = CLAIM.format(n=builder_marker(mill_engine))
    llm_standin.script(Reply(draft, chunk_chars=4, hold=hold, hold_after=2))
    url = server.url  # type: ignore[attr-defined]
    events: list[tuple[str, dict[str, object]]] = []
    with httpx.stream(
        "POST", url + "/ask/stream", json={"question": QUESTION}, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for event in parse_sse(response.iter_lines()):
            events.append(event)
            if len(events) == 2:
                assert not hold.is_set()  # two deltas arrived while the LLM was held
                hold.set()
    hold.set()
    answer = check_events(events, sources)
    assert answer.mode == "generative"
    assert answer.answer == CHECKED
    # And a plain POST /ask through the same server.
    llm_standin.script(Reply(draft))
    plain = httpx.post(url + "/ask", json={"question": QUESTION}, timeout=30)
    assert plain.json()["answer"] == answer.answer
