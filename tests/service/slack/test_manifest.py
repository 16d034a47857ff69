"""The app manifest in docs/ asks Slack for exactly what the bot handles and needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).resolve().parents[3] / "docs" / "slack-app-manifest.yaml"


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_events_commands_and_buttons_go_to_the_bots_route() -> None:
    settings = manifest()["settings"]
    (command,) = manifest()["features"]["slash_commands"]

    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert command["command"] == "/ask"
    assert command["url"].endswith("/slack/events")


def test_it_subscribes_to_what_the_bot_answers_with_the_scopes_those_need() -> None:
    events = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])

    assert events == {"app_mention", "message.im"}
    # app_mention needs app_mentions:read, message.im im:history, /ask commands, replies chat:write.
    assert scopes == {"app_mentions:read", "im:history", "commands", "chat:write"}
    assert manifest()["features"]["app_home"]["messages_tab_enabled"] is True
