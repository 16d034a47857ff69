"""POST /ask and GET /ask: the answer contract of DESIGN.md."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Body, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from qa.errors import InvalidQuestionError
from qa.models import Answer, AnswerMode
from service.deps import Authorized, EngineDep, MetricsDep
from service.errors import ApiError
from service.schemas import EXAMPLE_ANSWER, EXAMPLE_QUESTION, AskRequest, ErrorResponse

router = APIRouter(tags=["answers"], dependencies=[Authorized])


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Malformed JSON, a body or query that is not UTF-8.",
        401: "QA_API_KEY is set and the request has no valid `Authorization: Bearer` key.",
        413: "The body is over QA_MAX_BODY_BYTES (64 KB).",
        415: "The body is not `application/json`.",
        422: "A field is missing, of the wrong type or out of range; `error.field` names it.",
        503: "The index is empty or cannot be read; `error.hint` says what to do.",
    }
    return {s: {"model": ErrorResponse, "description": described[s]} for s in statuses}


ANSWER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An answer with its citations, or `answered: false` with the closest "
        "passages when the sources do not say.",
        "content": {"application/json": {"example": EXAMPLE_ANSWER}},
    },
}


async def require_json(request: Request) -> None:
    """Only JSON bodies: a form-encoded body (curl -d without a content type) is refused with
    the header to add, instead of a confusing "field required"."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"The body must be JSON, not '{media or 'no content type'}'.",
            "Send the header 'Content-Type: application/json' (curl: -H 'content-type: "
            "application/json').",
            field="body",
        )


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


@router.post(
    "/ask",
    response_model=Answer,
    summary="Answer a question, citing file and line",
    responses={**ANSWER_RESPONSES, **_errors(400, 401, 413, 415, 422, 503)},
    dependencies=[Depends(require_json)],
)
async def ask(
    request_body: Annotated[
        AskRequest,
        Body(
            openapi_examples={
                "simple": {
                    "summary": "Just a question",
                    "value": {"question": EXAMPLE_QUESTION},
                },
                "options": {
                    "summary": "With options",
                    "value": {
                        "question": "When did the film crew launch to the ISS?",
                        "top_k": 5,
                        "mode": "extractive",
                    },
                },
            }
        ),
    ],
    engine: EngineDep,
    metrics: MetricsDep,
) -> Answer:
    """Answers from the indexed documents. Every citation's `quote` is verbatim text of lines
    `start_line..end_line` of `source`; `answered: false` means the sources do not say."""
    return await _answer(
        engine, metrics, request_body.question, request_body.top_k, request_body.mode
    )


@router.get(
    "/ask",
    response_model=Answer,
    summary="Answer a question given in the URL (for a browser or curl)",
    responses={**ANSWER_RESPONSES, **_errors(400, 401, 422, 503)},
    dependencies=[Depends(require_utf8_query)],
)
async def ask_from_query(
    engine: EngineDep,
    metrics: MetricsDep,
    q: Annotated[str, Query(description="The question.", examples=[EXAMPLE_QUESTION])],
    top_k: Annotated[int | None, Query(ge=1, le=50, description="Passages to retrieve.")] = None,
    mode: Annotated[AnswerMode | None, Query(description="extractive or generative.")] = None,
) -> Answer:
    """The same as POST /ask: `curl 'localhost:8000/ask?q=Who+directs+Challenge%3F'`."""
    return await _answer(engine, metrics, q, top_k, mode, question_field="q")
