"""Per-request plumbing: a request id, one JSON log line, metrics, and a last-resort 500.

Pure ASGI (not BaseHTTPMiddleware) so that it adds no task switch per request and sees the
response status without buffering the body.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import request_id_var
from service.metrics import ServiceMetrics
from service.openai_api.errors import is_openai_path, openai_error

logger = logging.getLogger("service.requests")

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token (so ids can follow a request across
    services), else a new one."""
    candidate = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return candidate if _CLIENT_ID.match(candidate) else uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error")
            if not response_started:
                await _send_internal_error(send_with_id, request_id, scope.get("path", ""))
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.observe_request(method, template, status, seconds)
            logger.info(
                "request",
                extra={
                    "method": method,
                    "path": scope.get("path", ""),
                    "route": template,
                    "status": status,
                    "duration_ms": round(seconds * 1000.0, 2),
                },
            )
            request_id_var.reset(token)


async def _send_internal_error(send: Send, request_id: str, path: str) -> None:
    message = "The service failed while handling this request."
    hint = f"Retry; if it keeps failing, report request id {request_id}."
    error: dict[str, Any] = (
        openai_error(500, "internal_error", message, hint, None, request_id)
        if is_openai_path(path)
        else {
            "error": {
                "code": "internal_error",
                "message": message,
                "hint": hint,
                "field": None,
                "details": [],
                "request_id": request_id,
            }
        }
    )
    body = json.dumps(error).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyTooLargeError(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="Content Too Large")


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413, from the Content-Length header when there is
    one and by counting the bytes of a chunked body otherwise, before anything is parsed.

    The error is an HTTPException, so the service's JSON error handler answers it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:

            async def refuse() -> Message:
                raise BodyTooLargeError()

            await self.app(scope, refuse, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError()
            return message

        await self.app(scope, counted, send)


class PageHeadersMiddleware:
    """Adds ``headers`` (the page's security headers) to responses under ``prefixes``: the
    static files of the web page, which StaticFiles serves without them."""

    def __init__(self, app: ASGIApp, headers: dict[str, str], prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.prefixes = prefixes
        self.extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + self.extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
