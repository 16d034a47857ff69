"""Bodies of the OpenAI-compatible routes, following OpenAI's chat completions API.

Requests accept OpenAI's other fields (``top_p``, ``stop``, ``tools`` ...) and ignore them, as
clients send them by default. Responses are what OpenAI's clients parse, plus a ``qa`` field with
the answer contract (citations with source, lines and verbatim quote) that they ignore.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qa.models import Answer

EXTRACTIVE_MODEL = "qa-extractive"
GENERATIVE_MODEL = "qa-generative"

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[dict[str, Any]] | None = Field(
        default=None,
        description="Text, or content parts of which the `text` parts are read.",
    )
    name: str | None = None

    def text(self) -> str:
        """The message's text: the string, or its text parts joined."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(
            str(part["text"])
            for part in parts
            if part.get("type") == "text" and isinstance(part.get("text"), str)
        )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = Field(default=False, strict=True)


class ChatCompletionRequest(BaseModel):
    """A chat completion request. The last user message is the question."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": EXTRACTIVE_MODEL,
                    "messages": [{"role": "user", "content": "Who designed the bridge?"}],
                }
            ]
        },
    )

    model: str = Field(description="`qa-extractive`, or `qa-generative` with an LLM configured.")
    messages: list[ChatMessage] = Field(
        min_length=1,
        description="The conversation. The last `user` message is the question; in generative "
        "mode the earlier user and assistant turns are used to make a follow-up stand alone. "
        "System messages are not used: answers come from the sources.",
    )
    stream: bool = Field(
        default=False, strict=True, description="Send `chat.completion.chunk` events."
    )
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(
        default=None,
        ge=0.0,
        le=2.0,
        strict=True,
        description="Generative mode: the LLM's temperature.",
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        strict=True,
        description="Generative mode: the most tokens the LLM may write, capped at "
        "QA_LLM_MAX_TOKENS.",
    )
    max_completion_tokens: int | None = Field(
        default=None,
        ge=1,
        strict=True,
        description="The newer name of `max_tokens`; it wins when both are set.",
    )
    n: int | None = Field(
        default=None, ge=1, le=1, strict=True, description="Only 1: one answer per question."
    )
    user: str | None = Field(default=None, max_length=256, description="Logged with the request.")


class ChatCompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class Usage(BaseModel):
    """Token counts, estimated with a common BPE tokenizer (cl100k)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: None = None
    qa: Answer = Field(
        description="The answer contract, as POST /ask returns it: the citations with source, "
        "lines and verbatim quote, `answered`, the mode and the timings. OpenAI clients ignore it."
    )


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    system_fingerprint: None = None
    qa: Answer | None = Field(
        default=None, description="On the chunk that carries the sources: the answer contract."
    )


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "qa"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class OpenAIErrorBody(BaseModel):
    message: str = Field(description="What went wrong, and what to do.")
    type: str = Field(
        description="`invalid_request_error`, `authentication_error`, `server_error` ..."
    )
    param: str | None = Field(default=None, description="The request field at fault, if any.")
    code: str = Field(description="The same stable code as the service's other routes.")
    hint: str = Field(description="What to do about it.")
    request_id: str


class OpenAIErrorResponse(BaseModel):
    """Every error of the /v1 routes, in OpenAI's shape."""

    error: OpenAIErrorBody
