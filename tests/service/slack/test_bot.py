"""The Slack bot through the real app: signed Events API requests, slash commands and button
clicks go to POST /slack/events, slack-bolt checks the signatures, and the bot's Web API calls
land on a stand-in for Slack on 127.0.0.1 that records them.

"Nothing was posted" is shown without sleeping: after the request under test, a valid event is
sent and answered; the stand-in handles calls in order, so anything the first request had set
off would have been recorded by then.
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qa.engine import Engine
from qa.models import Answer
from service.slack.messages import HELP, LOOKING
from tests.support.processes import qa_environment, run_qa
from tests.support.slack_standin import (
    BOT_USER,
    SLACK_SIGNING_SECRET,
    SlackStandIn,
    app_mention,
    signed_headers,
)

CITATION_LABEL = re.compile(r"\b([\w/.-]+\.(?:md|txt)):(\d+)(?:-(\d+))?\b")
#: The bot's answers come from the tests' own small corpus (``mill_engine``): mill.md line 3 is
#: the only line that names who built the mill. Which seed question is answered how is the eval
#: suites' job.
MILL = "who built the mill on the hill?"
BUILDER = "Jonas Berg"
_ids = itertools.count(1)


def mention_event(text: str, **event: Any) -> dict[str, Any]:
    n = next(_ids)
    return app_mention(f"Ev{n:08d}", text, f"1700000100.{n:06d}", **event)


def dm_event(text: str, **event: Any) -> dict[str, Any]:
    body = mention_event(text, type="message", channel="D0DIRECT", channel_type="im")
    body["event"].update(event)
    return body


def post_event(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Any:
    raw = json.dumps(body)
    return client.post(
        "/slack/events", content=raw, headers={**signed_headers(raw), **(headers or {})}
    )


def post_form(client: TestClient, fields: dict[str, str]) -> Any:
    raw = urllib.parse.urlencode(fields)
    headers = signed_headers(raw, content_type="application/x-www-form-urlencoded")
    return client.post("/slack/events", content=raw, headers=headers)


def answers_in(slack_api: SlackStandIn, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """The bot's final messages in a thread: each "looking..." post and what replaced it."""
    posted = [
        call.params
        for call in slack_api.made("chat.postMessage")
        if call.params.get("channel") == channel and call.params.get("thread_ts") == thread_ts
    ]
    return posted


def final_text(slack_api: SlackStandIn, count: int = 1) -> list[dict[str, Any]]:
    return [call.params for call in slack_api.wait_for("chat.update", count)]


def answer_after(client: TestClient, slack_api: SlackStandIn) -> None:
    """Sends a valid mention and waits for its answer (the ordering barrier; see above)."""
    before = len(slack_api.made("chat.update"))
    assert (
        post_event(client, mention_event(f"<@{BOT_USER}> when does the ferry leave?")).status_code
        == 200
    )
    slack_api.wait_for("chat.update", before + 1)


def assert_quotes_verbatim(blocks: list[dict[str, Any]], corpus: Path) -> int:
    """Every cited label's quote is in those lines of the file; returns how many were checked."""
    checked = 0
    for block in blocks:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        match = CITATION_LABEL.search(text)
        if not match:
            continue
        name, start, end = (
            match.group(1),
            int(match.group(2)),
            int(match.group(3) or match.group(2)),
        )
        quote = "\n".join(
            line.removeprefix("> ") for line in text.splitlines()[1:] if line.startswith(">")
        )
        quote = quote.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        lines = (corpus / name).read_text(encoding="utf-8").splitlines()[start - 1 : end]
        assert quote and quote in "\n".join(lines), (quote, name, start, end)
        checked += 1
    return checked


def test_a_signed_mention_gets_one_answer_in_its_thread(
    slack_client: TestClient, slack_api: SlackStandIn, mill_engine: Engine
) -> None:
    body = mention_event(f"<@{BOT_USER}> {MILL}")
    event = body["event"]

    response = post_event(slack_client, body)

    assert response.status_code == 200
    (update,) = final_text(slack_api)
    (looking,) = slack_api.made("chat.postMessage")
    # The "looking..." reply went into the mention's thread and was then replaced.
    assert looking.params["channel"] == event["channel"]
    assert looking.params["thread_ts"] == event["ts"]
    assert looking.params["text"] == LOOKING
    assert update["channel"] == event["channel"]
    assert looking.authorization == "Bearer xoxb-test-bot-token"
    assert BUILDER in update["text"]
    assert CITATION_LABEL.search(update["text"]), update["text"]
    blocks = json.loads(update["blocks"]) if isinstance(update["blocks"], str) else update["blocks"]
    assert assert_quotes_verbatim(blocks, mill_engine.settings.corpus_dir) >= 1
    answer_after(slack_client, slack_api)
    assert len(answers_in(slack_api, event["channel"], event["ts"])) == 1


