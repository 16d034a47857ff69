"""GET /v1/models and POST /v1/chat/completions: the service as an OpenAI-compatible model.

Each answer mode is a model (``qa-extractive``; ``qa-generative`` when an LLM is configured).
The last user message is the question, answered by the same engine as POST /ask. The reply's
content is the answer with its [n] markers and a short sources list; the ``qa`` field carries
the answer contract. With ``stream: true`` the reply is OpenAI's ``chat.completion.chunk``
events, then ``data: [DONE]``: generative mode streams the LLM's draft as it is written, then
appends the sources (and the checked answer, when the checks changed the draft).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.answerers import Sampling
from qa.config import Settings
from qa.engine import FinalAnswer, StreamEvent
from qa.errors import InvalidQuestionError
from qa.models import Answer, AnswerMode, Turn
from service.deps import (
    Authorized,
    EngineSlot,
    MetricsDep,
    RequireJson,
    SettingsDep,
    get_engine,
    get_slot,
)
from service.errors import ApiError, request_id_of, stream_failure
from service.metrics import ServiceMetrics
from service.openai_api.errors import openai_error
from service.openai_api.rendering import chat_content, count_tokens, stream_ending, turn_text
from service.openai_api.schemas import (
    EXTRACTIVE_MODEL,
    GENERATIVE_MODEL,
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    Model,
    ModelList,
    OpenAIErrorResponse,
    Usage,
)

logger = logging.getLogger("service.openai")

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"], dependencies=[Authorized])

#: Reported as each model's creation time (OpenAI's clients show it; nothing depends on it).
STARTED = int(time.time())

_MODES: dict[str, AnswerMode] = {EXTRACTIVE_MODEL: "extractive", GENERATIVE_MODEL: "generative"}

_DESCRIBED = {
    400: "Malformed JSON, or a body that is not UTF-8.",
    401: "QA_API_KEY is set and the request has no valid `Authorization: Bearer` key.",
    404: "No such model; the message names the models there are.",
    413: "The body is over QA_MAX_BODY_BYTES (64 KB): start a new chat.",
    415: "The body is not `application/json`.",
    422: "A field is missing or invalid, or no user message has a question; `param` names it.",
    502: "Generative mode: the LLM failed, and QA_LLM_FALLBACK is `error`.",
    503: "The index is empty or cannot be read.",
    504: "Generative mode: the LLM did not answer in time, and QA_LLM_FALLBACK is `error`.",
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": OpenAIErrorResponse, "description": _DESCRIBED[s]} for s in statuses}


def available_models(settings: Settings) -> list[str]:
    return [EXTRACTIVE_MODEL] + ([GENERATIVE_MODEL] if settings.llm_configured else [])


def _mode_of(model: str, settings: Settings, field: str = "model") -> AnswerMode:
    models = available_models(settings)
    if model not in models:
        hint = "Use one of: " + ", ".join(models) + "."
        if model == GENERATIVE_MODEL:
            hint = "Configure an LLM (QA_LLM_BASE_URL, QA_LLM_MODEL) for it, or use " + (
                f"{EXTRACTIVE_MODEL}."
            )
        raise ApiError(404, "model_not_found", f"The model '{model}' does not exist.", hint, field)
    return _MODES[model]


@router.get(
    "/models",
    response_model=ModelList,
    summary="The models: one per answer mode",
    responses=_errors(401),
)
async def list_models(settings: SettingsDep) -> ModelList:
    """`qa-extractive` (quotes the sources), and `qa-generative` (an LLM writes the answer, every
    sentence checked against the lines it cites) when an LLM is configured."""
    return ModelList(data=[Model(id=m, created=STARTED) for m in available_models(settings)])


@router.get(
    "/models/{model}",
    response_model=Model,
    summary="One model",
    responses=_errors(401, 404),
)
async def retrieve_model(
    settings: SettingsDep, model: Annotated[str, Path(description="A model id.")]
) -> Model:
    _mode_of(model, settings)
    return Model(id=model, created=STARTED)


# Before OpenAPI 3.2 (FastAPI writes 3.1) the schema of text/event-stream describes one event.
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": 'JSON of a `chat.completion.chunk`, or `{"error": {...}}`, or '
            "`[DONE]` to end the stream.",
        },
    },
}

_STREAM_EXAMPLE = (
    'data: {"id": "chatcmpl-1f0c", "object": "chat.completion.chunk", "created": 1760000000, '
    '"model": "qa-generative", "choices": [{"index": 0, "delta": {"content": "The bridge was '
    'designed by Ann Lee [1]."}, "finish_reason": null, "logprobs": null}]}\n\n'
    'data: {"id": "chatcmpl-1f0c", ..., "choices": [{"index": 0, "delta": {"content": '
    '"\\n\\nSources:\\n- [1] bridge.md:3: \\"The bridge was designed by Ann Lee.\\""}, ...}], '
    '"qa": {"question": ..., "citations": [...]}}\n\n'
    'data: {"id": "chatcmpl-1f0c", ..., "choices": [{"index": 0, "delta": {}, '
    '"finish_reason": "stop", "logprobs": null}]}\n\n'
    "data: [DONE]\n\n"
)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Answer the last user message as an OpenAI chat completion",
    responses={
        200: {
            "description": "A chat completion whose content is the answer with [n] markers and "
            "a sources list, and whose `qa` field is the answer contract. With `stream: true`, "
            "Server-Sent Events: `chat.completion.chunk` objects, then `data: [DONE]`; an "
            'error after the stream started arrives as `data: {"error": {...}}`.',
            "content": {
                "application/json": {},
                "text/event-stream": {"schema": _EVENT_SCHEMA, "example": _STREAM_EXAMPLE},
            },
        },
        **_errors(400, 401, 404, 413, 415, 422, 502, 503, 504),
    },
    dependencies=[RequireJson],
)
async def chat_completions(
    request: Request,
    request_body: Annotated[ChatCompletionRequest, Body()],
    slot: Annotated[EngineSlot, Depends(get_slot)],
    settings: SettingsDep,
    metrics: MetricsDep,
) -> Any:
    """The last `user` message is the question. In `qa-generative`, earlier user and assistant
    turns make a follow-up stand alone (the LLM rewrites it; `qa.question` shows the rewrite);
    `qa-extractive` answers the last user message as asked. System messages are not used.
    `temperature` and `max_tokens` go to the LLM in generative mode."""
    body = request_body
    mode = _mode_of(body.model, settings)
    question, history = conversation(body.messages)
    engine = await get_engine(slot)  # after the checks above: a bad model is a 404, not a 503
    sampling = _sampling(body)
    logger.info(
        "chat completion",
        extra={
            "model": body.model,
            "user": body.user,
            "turns": len(history),
            "stream": body.stream,
        },
    )
    completion_id = f"chatcmpl-{request_id_of(request)}"
    prompt_tokens = count_tokens(m.text() for m in body.messages)
    try:
        if body.stream:
            events = await run_in_threadpool(
                engine.ask_stream, question, None, mode, sampling, history
            )
        else:
            answer = await run_in_threadpool(engine.ask, question, None, mode, sampling, history)
    except InvalidQuestionError as exc:
        exc.field = "messages"
        raise
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = _ChunkWriter(completion_id, body.model, prompt_tokens, include_usage)
        return StreamingResponse(
            chunks.events(events, metrics, settings.public_url, request_id_of(request)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    metrics.observe_answer(answer)
    content = chat_content(answer, settings.public_url)
    completion_tokens = count_tokens([content])
    return ChatCompletion(
        id=completion_id,
        created=int(time.time()),
        model=body.model,
        choices=[Choice(message=ChatCompletionMessage(content=content))],
        usage=Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
        qa=answer,
    )


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the user and assistant turns before it."""
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if last is None:
        raise ApiError(
            422,
            "invalid_request",
            "The messages have no user message; the last user message is the question.",
            'Add {"role": "user", "content": "<your question>"} to messages.',
            field="messages",
        )
    history = [
        Turn(role=m.role, text=turn_text(m.text()))
        for m in messages[:last]
        if m.role == "user" or m.role == "assistant"
    ]
    return messages[last].text(), history


