"""GET /v1/models and POST /v1/chat/completions through the real app: OpenAI's shapes, the
answer contract in the ``qa`` field, streaming chunks, follow-ups, sampling options, errors in
OpenAI's shape, metrics and the OpenAPI page. Real SDK clients: test_clients.py."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from qa.engine import Engine
from service.openai_api.rendering import CHECKED_HEADING, SOURCES_HEADING
from tests.service.openai_api.conftest import ChatClientFactory, verbatim
from tests.support.openai_standin import OpenAIStandIn, Reply

QUESTION = "Who built the mill on the hill?"
KEY = "chat-key-0123456789abcdef"


def ask(question: str = QUESTION, model: str = "qa-extractive", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": question}], **extra}


def events(response: Any) -> list[Any]:
    """The data of each event; ``[DONE]`` as the string."""
    out: list[Any] = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def assert_openai_error(response: Any, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["code"] == code and error["param"] == param
    assert error["message"] and error["hint"] in error["message"]


# Models.


def test_models_list_one_model_per_configured_mode(chat_client: ChatClientFactory) -> None:
    listed = chat_client().get("/v1/models").json()
    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == ["qa-extractive"]
    assert all(m["object"] == "model" and m["owned_by"] == "qa" for m in listed["data"])
    with_llm = chat_client(llm=True).get("/v1/models").json()
    assert [m["id"] for m in with_llm["data"]] == ["qa-extractive", "qa-generative"]


def test_a_model_can_be_read_alone(chat_client: ChatClientFactory) -> None:
    client = chat_client()
    assert client.get("/v1/models/qa-extractive").json()["id"] == "qa-extractive"
    missing = client.get("/v1/models/qa-generative")
    assert_openai_error(missing, 404, "model_not_found", "model")
    assert "QA_LLM_BASE_URL" in missing.json()["error"]["message"]


# Answers.


def test_a_chat_completion_is_the_answer_with_its_sources(
    chat_client: ChatClientFactory, chat_engine: Engine
) -> None:
    response = chat_client().post("/v1/chat/completions", json=ask())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "qa-extractive"
    assert body["id"] == "chatcmpl-" + response.headers["x-request-id"]
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    answer = body["qa"]
    assert answer["question"] == QUESTION and answer["mode"] == "extractive"
    assert answer["answered"], answer
    assert verbatim(answer["citations"], chat_engine.settings.corpus_dir)
    content = choice["message"]["content"]
    assert content.startswith(answer["answer"] + f"\n\n{SOURCES_HEADING}\n")
    for citation in answer["citations"]:
        assert f"[{citation['id']}] {citation['source']}:{citation['start_line']}" in content
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_the_question_is_the_last_user_message_and_text_parts_are_read(
    chat_client: ChatClientFactory,
) -> None:
    body = {
        "model": "qa-extractive",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "When does the ferry leave?"},
            {"role": "assistant", "content": "At seven [1]."},
            {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
        ],
        # Options OpenAI clients send by default are accepted and ignored.
        "top_p": 1,
        "presence_penalty": 0,
    }
    response = chat_client().post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    # Extractive mode answers the last message as asked: it has no LLM to rewrite it with.
    assert response.json()["qa"]["question"] == QUESTION


def test_a_stream_is_openai_chunks_then_done(chat_client: ChatClientFactory) -> None:
    response = chat_client().post(
        "/v1/chat/completions",
        json=ask(stream=True, stream_options={"include_usage": True}),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    data = events(response)
    assert data[-1] == "[DONE]"
    chunks = data[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    (answer,) = [c["qa"] for c in chunks if "qa" in c]
    assert content == answer["answer"] + content[len(answer["answer"]) :]
    assert f"\n\n{SOURCES_HEADING}\n" in content
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_without_include_usage_no_usage_chunk_is_sent(chat_client: ChatClientFactory) -> None:
    data = events(chat_client().post("/v1/chat/completions", json=ask(stream=True)))
    assert all(c["choices"] for c in data[:-1])


# Generative mode, against the LLM stand-in.


def test_generative_mode_answers_with_checked_citations(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn, chat_engine: Engine
) -> None:
    llm_standin.script(Reply("Jonas Berg built the mill on the hill in 1850 [1]."))
    body = (
        chat_client(llm=True)
        .post(
            "/v1/chat/completions",
            json=ask(model="qa-generative", temperature=0.7, max_tokens=9_999),
        )
        .json()
    )
    answer = body["qa"]
    assert answer["mode"] == "generative" and answer["answered"], answer
    assert verbatim(answer["citations"], chat_engine.settings.corpus_dir)
    assert body["choices"][0]["message"]["content"].startswith(answer["answer"])
    (request,) = llm_standin.requests
    # The caller's temperature reaches the LLM; max_tokens is capped at QA_LLM_MAX_TOKENS.
    assert request["temperature"] == 0.7
    assert request["max_tokens"] == chat_engine.settings.llm_max_tokens


def test_generative_streaming_sends_the_draft_then_the_sources(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("Jonas Berg built the mill on the hill in 1850 [1]."))
    response = chat_client(llm=True).post(
        "/v1/chat/completions", json=ask(model="qa-generative", stream=True)
    )
    chunks = events(response)[:-1]
    deltas = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert len([d for d in deltas if d]) > 2  # the draft arrives in pieces, as written
    content = "".join(deltas)
    assert content.startswith("Jonas Berg built the mill on the hill in 1850 [1].\n\nSources:\n")
    assert CHECKED_HEADING not in content  # the checks kept the draft as it was


def test_a_draft_the_checks_changed_is_followed_by_the_checked_answer(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn
) -> None:
    draft = "Jonas Berg built the mill on the hill in 1850 [1]. It was painted blue by elves [1]."
    llm_standin.script(Reply(draft))
    response = chat_client(llm=True).post(
        "/v1/chat/completions", json=ask(model="qa-generative", stream=True)
    )
    chunks = events(response)[:-1]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    (answer,) = [c["qa"] for c in chunks if "qa" in c]
    assert content.startswith(draft)
    assert f"{CHECKED_HEADING}\n\n{answer['answer']}\n\n{SOURCES_HEADING}" in content
    assert "elves" not in answer["answer"]


def test_a_follow_up_is_made_standalone_in_generative_mode(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(
        Reply("When did Jonas Berg build the mill on the hill?"),
        Reply("Jonas Berg built the mill on the hill in 1850 [1]."),
    )
    body = {
        "model": "qa-generative",
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": 'Jonas Berg [1].\n\nSources:\n- [1] mill.md:3: "x"'},
            {"role": "user", "content": "When did he build it?"},
        ],
    }
    answer = chat_client(llm=True).post("/v1/chat/completions", json=body).json()["qa"]
    assert answer["question"] == "When did Jonas Berg build the mill on the hill?"
    condense, answering = llm_standin.requests
    prompt = condense["messages"][1]["content"]
    assert "Assistant: Jonas Berg [1]." in prompt and "Sources:" not in prompt
    assert "When did Jonas Berg build the mill on the hill?" in answering["messages"][1]["content"]


def test_an_llm_failure_falls_back_and_says_so(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(status=500))
    client = chat_client(llm=True, llm_max_retries=0)
    body = client.post("/v1/chat/completions", json=ask(model="qa-generative")).json()
    assert body["qa"]["mode"] == "extractive-fallback"
    assert "extractive answer" in body["choices"][0]["message"]["content"]


def test_an_llm_failure_without_fallback_is_an_openai_error(
    chat_client: ChatClientFactory, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply(status=500))
    client = chat_client(llm=True, llm_max_retries=0, llm_fallback="error")
    plain = client.post("/v1/chat/completions", json=ask(model="qa-generative"))
    assert_openai_error(plain, 502, "llm_failed")
    assert plain.json()["error"]["type"] == "server_error"
    streamed = events(
        client.post("/v1/chat/completions", json=ask(model="qa-generative", stream=True))
    )
    assert streamed[-1]["error"]["code"] == "llm_failed"
    assert "[DONE]" not in streamed


# Errors, in OpenAI's shape.


def test_an_unknown_model_is_a_404_naming_the_models(chat_client: ChatClientFactory) -> None:
    response = chat_client(llm=True).post("/v1/chat/completions", json=ask(model="gpt-4o"))
    assert_openai_error(response, 404, "model_not_found", "model")
    assert "qa-extractive, qa-generative" in response.json()["error"]["message"]


def test_bad_requests_say_what_is_wrong(chat_client: ChatClientFactory) -> None:
    client = chat_client()
    system_only = {"model": "qa-extractive", "messages": [{"role": "system", "content": "Hi"}]}
    assert_openai_error(
        client.post("/v1/chat/completions", json=system_only), 422, "invalid_request", "messages"
    )
    assert_openai_error(
        client.post("/v1/chat/completions", json=ask("  ")), 422, "invalid_question", "messages"
    )
    assert_openai_error(
        client.post("/v1/chat/completions", json=ask(temperature=3)),
        422,
        "invalid_request",
        "temperature",
    )
    assert_openai_error(
        client.post("/v1/chat/completions", json=ask(n=2)), 422, "invalid_request", "n"
    )
    assert_openai_error(
        client.post("/v1/chat/completions", json={"messages": []}), 422, "invalid_request", "model"
    )
    malformed = client.post(
        "/v1/chat/completions", content=b"{", headers={"content-type": "application/json"}
    )
    assert_openai_error(malformed, 400, "malformed_json", "body")
    assert_openai_error(client.get("/v1/embeddings"), 404, "not_found")
    assert "/v1/chat/completions" in client.get("/v1/embeddings").json()["error"]["message"]
    assert_openai_error(client.get("/v1/chat/completions"), 405, "method_not_allowed")


def test_an_oversized_conversation_says_to_start_a_new_chat(
    chat_client: ChatClientFactory,
) -> None:
    client = chat_client(max_body_bytes=2_048)
    long = ask(messages=[{"role": "user", "content": "x" * 3_000}])
    response = client.post("/v1/chat/completions", json=long)
    assert_openai_error(response, 413, "body_too_large", "body")
    assert "new chat" in response.json()["error"]["message"]


def test_the_api_key_is_the_bearer_key(chat_client: ChatClientFactory) -> None:
    client = chat_client(api_key=KEY)
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions")):
        wrong = client.request(method, path, json=ask(), headers={"authorization": "Bearer no"})
        assert_openai_error(wrong, 401, "unauthorized")
        assert wrong.json()["error"]["type"] == "authentication_error"
        good = client.request(method, path, json=ask(), headers={"authorization": f"Bearer {KEY}"})
        assert good.status_code == 200, good.text


def test_other_routes_keep_their_own_error_shape(client: TestClient) -> None:
    error = client.post("/ask", json={"question": ""}).json()["error"]
    assert "type" not in error and error["field"] == "question"


# The same engine: metrics, logs, docs.


def test_metrics_count_the_chat_routes(chat_client: ChatClientFactory) -> None:
    client = chat_client()
    client.post("/v1/chat/completions", json=ask())
    client.post("/v1/chat/completions", json=ask(model="nope"))
    text = client.get("/metrics").text
    assert (
        'qa_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 1.0'
        in text
    )
    assert (
        'qa_http_requests_total{method="POST",route="/v1/chat/completions",status="404"} 1.0'
        in text
    )
    assert 'qa_answers_total{mode="extractive",outcome="answered"} 1.0' in text


def test_the_openapi_page_documents_the_routes(chat_client: ChatClientFactory) -> None:
    paths = chat_client().get("/openapi.json").json()["paths"]
    chat = paths["/v1/chat/completions"]["post"]
    assert chat["tags"] == ["OpenAI-compatible"]
    assert {"application/json", "text/event-stream"} <= set(chat["responses"]["200"]["content"])
    assert {"404", "422", "503"} <= set(chat["responses"])
    assert "/v1/models" in paths and "/v1/models/{model}" in paths
