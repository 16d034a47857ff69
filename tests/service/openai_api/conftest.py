"""The OpenAI-compatible routes' fixtures: the tests' small corpus (the service conftest's
``mill_engine``) and apps over it, with or without the LLM stand-in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.engine import Engine
from tests.service.conftest import AppFactory
from tests.support.openai_standin import OpenAIStandIn

ChatClientFactory = Callable[..., TestClient]


@pytest.fixture(scope="session")
def chat_engine(mill_engine: Engine) -> Engine:
    """The engine over the two small files (``mill_engine``), ingested once per session."""
    return mill_engine


@pytest.fixture
def chat_client(mill_client: AppFactory, llm_standin: OpenAIStandIn) -> ChatClientFactory:
    """``chat_client(llm=False, **settings)``: the real app over the small corpus; with
    ``llm=True`` its LLM is the stand-in on 127.0.0.1."""

    def make(llm: bool = False, **overrides: object) -> TestClient:
        if llm:
            overrides |= {"llm_base_url": llm_standin.url, "llm_model": "standin"}
        return mill_client(**overrides)

    return make


def verbatim(citations: list[dict[str, object]], corpus: Path) -> bool:
    """Every quote is text of its cited lines."""
    for citation in citations:
        lines = (corpus / str(citation["source"])).read_text(encoding="utf-8").splitlines()
        start, end = int(str(citation["start_line"])), int(str(citation["end_line"]))
        if str(citation["quote"]) not in "\n".join(lines[start - 1 : end]):
            return False
    return True