def _sampling(body: ChatCompletionRequest) -> Sampling | None:
    max_tokens = body.max_completion_tokens or body.max_tokens
    if body.temperature is None and max_tokens is None:
        return None
    return Sampling(temperature=body.temperature, max_tokens=max_tokens)


class _ChunkWriter:
    """One streamed completion as Server-Sent Events, in OpenAI's chunk format."""

    def __init__(
        self, completion_id: str, model: str, prompt_tokens: int, include_usage: bool
    ) -> None:
        self.id = completion_id
        self.model = model
        self.created = int(time.time())
        self.prompt_tokens = prompt_tokens
        self.include_usage = include_usage

    def events(
        self,
        events: Iterator[StreamEvent],
        metrics: ServiceMetrics,
        public_url: str,
        request_id: str,
    ) -> Iterator[str]:
        """Runs in the thread pool (Starlette iterates a sync iterator there), so the LLM's
        blocking reads never stall the event loop."""
        sent: list[str] = []
        try:
            yield self._chunk({"role": "assistant", "content": ""})
            for item in events:
                if isinstance(item, FinalAnswer):
                    metrics.observe_answer(item.answer)
                    ending = stream_ending("".join(sent), item.answer, public_url)
                    sent.append(ending)
                    yield self._chunk({"content": ending}, answer=item.answer)
                    yield self._chunk({}, finish_reason="stop")
                    if self.include_usage:
                        yield self._usage_chunk("".join(sent))
                    yield "data: [DONE]\n\n"
                elif item.text:
                    sent.append(item.text)
                    yield self._chunk({"content": item.text})
        except Exception as exc:
            failure = stream_failure(exc, request_id)
            yield _data(
                openai_error(
                    failure.status,
                    failure.code,
                    failure.message,
                    failure.hint,
                    failure.field,
                    request_id,
                )
            )
        finally:
            close = getattr(events, "close", None)
            if callable(close):
                close()  # a client that went away: end the LLM's stream too

    def _chunk(
        self,
        delta: dict[str, str],
        finish_reason: str | None = None,
        answer: Answer | None = None,
    ) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
        chunk = self._envelope([choice])
        if answer is not None:
            chunk["qa"] = answer.model_dump(mode="json")
        return _data(chunk)

    def _usage_chunk(self, content: str) -> str:
        """OpenAI's last chunk with ``stream_options.include_usage``: no choices, the usage."""
        completion_tokens = count_tokens([content])
        chunk = self._envelope([])
        chunk["usage"] = Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=self.prompt_tokens + completion_tokens,
        ).model_dump()
        return _data(chunk)

    def _envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }


def _data(payload: dict[str, Any]) -> str:
    # json.dumps escapes newlines, so a payload is always one SSE data line.
    return f"data: {json.dumps(payload)}\n\n"
