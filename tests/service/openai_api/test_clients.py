"""Real OpenAI clients against a real `qa serve` on 127.0.0.1: the official ``openai`` SDK,
plain and streamed, in both modes (generative against the LLM stand-in; llama.cpp in
tests/qa/test_llamacpp.py), its exceptions for a wrong key and an unknown model, and
llama-index's ``OpenAILike`` LLM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from qa.engine import Engine
from qa.models import Answer
from tests.service.conftest import RunningServer, start_server, stop_server
from tests.service.openai_api.conftest import verbatim
from tests.support.openai_standin import OpenAIStandIn, Reply

pytestmark = pytest.mark.slow

KEY = "client-key-0123456789abcdef"
QUESTION = "Who built the mill on the hill?"
DRAFT = "Jonas Berg built the mill on the hill in 1850 [1]."


@pytest.fixture(scope="module")
def standin() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn() as llm:
        yield llm


@pytest.fixture(scope="module")
def server(
    chat_engine: Engine, standin: OpenAIStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """`qa serve` over the small corpus, with an API key and the stand-in as its LLM."""
    settings = chat_engine.settings
    running = start_server(
        settings.index_dir,
        settings.corpus_dir,
        tmp_path_factory.mktemp("openai-clients") / "serve.log",
        env={
            "QA_API_KEY": KEY,
            "QA_LLM_BASE_URL": standin.url,
            "QA_LLM_MODEL": "standin",
            "QA_LLM_FALLBACK": "error",
        },
    )
    yield running
    stop_server(running)


@pytest.fixture
def client(server: RunningServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0) as sdk:
        yield sdk


def contract(extra: dict[str, object] | None) -> Answer:
    """The answer contract that rides along in the ``qa`` field."""
    assert extra is not None and "qa" in extra, extra
    return Answer.model_validate(extra["qa"])


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["qa-extractive", "qa-generative"]
    assert client.models.retrieve("qa-extractive").owned_by == "qa"


@pytest.mark.parametrize("model", ["qa-extractive", "qa-generative"])
def test_a_completion_carries_the_answer_and_verbatim_citations(
    client: openai.OpenAI, standin: OpenAIStandIn, chat_engine: Engine, model: str
) -> None:
    standin.script(Reply(DRAFT))
    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": QUESTION}], user="tester-1"
    )
    content = completion.choices[0].message.content or ""
    answer = contract(completion.model_extra)
    assert answer.answered and answer.mode == model.removeprefix("qa-")
    assert "Jonas Berg" in answer.answer
    assert content.startswith(answer.answer) and "Sources:" in content
    assert verbatim([c.model_dump() for c in answer.citations], chat_engine.settings.corpus_dir)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


@pytest.mark.parametrize("model", ["qa-extractive", "qa-generative"])
def test_a_streamed_completion_arrives_in_chunks(
    client: openai.OpenAI, standin: OpenAIStandIn, chat_engine: Engine, model: str
) -> None:
    standin.script(Reply(DRAFT))
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    answers: list[Answer] = []
    finish: list[str | None] = []
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        if chunk.model_extra and chunk.model_extra.get("qa"):
            answers.append(contract(chunk.model_extra))
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish.append(choice.finish_reason)
    (answer,) = answers
    content = "".join(pieces)
    assert answer.answered and "Jonas Berg" in answer.answer
    text, sources = content.split("\n\nSources:\n")
    assert "Jonas Berg" in text
    assert all(f"[{c.id}] {c.label()}" in sources for c in answer.citations)
    assert finish[-1] == "stop"
    assert usage is not None and usage.total_tokens > 0
    assert verbatim([c.model_dump() for c in answer.citations], chat_engine.settings.corpus_dir)
    if model == "qa-generative":
        assert len([p for p in pieces if p]) > 2  # the LLM's deltas, as written


def test_a_wrong_key_is_an_authentication_error(server: RunningServer) -> None:
    sdk = openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.models.list()
    assert caught.value.code == "unauthorized"


def test_an_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    assert caught.value.code == "model_not_found"
    assert "qa-extractive" in str(caught.value)


def test_an_error_mid_stream_raises_in_the_sdk(
    client: openai.OpenAI, standin: OpenAIStandIn
) -> None:
    standin.script(Reply(status=500))
    stream = client.chat.completions.create(
        model="qa-generative", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    with pytest.raises(openai.APIError, match="LLM"):
        list(stream)


def test_llama_index_openai_like_answers(server: RunningServer, tmp_path: Path) -> None:
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.openai_like import OpenAILike

    llm = OpenAILike(
        model="qa-extractive",
        api_base=server.url + "/v1",
        api_key=KEY,
        is_chat_model=True,
        context_window=4096,
        max_retries=0,
    )
    response = llm.chat([ChatMessage(role="user", content=QUESTION)])
    assert "Jonas Berg" in (response.message.content or "")
    assert "Sources:" in (response.message.content or "")
    streamed = "".join(
        r.delta or "" for r in llm.stream_chat([ChatMessage(role="user", content=QUESTION)])
    )
    assert streamed == response.message.content
