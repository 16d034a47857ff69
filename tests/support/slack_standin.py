"""A stand-in for Slack's Web API on 127.0.0.1, and Slack's request signing, for the bot's tests.

Only Slack's own servers are replaced: the bot, slack-bolt's signature check and the HTTP
service under test are the real ones.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SLACK_BOT_TOKEN = "xoxb-test-bot-token"
SLACK_APP_TOKEN = "xapp-test-app-token"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER = "U0QABOT"


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    authorization: str


class SlackStandIn:
    """A small stand-in for Slack's Web API on 127.0.0.1 that records every call.

    It answers auth.test, chat.postMessage, chat.update, chat.postEphemeral and
    apps.connections.open as Slack does (the fields slack-bolt reads), and response_url posts
    under /hooks/. Bodies may be JSON (empty included), or form-encoded.
    """

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.changed = threading.Condition()
        self.socket_url = ""
        self.refuse_tokens = False
        #: method -> Slack error code to answer it with, e.g. {"chat.update": "message_not_found"}
        self.fail: dict[str, str] = {}
        self._ts = itertools.count(1)
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("content-type") or ""):
                    params = json.loads(raw) if raw.strip() else {}
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                method = self.path.split("?")[0].removeprefix("/api/")
                reply = standin.reply(method, params, self.headers.get("authorization", ""))
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def reply(self, method: str, params: dict[str, Any], authorization: str) -> dict[str, Any]:
        with self.changed:
            self.calls.append(SlackCall(method, params, authorization))
            self.changed.notify_all()
        if self.refuse_tokens:
            return {"ok": False, "error": "invalid_auth"}
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Test",
                "user": "qa",
                "team_id": "T0TEST",
                "user_id": BOT_USER,
                "bot_id": "B0QABOT",
            }
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": params}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method.startswith("/hooks/"):
            return {"ok": True}
        return {"ok": False, "error": "unknown_method"}

    def made(self, method: str) -> list[SlackCall]:
        with self.changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> list[SlackCall]:
        """The calls of ``method`` once there are ``count``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                calls = [call for call in self.calls if call.method == method]
                if len(calls) >= count:
                    return calls
                left = deadline - time.monotonic()
                if left <= 0:
                    made = [call.method for call in self.calls]
                    raise AssertionError(f"{count} {method} call(s) expected; calls: {made}")
                self.changed.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def slack_signature(body: str, timestamp: int, secret: str = SLACK_SIGNING_SECRET) -> str:
    """Slack's v0 request signature, computed as Slack documents it."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str,
    content_type: str = "application/json",
    timestamp: int | None = None,
    secret: str = SLACK_SIGNING_SECRET,
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": slack_signature(body, timestamp, secret),
    }


def slack_settings_overrides(slack_api: SlackStandIn, folder: Path) -> dict[str, object]:
    return {
        "slack_bot_token": SLACK_BOT_TOKEN,
        "slack_signing_secret": SLACK_SIGNING_SECRET,
        "slack_app_token": SLACK_APP_TOKEN,
        "slack_api_url": slack_api.url + "/api",
        "slack_db": folder / "slack.sqlite3",
    }


class SocketModeStandIn:
    """Slack's Socket Mode end on 127.0.0.1: a WebSocket server that says hello, sends the
    envelopes a test gives it, and records what the app sends back (its acks)."""

    def __init__(self) -> None:
        from websockets.sync.server import ServerConnection, serve

        self.received: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.connections: list[ServerConnection] = []

        def handler(connection: ServerConnection) -> None:
            with self.changed:
                self.connections.append(connection)
                self.changed.notify_all()
            connection.send(json.dumps({"type": "hello", "num_connections": 1}))
            for message in connection:
                with self.changed:
                    self.received.append(json.loads(message))
                    self.changed.notify_all()

        self.server = serve(handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_connected(self, timeout: float = 120.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.connections, timeout), "no connection"

    def send_event(self, body: dict[str, Any], envelope_id: str, retry_attempt: int = 0) -> None:
        envelope = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
            "payload": body,
        }
        self.connections[-1].send(json.dumps(envelope))

    def wait_ack(self, envelope_id: str, timeout: float = 60.0) -> dict[str, Any]:
        def ack() -> dict[str, Any] | None:
            return next((m for m in self.received if m.get("envelope_id") == envelope_id), None)

        with self.changed:
            assert self.changed.wait_for(lambda: ack() is not None, timeout), self.received
            found = ack()
            assert found is not None
            return found

    def close(self) -> None:
        self.server.shutdown()


def app_mention(
    event_id: str, text: str, ts: str, channel: str = "C0GENERAL", **event: Any
) -> dict[str, Any]:
    """An Events API ``event_callback`` body carrying an app_mention, as Slack sends it."""
    return {
        "token": "legacy-verification-token",
        "team_id": "T0TEST",
        "api_app_id": "A0QA",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "app_mention",
            "user": "U0ASKER",
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            **event,
        },
    }