def hold_answers(client: TestClient) -> threading.Event:
    """Makes the bot's answers wait until the returned event is set."""
    release = threading.Event()
    bot = client.app.state.slack_bot  # type: ignore[attr-defined]
    engine = bot.engine

    class HeldEngine:
        def ask(self, question: str) -> Answer:
            assert release.wait(60)
            answer: Answer = engine().ask(question)
            return answer

    bot.engine = lambda: HeldEngine()
    return release


def test_the_answer_is_acknowledged_before_it_is_ready(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    # Slack wants a 200 within 3 seconds: the request returns while the answer is still held.
    release = hold_answers(slack_client)

    response = post_event(slack_client, mention_event(f"<@{BOT_USER}> {MILL}"))

    assert response.status_code == 200
    slack_api.wait_for("chat.postMessage")
    assert slack_api.made("chat.update") == []
    release.set()
    (update,) = final_text(slack_api)
    assert BUILDER in update["text"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda raw: signed_headers(raw, secret="not-the-secret"), id="bad-signature"),
        pytest.param(
            lambda raw: signed_headers(raw, timestamp=int(time.time()) - 10 * 60), id="stale"
        ),
        pytest.param(lambda raw: {"content-type": "application/json"}, id="unsigned"),
        pytest.param(
            lambda raw: {**signed_headers(raw), "x-slack-signature": "v0=" + "0" * 64},
            id="forged-hex",
        ),
    ],
)
def test_a_forged_or_stale_request_gets_401_and_posts_nothing(
    slack_client: TestClient, slack_api: SlackStandIn, headers: Any
) -> None:
    body = mention_event(f"<@{BOT_USER}> when did the crew launch?")
    raw = json.dumps(body)

    response = slack_client.post("/slack/events", content=raw, headers=headers(raw))

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_slack_signature"
    assert "SLACK_SIGNING_SECRET" in error["hint"]
    assert error["request_id"] == response.headers["x-request-id"]
    answer_after(slack_client, slack_api)
    assert answers_in(slack_api, "C0GENERAL", body["event"]["ts"]) == []
    assert len(slack_api.made("chat.postMessage")) == 1
    # A forged request does not claim its event id either: the real delivery is still answered.
    assert post_event(slack_client, body).status_code == 200
    slack_api.wait_for("chat.update", 2)
    assert len(answers_in(slack_api, "C0GENERAL", body["event"]["ts"])) == 1


