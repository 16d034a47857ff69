"""`qa ingest` and `qa serve` (two uvicorn workers) against a real `chroma run` server, and what
the service says while that server is down: /readyz and /ask answer 503 with the reason, and
everything works again, with no restart, once the server is back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import ServerFactory
from tests.support.chroma import ChromaServer, write_corpus
from tests.support.processes import qa_environment, run_qa

pytestmark = pytest.mark.slow

QUESTION = {"question": "Where did the crew of Alpha Station launch from?"}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.25)


def status_of(url: str, path: str = "/readyz") -> int:
    return httpx.get(url + path, timeout=30).status_code


def test_ingest_then_serve_with_two_workers_through_chroma_down_and_back(
    chroma_server: ChromaServer, corpus: Path, tmp_path: Path, serve: ServerFactory
) -> None:
    env = qa_environment(QA_CHROMA_URL=chroma_server.url, QA_CORPUS_DIR=str(corpus))
    ingested = run_qa("ingest", "--json", env=env, cwd=tmp_path)
    assert ingested.returncode == 0, ingested.stderr
    assert '"added": ["alpha.txt", "beta.md"]' in ingested.stdout
    unused_index = tmp_path / "unused-index"
    server = serve(unused_index, corpus, "--workers", "2", env={"QA_CHROMA_URL": chroma_server.url})
    # /readyz answered from one worker; the other may still be loading.
    wait_for(lambda: server.log_path.read_text().count('"engine loaded"') == 2)
    ready = httpx.get(server.url + "/readyz", timeout=30).json()
    assert ready["ready"] and ready["sources"] == 2
    for _ in range(4):  # both workers answer
        answer = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
        assert answer.status_code == 200
        assert answer.json()["citations"][0]["source"] == "alpha.txt"
    assert not unused_index.exists()

    chroma_server.stop()
    for _ in range(4):
        down = httpx.get(server.url + "/readyz", timeout=30)
        assert down.status_code == 503
        assert chroma_server.url in down.json()["reason"]
        assert "chroma run" in down.json()["hint"]
        refused = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "store_unavailable"
        assert "cannot be reached" in error["message"]
        assert "Traceback" not in refused.text

    chroma_server.start()
    wait_for(lambda: status_of(server.url) == 200)
    for _ in range(4):
        back = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
        assert back.status_code == 200, back.text
    assert "Traceback" not in server.log_path.read_text()


def test_a_hung_chroma_server_is_a_503_after_the_timeout_and_the_service_recovers(
    chroma_server: ChromaServer, corpus: Path, tmp_path: Path, serve: ServerFactory
) -> None:
    env = qa_environment(QA_CHROMA_URL=chroma_server.url, QA_CORPUS_DIR=str(corpus))
    assert run_qa("ingest", "--json", env=env, cwd=tmp_path).returncode == 0
    server = serve(
        tmp_path / "unused-index",
        corpus,
        env={"QA_CHROMA_URL": chroma_server.url, "QA_CHROMA_TIMEOUT_S": "1"},
    )
    assert httpx.post(server.url + "/ask", json=QUESTION, timeout=60).status_code == 200
    expected = f"The Chroma server at {chroma_server.url} did not answer within 1 s"
    with chroma_server.hung():
        assert status_of(server.url, "/healthz") == 200
        down = httpx.get(server.url + "/readyz", timeout=60)
        assert down.status_code == 503
        assert down.json()["reason"].startswith(expected)
        refused = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
        assert refused.status_code == 503, refused.text
        error = refused.json()["error"]
        assert error["code"] == "store_unavailable"
        assert error["message"].startswith(expected)
        assert "QA_CHROMA_TIMEOUT_S" in error["hint"]
    back = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
    assert back.status_code == 200, back.text
    assert "Traceback" not in server.log_path.read_text()


def test_service_started_while_chroma_is_down_recovers_by_itself(
    tmp_path: Path, corpus: Path, serve: ServerFactory
) -> None:
    chroma = ChromaServer(tmp_path / "chroma")
    server = serve(tmp_path / "index", corpus, env={"QA_CHROMA_URL": chroma.url}, wait_ready=False)
    assert status_of(server.url, "/healthz") == 200
    down = httpx.get(server.url + "/readyz", timeout=30)
    assert down.status_code == 503
    assert "cannot be reached" in down.json()["reason"]
    refused = httpx.post(server.url + "/ask", json=QUESTION, timeout=60)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "store_unavailable"
    with chroma:
        ingested = run_qa(
            "ingest",
            str(corpus),
            "--json",
            env=qa_environment(QA_CHROMA_URL=chroma.url),
            cwd=tmp_path,
        )
        assert ingested.returncode == 0, ingested.stderr
        # The service tries to open the index again on the next request: no wait.
        assert status_of(server.url) == 200
        assert httpx.post(server.url + "/ask", json=QUESTION, timeout=60).status_code == 200


def test_ingest_against_a_down_server_fails_with_a_clear_message(
    tmp_path: Path, corpus: Path
) -> None:
    url = ChromaServer(tmp_path / "chroma").url  # never started
    result = run_qa("ingest", str(corpus), env=qa_environment(QA_CHROMA_URL=url), cwd=tmp_path)
    assert result.returncode == 1
    assert f"Error: The Chroma server at {url} cannot be reached" in result.stderr
    assert "chroma run" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = run_qa("ingest", "--json", env=qa_environment(QA_CHROMA_URL=url), cwd=tmp_path)
    assert as_json.returncode == 1
    assert '"code": "store_unavailable"' in as_json.stdout


def test_rebuild_is_refused_in_server_mode(tmp_path: Path, corpus: Path) -> None:
    url = ChromaServer(tmp_path / "chroma").url
    result = run_qa(
        "ingest", str(corpus), "--rebuild", env=qa_environment(QA_CHROMA_URL=url), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "QA_COLLECTION_PREFIX" in result.stderr
