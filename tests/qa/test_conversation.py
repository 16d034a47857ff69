"""Follow-ups made standalone by an LLM (the stand-in on 127.0.0.1), and every way the rewrite
falls back to the question as asked."""

from __future__ import annotations

import pytest

from qa.conversation import MAX_TURN_CHARS, MAX_TURNS, standalone_question
from qa.llm import LLMClient
from qa.models import Turn
from tests.support.openai_standin import OpenAIStandIn, Reply

HISTORY = [
    Turn(role="user", text="Who built the mill on the hill?"),
    Turn(role="assistant", text="Jonas Berg built it [1]."),
]


@pytest.fixture
def llm(llm_standin: OpenAIStandIn) -> LLMClient:
    return LLMClient(llm_standin.url, "standin", max_retries=0, timeout_s=10, max_tokens=400)


def test_a_follow_up_is_rewritten_from_the_conversation(
    llm: LLMClient, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("When did Jonas Berg build the mill on the hill?"))
    rewrite = standalone_question("When did he build it?", HISTORY, llm, max_chars=2_000)
    assert rewrite == "When did Jonas Berg build the mill on the hill?"
    (request,) = llm_standin.requests
    prompt = request["messages"][1]["content"]
    assert "User: Who built the mill on the hill?" in prompt
    assert "Assistant: Jonas Berg built it [1]." in prompt
    assert "Last question: When did he build it?" in prompt
    # A rewrite is short and deterministic, whatever the caller's sampling for answers.
    assert request["temperature"] == 0.0
    assert request["max_tokens"] < 400


def test_a_label_and_quotes_around_the_rewrite_are_removed(
    llm: LLMClient, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply('Rewritten question: "Where is the mill?"\n\nExplanation: ...'))
    assert standalone_question("Where is it?", HISTORY, llm, 2_000) == "Where is the mill?"


def test_without_an_llm_or_earlier_user_turns_the_question_is_kept(
    llm: LLMClient, llm_standin: OpenAIStandIn
) -> None:
    assert standalone_question("Where is it?", HISTORY, None, 2_000) == "Where is it?"
    alone = [Turn(role="assistant", text="Hello, ask me anything.")]
    assert standalone_question("Where is it?", alone, llm, 2_000) == "Where is it?"
    assert standalone_question("Where is it?", [], llm, 2_000) == "Where is it?"
    assert llm_standin.requests == []


@pytest.mark.parametrize(
    "reply",
    [Reply(status=500), Reply("   \n"), Reply("x" * 300)],
    ids=["llm-fails", "empty-rewrite", "too-long"],
)
def test_an_unusable_rewrite_keeps_the_question(
    llm: LLMClient, llm_standin: OpenAIStandIn, reply: Reply
) -> None:
    llm_standin.script(reply)
    assert standalone_question("Where is it?", HISTORY, llm, max_chars=200) == "Where is it?"


def test_only_recent_turns_are_sent_and_long_ones_are_cut(
    llm: LLMClient, llm_standin: OpenAIStandIn
) -> None:
    llm_standin.script(Reply("Where is the mill?"))
    old = [Turn(role="user", text=f"Old question number {n}?") for n in range(10)]
    long_answer = Turn(role="assistant", text="word " * 1_000)
    standalone_question("Where is it?", [*old, long_answer], llm, 2_000)
    prompt = llm_standin.requests[0]["messages"][1]["content"]
    assert "Old question number 0?" not in prompt
    assert f"Old question number {10 - (MAX_TURNS - 1)}?" in prompt
    assert "word " * (MAX_TURN_CHARS // 5 + 5) not in prompt
