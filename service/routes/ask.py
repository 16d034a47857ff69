"""POST /ask, GET /ask and POST /ask/stream: the answer contract (README.md, "The answer contract").

Streaming is Server-Sent Events: ``delta`` events carry the answer's text as it is written (an
LLM's draft), then one ``answer`` event carries the checked answer, which replaces the draft.
A failure after the stream has started cannot change the status any more: it arrives as an
``error`` event with the usual error body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.engine import FinalAnswer, StreamEvent
from qa.errors import InvalidQuestionError
from qa.models import Answer, AnswerMode
from service.deps import Authorized, EngineDep, MetricsDep, RequireJson
from service.errors import ApiError, request_id_of, safe_text, stream_failure
from service.metrics import ServiceMetrics
from service.schemas import (
    EXAMPLE_ANSWER,
    EXAMPLE_EVENT_STREAM,
    EXAMPLE_QUESTION,
    AskRequest,
    ErrorResponse,
)

logger = logging.getLogger("service.ask")

router = APIRouter(tags=["answers"], dependencies=[Authorized])


def _errors(*statuses: int, json_only: bool = False) -> dict[int | str, dict[str, Any]]:
    """Error responses; ``json_only`` for a route whose own media type is not JSON (FastAPI
    would otherwise document its errors under that media type)."""
    described = {
        400: "Malformed JSON, a body or query that is not UTF-8.",
        401: "QA_API_KEY is set and the request has no valid `Authorization: Bearer` key.",
        413: "The body is over QA_MAX_BODY_BYTES (64 KB).",
        415: "The body is not `application/json`.",
        422: "A field is missing, of the wrong type or out of range; `error.field` names it.",
        502: "Generative mode: the LLM failed or sent something unusable, and QA_LLM_FALLBACK "
        "is `error`.",
        503: "The index is empty or cannot be read; `error.hint` says what to do.",
        504: "Generative mode: the LLM did not answer within QA_LLM_TIMEOUT_S, and "
        "QA_LLM_FALLBACK is `error`.",
    }
    if json_only:
        schema = {"$ref": "#/components/schemas/ErrorResponse"}
        return {
            s: {"description": described[s], "content": {"application/json": {"schema": schema}}}
            for s in statuses
        }
    return {s: {"model": ErrorResponse, "description": described[s]} for s in statuses}


# Before OpenAPI 3.2 (FastAPI writes 3.1) the schema of text/event-stream describes one event.
_EVENT_STREAM = {
    "schema": {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["delta", "answer", "error"]},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "description": 'JSON: `{"text": str}` for `delta`, the answer contract for '
                '`answer`, `{"error": {...}}` (as for any error) for `error`.',
            },
        },
    },
    "example": EXAMPLE_EVENT_STREAM,
}
_ANSWER_DESCRIPTION = (
    "An answer with its citations, or `answered: false` with the closest passages when the "
    "sources do not say. `mode` is `extractive-fallback` when generative was asked for, the "
    "LLM failed, and the extractive answerer answered instead (QA_LLM_FALLBACK)."
)

ANSWER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": _ANSWER_DESCRIPTION,
        "content": {"application/json": {"example": EXAMPLE_ANSWER}},
    },
}
STREAM_OR_ANSWER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": _ANSWER_DESCRIPTION + " With `stream: true`, Server-Sent Events "
        "(see POST /ask/stream).",
        "content": {
            "application/json": {"example": EXAMPLE_ANSWER},
            "text/event-stream": _EVENT_STREAM,
        },
    },
}
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'Server-Sent Events: `delta` (`{"text"}`, the answer as it is '
        "written: an LLM's unchecked draft), then one `answer` (the answer contract, checked; "
        'it replaces the draft), or one `error` (`{"error": {...}}`) when the LLM fails '
        "after the stream started and QA_LLM_FALLBACK is `error`.",
        "content": {"text/event-stream": _EVENT_STREAM},
    },
}


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


async def require_utf8_query(request: Request) -> None:
    """Percent-escapes that are not UTF-8 would reach the engine as U+FFFD characters: refuse
    them instead of answering a question nobody asked."""
    raw = request.scope.get("query_string", b"")
    for pair in raw.split(b"&"):
        try:
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            name = pair.split(b"=", 1)[0].decode("ascii", "replace")
            raise ApiError(
                400,
                "malformed_query",
                f"The query parameter '{name}' is not valid UTF-8 once percent-decoded.",
                "Percent-encode the question's UTF-8 bytes (curl: --data-urlencode with -G).",
                field=name,
            ) from None


async def _answer(
    engine: EngineDep,
    metrics: MetricsDep,
    question: str,
    top_k: int | None,
    mode: AnswerMode | None,
    question_field: str = "question",
) -> Answer:
    # The engine is synchronous (embedding on its own thread, Chroma reads): run it in the
    # thread pool so the event loop keeps serving other requests.
    try:
        answer = await run_in_threadpool(engine.ask, question, top_k, mode)
    except InvalidQuestionError as exc:
        exc.field = question_field
        raise
    metrics.observe_answer(answer)
    return answer


def _sse(event: str, data: object) -> str:
    # json.dumps escapes newlines (and lone surrogates), so data is always one SSE line.
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _sse_events(
    events: Iterator[StreamEvent], metrics: ServiceMetrics, request_id: str
) -> Iterator[str]:
    """The engine's events as SSE text. Runs in the thread pool (Starlette iterates a sync
    iterator there), so the LLM's blocking reads never stall the event loop."""
    try:
        for item in events:
            if isinstance(item, FinalAnswer):
                metrics.observe_answer(item.answer)
                yield _sse("answer", item.answer.model_dump(mode="json"))
            else:
                yield _sse("delta", {"text": item.text})
    except Exception as exc:
        failure = stream_failure(exc, request_id)
        body = _error_body(failure.code, failure.message, failure.hint, failure.field, request_id)
        yield _sse("error", body)
    finally:
        close = getattr(events, "close", None)
        if callable(close):
            close()  # a client that went away: end the LLM's stream too


