"""The LLM client against a scripted OpenAI-compatible stand-in: replies, usage, retries with
backoff, and a deadline that holds whatever the server does."""

from __future__ import annotations

import socket
import time

import pytest

from qa.config import load_settings
from qa.errors import LLMFailedError, LLMTimeoutError
from qa.llm import Completion, LLMClient
from tests.support.openai_standin import OpenAIStandIn, Reply

MESSAGES = [{"role": "user", "content": "Who directs Challenge?"}]


def client(standin: OpenAIStandIn, **options: object) -> LLMClient:
    values: dict[str, object] = {"retry_backoff_s": 0.01, "timeout_s": 5.0, **options}
    return LLMClient(standin.url, "standin-model", **values)  # type: ignore[arg-type]


def test_per_request_options_reach_the_llm_within_the_operators_limit(
    llm_standin: OpenAIStandIn,
) -> None:
    base = client(llm_standin, max_tokens=64, temperature=0.0)
    base.with_options(temperature=0.9, max_tokens=10_000).complete(MESSAGES)
    base.with_options(max_tokens=16).complete(MESSAGES)
    base.complete(MESSAGES)
    sent = [(r["temperature"], r["max_tokens"]) for r in llm_standin.requests]
    assert sent == [(0.9, 64), (0.0, 16), (0.0, 64)]


