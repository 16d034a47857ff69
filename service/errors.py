"""Every failure becomes a JSON error that says what went wrong and what to do, never a trace.

FastAPI's default 422 handler echoes the invalid input back; a lone surrogate in it then fails
to encode and the client gets a 500. These handlers never echo input, and every string they
send is made encodable first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from qa.errors import QAError
from service.openai_api.errors import (
    BODY_TOO_LARGE_HINT,
    FIELD_HINT,
    ROUTES_HINT,
    is_openai_path,
    openai_error,
)
from service.schemas import ErrorBody, ErrorDetail, ErrorResponse

logger = logging.getLogger("service.errors")

#: HTTP status of each engine error code; anything else the engine raises is a 500.
STATUS_BY_CODE: dict[str, int] = {
    "invalid_question": 422,
    "invalid_request": 422,
    "source_not_found": 404,
    "source_changed": 409,
    "index_empty": 503,
    "index_corrupt": 503,
    "embedding_model_mismatch": 503,
    "store_unavailable": 503,
    "invalid_config": 503,
    "embedding_failed": 502,
    "llm_timeout": 504,
    "llm_failed": 502,
}

ASK_BODY_HINT = 'Send a JSON object such as {"question": "Who designed the bridge?"}.'


@dataclass(frozen=True)
class StreamFailure:
    """An error that ended a response stream after its 200 was sent: it goes in the stream."""

    status: int
    code: str
    message: str
    hint: str
    field: str | None


def stream_failure(exc: Exception, request_id: str) -> StreamFailure:
    """What to tell a client whose stream failed; logged here. Call it in the except block."""
    if isinstance(exc, QAError):
        if exc.code not in {"llm_failed", "llm_timeout"}:  # the LLM client logs its own
            logger.error("%s: %s", exc.code, exc.message)
        status = STATUS_BY_CODE.get(exc.code, 500)
        return StreamFailure(status, exc.code, exc.message, exc.hint, exc.field)
    logger.exception("stream failed")
    return StreamFailure(
        500,
        "internal_error",
        "The service failed while streaming this answer.",
        f"Retry; if it keeps failing, report request id {request_id}.",
        None,
    )


class ApiError(Exception):
    """An error raised by the service itself (auth, content type, not ready)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
        self.headers = headers


def safe_text(value: object, limit: int = 200) -> str:
    """``value`` as text that always encodes to UTF-8 (lone surrogates escaped), kept short."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    hint: str,
    field: str | None = None,
    details: Sequence[ErrorDetail] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    if is_openai_path(request.url.path):
        openai_body = openai_error(
            status,
            code,
            safe_text(message, 1_000),
            safe_text(hint, 1_000),
            None if field is None else safe_text(field),
            request_id_of(request),
        )
        return JSONResponse(openai_body, status_code=status, headers=headers)
    body = ErrorResponse(
        error=ErrorBody(
            code=code,
            message=safe_text(message, 1_000),
            hint=safe_text(hint, 1_000),
            field=None if field is None else safe_text(field),
            details=list(details),
            request_id=request_id_of(request),
        )
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    """("body", "top_k") -> "top_k"; ("query", "q") -> "q"; ("body",) -> "body"."""
    parts = [str(part) for part in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return safe_text(".".join(parts) or "body", 100)


def _hint_for(error: dict[str, Any], field: str) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        if field == "body":
            return ASK_BODY_HINT
        return f"Add '{field}'. " + (ASK_BODY_HINT if field == "question" else "")
    if kind == "extra_forbidden":
        return "Remove it: the body takes only question, top_k, mode and stream."
    if kind in {"model_attributes_type", "dict_type", "model_type"}:
        return ASK_BODY_HINT
    if kind == "string_unicode":
        return "Remove the lone surrogate escape (such as \\ud800): text must be valid Unicode."
    if kind.startswith("bool"):
        return f"Send '{field}' as true or false, or leave it out."
    if kind.startswith("string"):
        return f"Send '{field}' as a JSON string."
    if kind.startswith("int") or kind in {"greater_than_equal", "less_than_equal"}:
        return f"Send '{field}' as a whole number from 1 to 50, or leave it out."
    if kind == "literal_error":
        return f"Use one of the values named above for '{field}', or leave it out."
    return "Fix the field named above (see /docs for the request schema)."


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        error = next(e for e in errors if e.get("type") == "json_invalid")
        reason = safe_text((error.get("ctx") or {}).get("error", "JSON decode error"))
        position = error.get("loc", ("body", 0))[-1]
        return error_response(
            request,
            400,
            "malformed_json",
            f"The request body is not valid JSON ({reason} at character {position}).",
            ASK_BODY_HINT,
            field="body",
        )
    details = [
        ErrorDetail(field=_field_name(e.get("loc", ())), problem=safe_text(e.get("msg", "")))
        for e in errors
    ]
    first = details[0] if details else ErrorDetail(field="body", problem="invalid request")
    message = "; ".join(f"{d.field}: {d.problem}" for d in details) or "Invalid request."
    # The hints name /ask's fields; the OpenAI routes take OpenAI's.
    hint = (
        FIELD_HINT
        if is_openai_path(request.url.path)
        else _hint_for(errors[0] if errors else {}, first.field)
    )
    return error_response(
        request,
        422,
        "invalid_request",
        message,
        hint,
        field=first.field,
        details=details,
    )


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        return error_response(
            request,
            404,
            "not_found",
            "No such route.",
            ROUTES_HINT if is_openai_path(request.url.path) else "See /docs for the routes.",
            headers=headers,
        )
    if status == 405:
        # Starlette's Allow names only the first route on the path; GET and POST /ask are two.
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
        return error_response(
            request,
            405,
            "method_not_allowed",
            f"{request.method} is not allowed here.",
            "See /docs for the methods each route takes.",
            headers=headers,
        )
    if status == 413:
        limit = request.app.state.settings.max_body_bytes
        return error_response(
            request,
            413,
            "body_too_large",
            f"The request body is larger than {limit:,} bytes.",
            BODY_TOO_LARGE_HINT
            if is_openai_path(request.url.path)
            else "Send the question alone; questions are at most 2,000 characters.",
            field="body",
            headers=headers,
        )
    if status == 400:
        # FastAPI's answer to a body it cannot decode (e.g. bytes that are not UTF-8).
        return error_response(
            request,
            400,
            "malformed_body",
            "The request body could not be read as UTF-8 JSON.",
            ASK_BODY_HINT,
            field="body",
            headers=headers,
        )
    return error_response(
        request,
        status,
        "http_error",
        safe_text(exc.detail),
        "See /docs for how to call this route.",
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    pending: list[Any] = list(request.app.router.routes)
    while pending:
        route = pending.pop()
        # FastAPI wraps each included router; the service's routers have no prefix, so the
        # routes inside match the request's path as they are.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            pending.extend(inner.routes)
            continue
        match, _ = route.matches(request.scope)
        if match in (Match.FULL, Match.PARTIAL):
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        request, exc.status, exc.code, exc.message, exc.hint, exc.field, headers=exc.headers
    )


async def handle_qa_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QAError)
    status = STATUS_BY_CODE.get(exc.code, 500)
    headers = {"Retry-After": "10"} if status == 503 else None
    if status >= 500:
        logger.error("%s: %s", exc.code, exc.message)
    return error_response(
        request, status, exc.code, exc.message, exc.hint, exc.field, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    app.add_exception_handler(ApiError, handle_api_error)
    app.add_exception_handler(QAError, handle_qa_error)
