"""The acceptance path over the wire: `qa serve` (real uvicorn, one and two workers) with the
Slack bot on, signed requests from outside, and the Web API stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa.engine import Engine
from tests.support.slack_standin import (
    BOT_USER,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    SlackStandIn,
    app_mention,
    signed_headers,
)

pytestmark = pytest.mark.slow


def event(event_id: str, text: str, ts: str) -> str:
    return json.dumps(app_mention(event_id, text, ts))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_mention_over_http_is_answered_once_in_its_thread(
    serve: Any, mill_engine: Engine, slack_api: SlackStandIn, tmp_path: Path, workers: str
) -> None:
    # The tests' own small corpus, where mill.md line 3 alone names who built the mill, and a
    # threshold of 0: the question is answered whatever the reader's scores.
    server = serve(
        mill_engine.settings.index_dir,
        mill_engine.settings.corpus_dir,
        "--workers",
        workers,
        env={
            "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            "SLACK_API_URL": slack_api.url + "/api/",
            "QA_SLACK_DB": str(tmp_path / "slack.sqlite3"),
            "QA_ANSWER_MIN_SCORE": "0",
        },
    )
    url = server.url + "/slack/events"
    body = event("EvHTTP1", f"<@{BOT_USER}> who built the mill on the hill?", "1700000300.000001")

    with httpx.Client(timeout=30) as client:
        first = client.post(url, content=body, headers=signed_headers(body))
        (update,) = [call.params for call in slack_api.wait_for("chat.update")]
        # Retries on fresh connections, so that with two workers they reach either one.
        retries = [
            httpx.post(
                url,
                content=body,
                headers={**signed_headers(body), "x-slack-retry-num": str(n)},
                timeout=30,
            )
            for n in (1, 2, 3)
        ]
        forged = client.post(url, content=body, headers=signed_headers(body, secret="nope"))
        stale = client.post(
            url, content=body, headers=signed_headers(body, timestamp=int(time.time()) - 3600)
        )
        barrier = event("EvHTTP2", f"<@{BOT_USER}> when does the ferry leave?", "1700000300.000002")
        client.post(url, content=barrier, headers=signed_headers(barrier))
        slack_api.wait_for("chat.update", 2)

    assert first.status_code == 200
    assert [r.status_code for r in retries] == [200, 200, 200]
    assert (forged.status_code, stale.status_code) == (401, 401)
    assert forged.json()["error"]["code"] == "invalid_slack_signature"
    assert "Jonas Berg" in update["text"]
    assert re.search(r"\bmill\.md:\d+(-\d+)?\b", update["text"]), update["text"]
    threads = [call.params["thread_ts"] for call in slack_api.made("chat.postMessage")]
    assert threads == ["1700000300.000001", "1700000300.000002"]