def test_a_retried_delivery_posts_nothing_more(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    body = mention_event(f"<@{BOT_USER}> when did the crew launch?")
    assert post_event(slack_client, body).status_code == 200
    final_text(slack_api)

    retry = post_event(
        slack_client, body, {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
    )
    again = post_event(slack_client, body)  # the same event_id without retry headers

    assert retry.status_code == 200
    assert again.status_code == 200
    answer_after(slack_client, slack_api)
    assert len(answers_in(slack_api, "C0GENERAL", body["event"]["ts"])) == 1
    assert len(slack_api.made("chat.postMessage")) == 2  # that event's and the barrier's
    metrics = slack_client.get("/metrics").text
    assert 'qa_slack_events_total{outcome="duplicate"} 2.0' in metrics


def test_a_retry_that_arrives_while_answering_posts_nothing_more(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    # The usual reason for a retry: the first delivery is still being answered.
    release = hold_answers(slack_client)
    body = mention_event(f"<@{BOT_USER}> when did the crew launch?")
    assert post_event(slack_client, body).status_code == 200
    slack_api.wait_for("chat.postMessage")

    assert post_event(slack_client, body, {"x-slack-retry-num": "1"}).status_code == 200
    release.set()
    answer_after(slack_client, slack_api)

    assert len(answers_in(slack_api, "C0GENERAL", body["event"]["ts"])) == 1


def test_a_second_worker_does_not_answer_an_event_the_first_took(
    mill_client: Any, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    # Two apps (as two `qa serve` workers) sharing QA_SLACK_DB.
    from tests.support.slack_standin import slack_settings_overrides

    settings = slack_settings_overrides(slack_api, tmp_path)
    first, second = mill_client(**settings), mill_client(**settings)
    body = mention_event(f"<@{BOT_USER}> when did the crew launch?")

    assert post_event(first, body).status_code == 200
    assert post_event(second, body, {"x-slack-retry-num": "1"}).status_code == 200
    final_text(slack_api)
    answer_after(second, slack_api)

    assert len(answers_in(slack_api, "C0GENERAL", body["event"]["ts"])) == 1


def test_url_verification_echoes_the_challenge_only_when_signed(
    slack_client: TestClient,
) -> None:
    body = {
        "token": "t",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    raw = json.dumps(body)

    signed = slack_client.post("/slack/events", content=raw, headers=signed_headers(raw))
    forged = slack_client.post(
        "/slack/events", content=raw, headers=signed_headers(raw, secret="wrong")
    )

    assert signed.status_code == 200
    assert signed.json() == {"challenge": body["challenge"]}
    assert forged.status_code == 401


def test_a_direct_message_is_answered_in_its_thread(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    body = dm_event("Who built the mill on the hill?")

    assert post_event(slack_client, body).status_code == 200

    (update,) = final_text(slack_api)
    (looking,) = slack_api.made("chat.postMessage")
    assert looking.params["channel"] == "D0DIRECT"
    assert looking.params["thread_ts"] == body["event"]["ts"]
    assert BUILDER in update["text"]
    assert CITATION_LABEL.search(update["text"])


def test_a_question_in_an_existing_thread_is_answered_in_that_thread(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    body = mention_event(f"<@{BOT_USER}> who built it?", thread_ts="1700000000.000042")

    assert post_event(slack_client, body).status_code == 200

    final_text(slack_api)
    (looking,) = slack_api.made("chat.postMessage")
    assert looking.params["thread_ts"] == "1700000000.000042"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            mention_event(f"<@{BOT_USER}> when did the crew launch?", bot_id="B0OTHER"),
            id="mention-by-another-bot",
        ),
        pytest.param(
            dm_event("when did the crew launch?", bot_id="B0OTHER"), id="dm-from-another-bot"
        ),
        pytest.param(
            dm_event("when did the crew launch?", subtype="bot_message"), id="bot-message"
        ),
        pytest.param(dm_event("edited", subtype="message_changed"), id="edit"),
        pytest.param(
            mention_event(f"<@{BOT_USER}> when?", channel="D0DIRECT"),
            id="mention-in-a-dm-answered-as-the-dm",
        ),
        pytest.param(dm_event("The sources don't say.", user=BOT_USER), id="the-bots-own-message"),
        pytest.param(
            dm_event("when did the crew launch?", channel="C0GENERAL", channel_type="channel"),
            id="channel-message-without-mention",
        ),
    ],
)
def test_bots_own_messages_and_non_questions_are_ignored(
    slack_client: TestClient, slack_api: SlackStandIn, body: dict[str, Any]
) -> None:
    assert post_event(slack_client, body).status_code == 200

    answer_after(slack_client, slack_api)

    assert len(slack_api.made("chat.postMessage")) == 1  # only the barrier's


def test_an_unanswerable_question_says_the_sources_dont_say(
    mill_client: Any, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    from tests.support.slack_standin import slack_settings_overrides

    # A threshold of 1: every question is refused (which seed questions are is the eval suites'
    # job, their "unanswerable" category).
    client = mill_client(answer_min_score=1.0, **slack_settings_overrides(slack_api, tmp_path))
    body = mention_event(f"<@{BOT_USER}> {MILL}")

    post_event(client, body)

    (update,) = final_text(slack_api)
    assert update["text"] == "The sources don't say."
    blocks = update["blocks"]
    assert blocks[0]["text"]["text"] == "*The sources don't say.*"
    assert not any(BUILDER in b.get("text", {}).get("text", "") for b in blocks[:1])


def test_a_bare_mention_gets_help(slack_client: TestClient, slack_api: SlackStandIn) -> None:
    post_event(slack_client, mention_event(f"<@{BOT_USER}>"))

    (update,) = final_text(slack_api)
    assert update["text"] == HELP


def test_an_engine_error_is_told_with_what_to_do(
    slack_api: SlackStandIn, tmp_path: Path, settings_factory: Any, embedding: Any
) -> None:
    # An index nobody ingested: the reply says so and how to fix it, not a stack trace.
    from service.app import create_app
    from tests.service.conftest import service_settings
    from tests.support.slack_standin import slack_settings_overrides

    (tmp_path / "corpus").mkdir()
    settings = service_settings(settings_factory(), **slack_settings_overrides(slack_api, tmp_path))
    engine = Engine.open(settings, embedding=embedding)
    with TestClient(create_app(settings, engine=engine)) as client:
        post_event(client, mention_event(f"<@{BOT_USER}> when did the crew launch?"))
        (update,) = final_text(slack_api)

    assert update["text"].startswith("I couldn't answer: The index is empty.")
    assert "qa ingest" in update["text"]
    assert "Traceback" not in json.dumps(update)


def test_the_slash_command_answers_ephemerally(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    response = post_form(
        slack_client,
        {
            "token": "legacy",
            "team_id": "T0TEST",
            "channel_id": "C0GENERAL",
            "user_id": "U0ASKER",
            "command": "/ask",
            "text": MILL,
            "response_url": slack_api.url + "/hooks/T0TEST/1/abc",
            "trigger_id": "1.2.3",
        },
    )

    assert response.status_code == 200
    assert response.json() == {"text": LOOKING, "response_type": "ephemeral"}
    (hook,) = slack_api.wait_for("/hooks/T0TEST/1/abc")
    assert hook.params["response_type"] == "ephemeral"
    assert BUILDER in hook.params["text"]
    assert CITATION_LABEL.search(hook.params["text"])
    assert slack_api.made("chat.postMessage") == []


def test_the_slash_command_without_a_question_explains_itself(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    response = post_form(
        slack_client,
        {
            "command": "/ask",
            "text": "  ",
            "team_id": "T0TEST",
            "user_id": "U0ASKER",
            "channel_id": "C0GENERAL",
            "response_url": slack_api.url + "/hooks/T0TEST/1/help",
        },
    )

    assert response.status_code == 200
    assert response.json()["text"] == HELP


def click(client: TestClient, action_id: str, value: str, user: str = "U0READER") -> Any:
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEST"},
        "user": {"id": user},
        "api_app_id": "A0QA",
        "container": {
            "type": "message",
            "channel_id": "C0GENERAL",
            "message_ts": "1700000000.000001",
            "thread_ts": "1700000100.000001",
        },
        "channel": {"id": "C0GENERAL"},
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "qa_feedback",
                "value": value,
                # As Slack sends it: when the button was clicked.
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return post_form(client, {"payload": json.dumps(payload)})


def test_feedback_buttons_record_the_vote_and_count_it(
    slack_client: TestClient, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    post_event(slack_client, mention_event(f"<@{BOT_USER}> {MILL}"))
    (update,) = final_text(slack_api)
    (actions,) = [b for b in update["blocks"] if b["type"] == "actions"]
    helpful, not_helpful = actions["elements"]
    answer_id = helpful["value"]

    assert click(slack_client, helpful["action_id"], answer_id).status_code == 200
    (thanks,) = slack_api.wait_for("chat.postEphemeral")
    assert (
        click(slack_client, not_helpful["action_id"], answer_id, user="U0OTHER").status_code == 200
    )
    slack_api.wait_for("chat.postEphemeral", 2)

    assert thanks.params["user"] == "U0READER"
    assert thanks.params["channel"] == "C0GENERAL"
    assert "helpful" in thanks.params["text"]
    with sqlite3.connect(tmp_path / "slack.sqlite3") as db:
        stored = db.execute(
            "SELECT question, answer, answered, citations FROM answers WHERE id = ?", (answer_id,)
        ).fetchone()
        votes = db.execute(
            "SELECT user, helpful FROM feedback WHERE answer_id = ? ORDER BY user", (answer_id,)
        ).fetchall()
    assert stored[0] == MILL
    assert BUILDER in stored[1] and stored[2] == 1
    assert json.loads(stored[3])[0]["source"] == "mill.md"
    assert votes == [("U0OTHER", 0), ("U0READER", 1)]
    metrics = slack_client.get("/metrics").text
    assert 'qa_slack_feedback_total{vote="helpful"} 1.0' in metrics
    assert 'qa_slack_feedback_total{vote="not_helpful"} 1.0' in metrics


def test_a_second_click_changes_the_vote_and_an_unknown_answer_is_ignored(
    slack_client: TestClient, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    post_event(slack_client, mention_event(f"<@{BOT_USER}> {MILL}"))
    (update,) = final_text(slack_api)
    answer_id = update["blocks"][-1]["elements"][0]["value"]

    click(slack_client, "qa_feedback_helpful", answer_id)
    click(slack_client, "qa_feedback_not_helpful", answer_id)
    slack_api.wait_for("chat.postEphemeral", 2)
    click(slack_client, "qa_feedback_helpful", "no-such-answer")
    answer_after(slack_client, slack_api)

    with sqlite3.connect(tmp_path / "slack.sqlite3") as db:
        votes = db.execute("SELECT answer_id, user, helpful FROM feedback").fetchall()
    assert votes == [(answer_id, "U0READER", 0)]
    assert len(slack_api.made("chat.postEphemeral")) == 2


def test_malformed_bodies_get_a_clear_4xx(slack_client: TestClient) -> None:
    raw = "{not json"
    signed = slack_client.post("/slack/events", content=raw, headers=signed_headers(raw))
    forged = slack_client.post(
        "/slack/events", content=raw, headers=signed_headers(raw, secret="wrong")
    )
    not_utf8 = slack_client.post(
        "/slack/events", content=b"\xff\xfe", headers={"content-type": "application/json"}
    )

    assert signed.status_code == 400
    assert signed.json()["error"]["code"] == "malformed_body"
    assert forged.status_code == 401
    assert not_utf8.status_code == 400


def test_the_events_endpoint_is_off_unless_slack_is_configured(client: TestClient) -> None:
    raw = json.dumps(mention_event("hi"))
    assert client.post("/slack/events", content=raw, headers=signed_headers(raw)).status_code == 404


def test_slack_requests_need_no_api_key_but_their_signature(
    client_with: Any, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    from tests.support.slack_standin import slack_settings_overrides

    client = client_with(api_key="k" * 32, **slack_settings_overrides(slack_api, tmp_path))
    body = {"type": "url_verification", "challenge": "abc", "token": "t"}
    raw = json.dumps(body)

    assert client.post("/slack/events", content=raw, headers=signed_headers(raw)).json() == {
        "challenge": "abc"
    }
    assert client.post("/ask", json={"question": "Who directs Challenge?"}).status_code == 401


def test_citations_link_to_the_web_page_view_of_their_lines_when_a_public_url_is_set(
    mill_client: Any, slack_api: SlackStandIn, tmp_path: Path
) -> None:
    from tests.support.slack_standin import slack_settings_overrides

    client = mill_client(
        public_url="https://qa.example.com", **slack_settings_overrides(slack_api, tmp_path)
    )
    post_event(client, mention_event(f"<@{BOT_USER}> {MILL}"))
    (update,) = final_text(slack_api)

    link = re.search(
        r"<https://qa\.example\.com/files/([^#|>]+)#L(\d+)(?:-L(\d+))?\|",
        json.dumps(update["blocks"]),
    )
    assert link, update["blocks"]
    source, start, end = link.group(1), link.group(2), link.group(3) or link.group(2)
    page = client.get(f"/files/{source}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    cited = client.get(f"/sources/{source}?start={start}&end={end}")
    assert cited.status_code == 200 and cited.json()["lines"]


def test_the_signing_secret_in_the_tests_is_the_configured_one() -> None:
    # Guards the helpers above: a signature from another secret must not verify.
    from slack_sdk.signature import SignatureVerifier

    raw = "{}"
    headers = signed_headers(raw)
    assert SignatureVerifier(SLACK_SIGNING_SECRET).is_valid_request(raw, headers)
    assert not SignatureVerifier("other").is_valid_request(raw, headers)


def test_an_answer_whose_looking_reply_is_gone_is_posted_anew(
    slack_client: TestClient, slack_api: SlackStandIn
) -> None:
    slack_api.fail["chat.update"] = "message_not_found"
    body = mention_event(f"<@{BOT_USER}> {MILL}")

    post_event(slack_client, body)

    looking, answer = slack_api.wait_for("chat.postMessage", 2)
    assert looking.params["text"] == LOOKING
    assert answer.params["thread_ts"] == body["event"]["ts"]
    assert BUILDER in answer.params["text"]


def test_qa_serve_refuses_an_unusable_slack_database_at_start(tmp_path: Path) -> None:
    import socket

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    env = qa_environment(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SLACK_SIGNING_SECRET,
        QA_SLACK_DB=str(blocker / "slack.sqlite3"),
        QA_PORT=port,
    )

    result = run_qa("serve", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert "Slack bot's database" in result.stderr and "QA_SLACK_DB" in result.stderr
    assert "Traceback" not in result.stderr
