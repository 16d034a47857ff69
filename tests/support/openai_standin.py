"""A small OpenAI-compatible server on 127.0.0.1 that replies what a test scripts.

It serves ``POST /v1/chat/completions`` both as plain JSON and, for ``"stream": true``, as
Server-Sent Events chunks the way OpenAI, vLLM and llama.cpp send them (a usage chunk last when
``stream_options.include_usage`` is set, then ``data: [DONE]``). Each request takes the next
scripted ``Reply``; the last one repeats. Every request body is recorded.

Example::

    with OpenAIStandIn() as llm:
        llm.script(Reply("Klim Shipenko directs it [1]."))
        ...  # point QA_LLM_BASE_URL at llm.url
        assert llm.requests[0]["messages"][0]["role"] == "system"
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted reply."""

    content: str = ""
    #: Seconds to wait before answering at all (a slow or stuck server).
    delay_s: float = 0.0
    #: Seconds between streamed chunks (a server that trickles tokens).
    chunk_delay_s: float = 0.0
    status: int = 200
    #: Sent as is instead of a completion (malformed replies); with ``content_type``.
    raw: bytes | None = None
    content_type: str = "application/json"
    #: Sent as the body of a 200 event stream instead of chunks (malformed streams).
    raw_stream: bytes | None = None
    #: When set, streaming pauses after ``hold_after`` chunks until the test sets it: proof
    #: that what was sent so far reached the client before the rest existed.
    hold: threading.Event | None = None
    hold_after: int = 1
    #: Characters per streamed chunk.
    chunk_chars: int = 4


class OpenAIStandIn:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        #: The headers of each request, lower-cased names.
        self.headers: list[dict[str, str]] = []
        self._replies: list[Reply] = [Reply("The sources don't say.")]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = standin._next(body, headers)
                if reply.delay_s and standin._closing.wait(reply.delay_s):
                    return
                try:
                    if self.path.rstrip("/") != "/v1/chat/completions":
                        self._send(404, b'{"error": {"message": "no such route"}}')
                    elif reply.raw is not None or reply.status != 200:
                        raw = reply.raw if reply.raw is not None else b'{"error": {"message": "x"}}'
                        self._send(reply.status, raw, reply.content_type)
                    elif body.get("stream") and reply.raw_stream is not None:
                        self._send(200, reply.raw_stream, "text/event-stream")
                    elif body.get("stream"):
                        self._stream(reply, body)
                    else:
                        self._send(200, json.dumps(_completion(reply.content, body)).encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): nothing to do

            def _send(
                self, status: int, raw: bytes, content_type: str = "application/json"
            ) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _stream(self, reply: Reply, body: dict[str, Any]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True
                text = reply.content
                size = max(1, reply.chunk_chars)
                pieces = [text[i : i + size] for i in range(0, len(text), size)]
                for number, piece in enumerate(pieces):
                    if reply.chunk_delay_s and standin._closing.wait(reply.chunk_delay_s):
                        return
                    if reply.hold is not None and number == reply.hold_after:
                        reply.hold.wait(60)
                    self._event(_chunk(body, {"content": piece}, None))
                self._event(_chunk(body, {}, "stop"))
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = _chunk(body, {}, None)
                    usage["choices"] = []
                    usage["usage"] = _usage(body, text)
                    self._event(usage)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL to configure (QA_LLM_BASE_URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        """The replies of the next requests, in order; the last one repeats."""
        with self._lock:
            self._replies = list(replies)
            self.requests.clear()
            self.headers.clear()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIStandIn:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(text: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "standin"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(body, text),
    }


def _chunk(body: dict[str, Any], delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "standin"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
