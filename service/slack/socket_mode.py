"""`qa slack`: the bot over Socket Mode, for a workspace that cannot reach this machine.

Socket Mode needs no public URL: the process opens a WebSocket to Slack (with the app-level
token, SLACK_APP_TOKEN) and receives events over it. The tokens are checked before connecting,
so a wrong one fails at once with what to fix rather than in a reconnect loop.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from qa.errors import ConfigError, QAError
from service.deps import EngineSlot
from service.settings import ServiceSettings
from service.slack.bot import SlackBot

logger = logging.getLogger("service.slack")


class SlackUnavailableError(QAError):
    code = "slack_unavailable"


def run_socket_mode(
    settings: ServiceSettings,
    on_connected: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Answers over Socket Mode until ``stop`` is set, SIGTERM or Ctrl-C."""
    app_token = settings.slack_app_token.get_secret_value()
    if not app_token:
        raise ConfigError(
            "SLACK_APP_TOKEN is not set.",
            "Create an App-Level Token with the connections:write scope (Basic Information) and "
            "set SLACK_APP_TOKEN=xapp-...; see docs/slack.md.",
        )
    slot = EngineSlot(settings)
    bot = SlackBot(settings, engine=slot.get, socket_mode=True)
    identity = _check_tokens(bot, app_token)
    slot.load()  # a missing index is reported in the replies, and retried, not fatal here
    handler = SocketModeHandler(bot.app, app_token)
    stop = stop or threading.Event()
    previous = signal.getsignal(signal.SIGTERM)
    in_main_thread = threading.current_thread() is threading.main_thread()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if in_main_thread:
        signal.signal(signal.SIGTERM, on_sigterm)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
        on_connected(f"Connected to Slack as @{identity} (Socket Mode). Ctrl-C to stop.")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _check_tokens(bot: SlackBot, app_token: str) -> str:
    """The bot's name, once Slack has accepted both tokens."""
    where = bot.settings.slack_api_base_url
    try:
        identity = bot.client.auth_test()
        bot.client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        raise ConfigError(
            f"Slack refused the tokens ({error}).",
            "Check SLACK_BOT_TOKEN (xoxb-, Bot User OAuth Token) and SLACK_APP_TOKEN (xapp-, "
            "with connections:write), and that the app is installed in the workspace.",
        ) from None
    except (SlackClientError, OSError) as exc:
        raise SlackUnavailableError(
            f"Slack's Web API at {where} cannot be reached ({type(exc).__name__}).",
            "Check the network (and HTTPS_PROXY), or SLACK_API_URL if you set it.",
        ) from None
    return str(identity.get("user") or identity.get("user_id") or "qa")
