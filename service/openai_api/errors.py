"""Errors of the /v1 routes in OpenAI's shape: ``{"error": {"message", "type", "param",
"code"}}``, which OpenAI's clients turn into their own exceptions (``openai.NotFoundError``
...). The status and ``code`` are the service's usual ones; ``hint`` and ``request_id`` ride
along, and the hint is also appended to ``message``, the one field chat clients show."""

from __future__ import annotations

from typing import Any

#: Paths answered in OpenAI's shape.
PREFIX = "/v1/"

ROUTES_HINT = "The OpenAI-compatible routes are GET /v1/models and POST /v1/chat/completions."
BODY_TOO_LARGE_HINT = (
    "Start a new chat: the question is the last user message and only a few turns before it "
    "are used. An operator can raise QA_MAX_BODY_BYTES."
)
FIELD_HINT = "Fix the field named above; see /docs for the request schema."


def is_openai_path(path: str) -> bool:
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def error_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def openai_error(
    status: int, code: str, message: str, hint: str, param: str | None, request_id: str
) -> dict[str, Any]:
    return {
        "error": {
            "message": _sentence(message) + " " + hint if hint else message,
            "type": error_type(status),
            "param": param,
            "code": code,
            "hint": hint,
            "request_id": request_id,
        }
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."