def _error_body(
    code: str, message: str, hint: str, field: str | None, request_id: str
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": safe_text(message, 1_000),
            "hint": safe_text(hint, 1_000),
            "field": field,
            "details": [],
            "request_id": request_id,
        }
    }


async def _stream(
    request: Request, engine: EngineDep, metrics: MetricsDep, body: AskRequest
) -> EventStreamResponse:
    # Validation and retrieval happen here, before the first byte: their errors keep their
    # status (422, 503) instead of arriving inside a 200 stream.
    try:
        events = await run_in_threadpool(engine.ask_stream, body.question, body.top_k, body.mode)
    except InvalidQuestionError as exc:
        exc.field = "question"
        raise
    return EventStreamResponse(
        _sse_events(events, metrics, request_id_of(request)),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


_ASK_EXAMPLES: dict[str, dict[str, Any]] = {
    "simple": {
        "summary": "Just a question",
        "value": {"question": EXAMPLE_QUESTION},
    },
    "options": {
        "summary": "With options",
        "value": {
            "question": "When did the bridge open?",
            "top_k": 5,
            "mode": "extractive",
        },
    },
    "generative": {
        "summary": "Generative, streamed (needs QA_LLM_BASE_URL)",
        "value": {"question": EXAMPLE_QUESTION, "mode": "generative", "stream": True},
    },
}


@router.post(
    "/ask",
    response_model=Answer,
    summary="Answer a question, citing file and line",
    responses={
        **STREAM_OR_ANSWER_RESPONSES,
        **_errors(400, 401, 413, 415, 422, 502, 503, 504),
    },
    dependencies=[RequireJson],
)
async def ask(
    request: Request,
    request_body: Annotated[
        AskRequest,
        Body(openapi_examples=_ASK_EXAMPLES),
    ],
    engine: EngineDep,
    metrics: MetricsDep,
) -> Any:
    """Answers from the indexed documents. Every citation's `quote` is verbatim text of lines
    `start_line..end_line` of `source`; `answered: false` means the sources do not say.
    With `"stream": true`, the answer comes as Server-Sent Events (see POST /ask/stream)."""
    if request_body.stream:
        return await _stream(request, engine, metrics, request_body)
    return await _answer(
        engine, metrics, request_body.question, request_body.top_k, request_body.mode
    )


@router.post(
    "/ask/stream",
    response_class=EventStreamResponse,
    summary="Answer a question as Server-Sent Events",
    responses={**STREAM_RESPONSES, **_errors(400, 401, 413, 415, 422, 503, json_only=True)},
    dependencies=[RequireJson],
)
async def ask_stream(
    request: Request,
    request_body: Annotated[AskRequest, Body(openapi_examples=_ASK_EXAMPLES)],
    engine: EngineDep,
    metrics: MetricsDep,
) -> EventStreamResponse:
    """The same body as POST /ask (`stream` is implied). `curl -N` shows the events as they
    come: `delta` events with the text as it is written, then one `answer` event with the
    checked answer contract, which replaces the streamed draft."""
    return await _stream(request, engine, metrics, request_body)


@router.get(
    "/ask",
    response_model=Answer,
    summary="Answer a question given in the URL (for a browser or curl)",
    responses={**ANSWER_RESPONSES, **_errors(400, 401, 422, 502, 503, 504)},
    dependencies=[Depends(require_utf8_query)],
)
async def ask_from_query(
    engine: EngineDep,
    metrics: MetricsDep,
    q: Annotated[str, Query(description="The question.", examples=[EXAMPLE_QUESTION])],
    top_k: Annotated[int | None, Query(ge=1, le=50, description="Passages to retrieve.")] = None,
    mode: Annotated[AnswerMode | None, Query(description="extractive or generative.")] = None,
) -> Answer:
    """The same as POST /ask: `curl 'localhost:8000/ask?q=Who+designed+the+bridge%3F'`."""
    return await _answer(engine, metrics, q, top_k, mode, question_field="q")