def closed_port_url() -> str:
    """A URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_complete_returns_text_model_and_usage(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply("Klim Shipenko directs it [1]."))
    completion = client(llm_standin, max_tokens=64, temperature=0.2).complete(MESSAGES)
    assert completion.text == "Klim Shipenko directs it [1]."
    assert completion.model == "standin-model"
    assert completion.finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 5
    sent = llm_standin.requests[0]
    assert sent["model"] == "standin-model" and sent["messages"] == MESSAGES
    assert sent["max_tokens"] == 64 and sent["temperature"] == 0.2
    assert not sent.get("stream")


def test_stream_yields_deltas_then_the_whole_completion(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply("Klim Shipenko directs it [1].", chunk_chars=3))
    items = list(client(llm_standin).stream(MESSAGES))
    *deltas, last = items
    assert all(isinstance(d, str) for d in deltas) and len(deltas) > 3
    assert isinstance(last, Completion)
    assert "".join(d for d in deltas if isinstance(d, str)) == last.text
    assert last.text == "Klim Shipenko directs it [1]."
    assert last.usage is not None and last.usage.prompt_tokens > 0
    sent = llm_standin.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_api_key_is_sent_and_a_placeholder_when_none(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply("ok [1]."))
    client(llm_standin, api_key="sk-test-123").complete(MESSAGES)
    client(llm_standin).complete(MESSAGES)
    assert llm_standin.headers[0]["authorization"] == "Bearer sk-test-123"
    assert llm_standin.headers[1]["authorization"] == "Bearer not-needed"


def test_from_settings_is_none_unless_a_url_is_configured(llm_standin: OpenAIStandIn) -> None:
    assert LLMClient.from_settings(load_settings(_env_file=None)) is None
    settings = load_settings(
        _env_file=None, llm_base_url=llm_standin.url, llm_model="m", llm_timeout_s=3
    )
    llm = LLMClient.from_settings(settings)
    assert llm is not None and (llm.base_url, llm.model, llm.timeout_s) == (
        llm_standin.url,
        "m",
        3.0,
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_passing_failures_are_retried_with_backoff(llm_standin: OpenAIStandIn, status: int) -> None:
    llm_standin.script(Reply(status=status), Reply(status=status), Reply("Now it works [1]."))
    waits: list[float] = []
    llm = client(llm_standin, max_retries=2, retry_backoff_s=0.01, sleep=waits.append)
    assert llm.complete(MESSAGES).text == "Now it works [1]."
    assert len(llm_standin.requests) == 3
    assert waits == [0.01, 0.02]  # exponential backoff


def test_retries_stop_at_max_retries(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply(status=503))
    with pytest.raises(LLMFailedError) as caught:
        client(llm_standin, max_retries=1).complete(MESSAGES)
    assert caught.value.code == "llm_failed"
    assert "HTTP 503" in caught.value.message
    assert len(llm_standin.requests) == 2


@pytest.mark.parametrize(
    ("status", "words"),
    [(400, "HTTP 400"), (401, "API key"), (403, "API key"), (404, "QA_LLM_MODEL")],
)
def test_failures_that_will_not_pass_are_not_retried(
    llm_standin: OpenAIStandIn, status: int, words: str
) -> None:
    llm_standin.script(Reply(status=status))
    with pytest.raises(LLMFailedError) as caught:
        client(llm_standin, max_retries=3).complete(MESSAGES)
    assert words in f"{caught.value.message} {caught.value.hint}"
    assert len(llm_standin.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(raw=b"<html>502 Bad Gateway</html>", content_type="text/html"),
        Reply(raw=b"this is not json"),
        Reply(raw=b'{"object": "list", "data": []}'),
        Reply(raw=b'{"choices": []}'),
        Reply(raw=b'{"choices": [{"index": 0, "message": {"role": "assistant"}}]}'),
        Reply(""),
        Reply("   \n "),
    ],
    ids=["html", "not-json", "other-json", "no-choices", "no-content", "empty", "blank"],
)
def test_garbage_is_a_clear_llm_failed_error(llm_standin: OpenAIStandIn, reply: Reply) -> None:
    llm_standin.script(reply)
    with pytest.raises(LLMFailedError) as caught:
        client(llm_standin).complete(MESSAGES)
    assert caught.value.code == "llm_failed"
    assert caught.value.message.startswith(f"The LLM at {llm_standin.url} returned")
    assert "extractive" in caught.value.hint


@pytest.mark.parametrize(
    "raw",
    [
        b"data: {not json}\n\n",
        b"data: [DONE]\n\n",
        b'data: {"choices": [{"index": 0, "delta": {"content": ""}}]}\n\ndata: [DONE]\n\n',
    ],
    ids=["not-json", "nothing", "empty"],
)
def test_a_broken_stream_is_a_clear_llm_failed_error(
    llm_standin: OpenAIStandIn, raw: bytes
) -> None:
    llm_standin.script(Reply(raw_stream=raw))
    with pytest.raises(LLMFailedError) as caught:
        list(client(llm_standin).stream(MESSAGES))
    assert caught.value.code == "llm_failed"


def test_unreachable_server_fails_clearly_after_its_retries() -> None:
    waits: list[float] = []
    llm = LLMClient(closed_port_url(), "m", timeout_s=5, max_retries=2, sleep=waits.append)
    with pytest.raises(LLMFailedError) as caught:
        llm.complete(MESSAGES)
    assert caught.value.code == "llm_failed"
    assert "could not be reached" in caught.value.message
    assert "QA_LLM_BASE_URL" in caught.value.hint
    assert len(waits) == 2


def test_retries_never_outlast_the_deadline() -> None:
    """A backoff that would end past the deadline is not waited: the error comes now."""
    waits: list[float] = []
    llm = LLMClient(
        closed_port_url(), "m", timeout_s=1, max_retries=10, retry_backoff_s=5, sleep=waits.append
    )
    with pytest.raises(LLMFailedError, match="could not be reached"):
        llm.complete(MESSAGES)
    assert waits == []


def test_a_slow_server_times_out_within_the_deadline(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply("too late [1].", delay_s=30))
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError) as caught:
        client(llm_standin, timeout_s=1, max_retries=3).complete(MESSAGES)
    # Never a hang: generous bound relative to the 1 s timeout.
    assert time.monotonic() - started < 10
    assert caught.value.code == "llm_timeout"
    assert "within 1 s" in caught.value.message
    assert "QA_LLM_TIMEOUT_S" in caught.value.hint
    assert len(llm_standin.requests) == 1  # a timeout spends the deadline: no retry


def test_a_stream_that_never_starts_times_out(llm_standin: OpenAIStandIn) -> None:
    llm_standin.script(Reply("too late [1].", delay_s=30))
    started = time.monotonic()
    with pytest.raises(LLMTimeoutError):
        list(client(llm_standin, timeout_s=1).stream(MESSAGES))
    assert time.monotonic() - started < 10


def test_a_trickling_stream_is_cut_at_the_deadline(llm_standin: OpenAIStandIn) -> None:
    """Tokens that keep coming, slowly, never reset the deadline."""
    llm_standin.script(Reply("word " * 200, chunk_chars=5, chunk_delay_s=0.2))
    started = time.monotonic()
    received: list[str | Completion] = []
    with pytest.raises(LLMTimeoutError):
        for item in client(llm_standin, timeout_s=1).stream(MESSAGES):
            received.append(item)
    assert time.monotonic() - started < 10
    assert 0 < len(received) < 200
    assert not any(isinstance(item, Completion) for item in received)


def test_errors_never_echo_the_prompt(llm_standin: OpenAIStandIn) -> None:
    secret = "What is the launch code 7781-SECRET?"
    llm_standin.script(Reply(raw=b"garbage " + secret.encode()))
    with pytest.raises(LLMFailedError) as caught:
        client(llm_standin).complete([{"role": "user", "content": secret}])
    assert "SECRET" not in str(caught.value)
