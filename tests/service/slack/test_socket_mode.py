"""`qa slack`: the bot over Socket Mode, as a real process, against stand-ins for Slack's Web
API and its Socket Mode WebSocket on 127.0.0.1."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.engine import Engine
from tests.support.processes import qa_environment, run_qa
from tests.support.slack_standin import (
    BOT_USER,
    SLACK_APP_TOKEN,
    SLACK_BOT_TOKEN,
    SlackStandIn,
    SocketModeStandIn,
    app_mention,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def socket_end(slack_api: SlackStandIn) -> Iterator[SocketModeStandIn]:
    standin = SocketModeStandIn()
    slack_api.socket_url = standin.url
    yield standin
    standin.close()


def slack_env(slack_api: SlackStandIn, engine: Engine, folder: Path) -> dict[str, str]:
    """``qa slack`` over ``engine``'s index, a threshold of 0 (every question is answered)."""
    return qa_environment(
        QA_INDEX_DIR=str(engine.settings.index_dir),
        QA_CORPUS_DIR=str(engine.settings.corpus_dir),
        QA_ANSWER_MIN_SCORE="0",
        QA_SLACK_DB=str(folder / "slack.sqlite3"),
        SLACK_BOT_TOKEN=SLACK_BOT_TOKEN,
        SLACK_APP_TOKEN=SLACK_APP_TOKEN,
        SLACK_API_URL=slack_api.url + "/api/",
    )


def qa_slack(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "slack"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def mention(event_id: str, text: str) -> dict[str, object]:
    return app_mention(event_id, text, "1700000200.000001")


def test_qa_slack_answers_a_mention_over_socket_mode_once(
    slack_api: SlackStandIn, socket_end: SocketModeStandIn, mill_engine: Engine, tmp_path: Path
) -> None:
    # The tests' own small corpus: mill.md line 3 alone names who built the mill.
    process = qa_slack(slack_env(slack_api, mill_engine, tmp_path), tmp_path)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(1)]
        while "Connected to Slack" not in lines[-1] and lines[-1] and len(lines) < 50:
            lines.append(process.stdout.readline())
        assert "Connected to Slack as @qa (Socket Mode)" in lines[-1], lines
        socket_end.wait_connected()
        # The app token opened the connection; the bot token made the other calls.
        (opened, *_) = slack_api.made("apps.connections.open")
        assert opened.authorization == f"Bearer {SLACK_APP_TOKEN}"

        question = f"<@{BOT_USER}> who built the mill on the hill?"
        socket_end.send_event(mention("EvS1", question), "env-1")
        socket_end.wait_ack("env-1")
        (update,) = slack_api.wait_for("chat.update")
        socket_end.send_event(mention("EvS1", question), "env-2", retry_attempt=1)
        socket_end.wait_ack("env-2")
        socket_end.send_event(mention("EvS2", f"<@{BOT_USER}> when does the ferry leave?"), "env-3")
        slack_api.wait_for("chat.update", 2)

        assert "Jonas Berg" in update.params["text"]
        posted = slack_api.made("chat.postMessage")
        assert [call.params["thread_ts"] for call in posted] == [
            "1700000200.000001",
            "1700000200.000001",
        ]  # one answer each for EvS1 and EvS2; the retry of EvS1 got none
        assert all(call.authorization == f"Bearer {SLACK_BOT_TOKEN}" for call in posted)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_qa_slack_without_an_app_token_says_what_to_set(
    slack_api: SlackStandIn, seed_engine: Engine, tmp_path: Path
) -> None:
    env = slack_env(slack_api, seed_engine, tmp_path)
    del env["SLACK_APP_TOKEN"]

    result = run_qa("slack", env=env, cwd=tmp_path)

    assert result.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in result.stderr
    assert "connections:write" in result.stderr
    assert "Traceback" not in result.stderr


def test_qa_slack_with_refused_tokens_fails_at_once(
    slack_api: SlackStandIn, seed_engine: Engine, tmp_path: Path
) -> None:
    slack_api.refuse_tokens = True

    result = run_qa("slack", env=slack_env(slack_api, seed_engine, tmp_path), cwd=tmp_path)

    assert result.returncode == 2
    assert "Slack refused the tokens (invalid_auth)" in result.stderr
    assert "Traceback" not in result.stderr


def test_qa_slack_when_slack_cannot_be_reached(
    slack_api: SlackStandIn, seed_engine: Engine, tmp_path: Path
) -> None:
    slack_api.close()  # its port: nothing listens there now

    result = run_qa("slack", env=slack_env(slack_api, seed_engine, tmp_path), cwd=tmp_path)

    assert result.returncode == 1
    assert "cannot be reached" in result.stderr
    assert "Traceback" not in result.stderr
