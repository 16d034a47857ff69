"""The slack-bolt app: who it answers, where, and how it stays at one answer per question.

Example::

    bot = SlackBot(settings, engine=lambda: Engine.open(settings))
    response = bot.dispatch(BoltRequest(body=raw_body, headers=headers))  # Events API
    SocketModeHandler(bot.app, app_token).start()                           # or Socket Mode

Events are acknowledged at once (slack-bolt runs listeners on its own threads after the 200),
so Slack's 3-second limit holds however long an answer takes. A "looking..." reply goes into
the thread first and is then replaced by the answer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit
from urllib.request import proxy_bypass

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.context.ack import Ack
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from qa.engine import Engine
from qa.errors import ConfigError, QAError
from service.errors import ApiError
from service.metrics import ServiceMetrics
from service.settings import ServiceSettings
from service.slack.database import SlackDatabase
from service.slack.feedback import FeedbackStore
from service.slack.ledger import EventLedger
from service.slack.mentions import question_from_message
from service.slack.messages import (
    FEEDBACK_HELPFUL,
    FEEDBACK_NOT_HELPFUL,
    LOOKING,
    SlackMessage,
    answer_message,
    error_message,
    help_message,
    thanks_message,
    unexpected_error_message,
)

logger = logging.getLogger("service.slack")

EngineProvider = Callable[[], Engine]


def web_client(settings: ServiceSettings) -> WebClient:
    """A Web API client for SLACK_API_URL that waits out Slack's rate limits (429)."""
    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_base_url,
        timeout=10,
    )
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    host = urlsplit(settings.slack_api_base_url).hostname or ""
    # slack_sdk takes HTTPS_PROXY from the environment but ignores NO_PROXY: honour it here.
    if client.proxy and proxy_bypass(host):
        client.proxy = None
    return client


class SlackBot:
    """Answers app mentions and direct messages in their thread, and `/ask` ephemerally."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: EngineProvider,
        metrics: ServiceMetrics | None = None,
        *,
        socket_mode: bool = False,
    ) -> None:
        if not settings.slack_bot_token.get_secret_value():
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set.",
                "Set it to the app's Bot User OAuth Token (xoxb-...); see docs/slack.md.",
            )
        secret = settings.slack_signing_secret.get_secret_value()
        if not socket_mode and not secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set.",
                "Set it to the app's Signing Secret (Basic Information); see docs/slack.md.",
            )
        self.settings = settings
        self.engine = engine
        self.metrics = metrics
        database = SlackDatabase(settings.slack_db)
        self.ledger = EventLedger(database)
        self.feedback = FeedbackStore(database)
        self.client = web_client(settings)
        self.app = App(
            name="qa",
            client=self.client,  # carries the bot token
            signing_secret=secret or None,
            # Socket Mode messages come over the app's own authenticated connection, unsigned.
            request_verification_enabled=not socket_mode,
            # No call to Slack at start-up: `qa serve` starts (and its tests run) offline. The
            # bot's identity is fetched with auth.test on the first event instead.
            token_verification_enabled=False,
            logger=_bolt_logger(),
        )
        self._verifier = SignatureVerifier(secret) if secret else None
        self._register()

    def dispatch(self, request: BoltRequest) -> BoltResponse:
        """Handles one Events API request (signature checked first); returns Slack's reply."""
        return self.app.dispatch(request)

    def verifies(self, body: str, headers: Mapping[str, str | Sequence[str]]) -> bool:
        """Whether ``body`` carries a valid, fresh Slack signature (for requests slack-bolt
        cannot parse, so that a forger learns nothing more than from any other 401)."""
        first = {
            name.lower(): value if isinstance(value, str) else (value[0] if value else "")
            for name, value in headers.items()
        }
        return self._verifier is not None and self._verifier.is_valid_request(body, first)

    # -- wiring ---------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.use(self._once_per_event)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.command("/ask")(self._on_command)
        app.action(FEEDBACK_HELPFUL)(self._on_feedback)
        app.action(FEEDBACK_NOT_HELPFUL)(self._on_feedback)
        app.error(self._on_error)

    def _once_per_event(
        self, body: dict[str, Any], next: Callable[[], None]
    ) -> BoltResponse | None:
        # Runs after the signature check. A retry (X-Slack-Retry-Num) or a repeated event_id
        # is acknowledged with a 200 so Slack stops retrying, and goes no further.
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            if not self.ledger.claim(event_id):
                logger.info("duplicate Slack event ignored", extra={"event_id": event_id})
                self._count_event("duplicate")
                return BoltResponse(status=200, body="")
            self._count_event("new")
        next()
        return None

    # -- listeners ------------------------------------------------------------------------

    def _on_mention(self, event: dict[str, Any], client: WebClient) -> None:
        # A mention inside a direct message also arrives as message.im, answered there: one
        # question, one answer.
        if _from_a_bot(event) or str(event.get("channel", "")).startswith("D"):
            return
        self._reply_in_thread(client, event, surface="mention")

    def _on_message(self, event: dict[str, Any], client: WebClient) -> None:
        # Channel messages reach the bot as app_mention; here only direct messages count.
        # Edits, deletions, joins and the like carry a subtype and are not questions.
        if event.get("channel_type") != "im" or event.get("subtype") or _from_a_bot(event):
            return
        self._reply_in_thread(client, event, surface="dm")

    def _on_command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        question = question_from_message(str(command.get("text", "")))
        if not question:
            ack(response_type="ephemeral", text=help_message().text)
            self._count_reply("command", "help")
            return
        ack(response_type="ephemeral", text=LOOKING)
        message = self._compose(
            question,
            surface="command",
            channel=str(command.get("channel_id", "")),
            user=str(command.get("user_id", "")),
        )
        respond(text=message.text, blocks=message.blocks, response_type="ephemeral")

    def _on_feedback(
        self, ack: Ack, action: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        ack()
        helpful = action.get("action_id") == FEEDBACK_HELPFUL
        user = str(body.get("user", {}).get("id", ""))
        recorded = self.feedback.record_vote(
            str(action.get("value", "")), user, helpful, _clicked_at(action)
        )
        if not recorded:
            logger.warning("feedback for an unknown answer ignored")
            return
        if self.metrics is not None:
            self.metrics.observe_slack_feedback(helpful)
        container = body.get("container", {})
        channel = container.get("channel_id") or body.get("channel", {}).get("id")
        if channel and user:
            client.chat_postEphemeral(
                channel=channel,
                user=user,
                text=thanks_message(helpful),
                thread_ts=container.get("thread_ts"),
            )

    def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        logger.error(
            "Slack listener failed: %s",
            type(error).__name__,
            exc_info=error,
            extra={"event_id": body.get("event_id")},
        )

    # -- answering ------------------------------------------------------------------------

    def _reply_in_thread(self, client: WebClient, event: dict[str, Any], surface: str) -> None:
        channel = str(event["channel"])
        thread_ts = str(event.get("thread_ts") or event["ts"])
        question = question_from_message(str(event.get("text", "")))
        looking = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=LOOKING)
        message = self._compose(
            question, surface=surface, channel=channel, user=str(event.get("user", ""))
        )
        try:
            client.chat_update(
                channel=str(looking.get("channel") or channel),
                ts=str(looking["ts"]),
                text=message.text,
                blocks=message.blocks,
            )
        except SlackApiError as exc:
            # The "looking..." reply was deleted meanwhile, say: post the answer instead.
            logger.warning("chat.update failed (%s); posting the answer", exc.response.get("error"))
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks
            )

    def _compose(self, question: str, *, surface: str, channel: str, user: str) -> SlackMessage:
        """The reply to ``question``: an answer, a refusal, help, or an error people can act on."""
        if not question:
            self._count_reply(surface, "help")
            return help_message()
        try:
            answer = self.engine().ask(question)
        except (QAError, ApiError) as exc:
            self._count_reply(surface, "error")
            return error_message(exc.message, exc.hint)
        except Exception:
            reference = uuid.uuid4().hex[:12]
            logger.exception("answering a Slack question failed", extra={"reference": reference})
            self._count_reply(surface, "error")
            return unexpected_error_message(reference)
        if self.metrics is not None:
            self.metrics.observe_answer(answer)
        self._count_reply(surface, "answered" if answer.answered else "refused")
        feedback_id = self.feedback.record_answer(answer, channel=channel, user=user)
        return answer_message(answer, feedback_id, self.settings.public_url)

    def _count_reply(self, surface: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.slack_replies.labels(surface, outcome).inc()

    def _count_event(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.slack_events.labels(outcome).inc()


class _DropTokenNotice(logging.Filter):
    # slack-bolt also reads SLACK_BOT_TOKEN from the environment and then warns, at every start,
    # that the client's token wins. It is the same token: say nothing.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    bolt = logging.getLogger("service.slack.bolt")
    if not any(isinstance(f, _DropTokenNotice) for f in bolt.filters):
        bolt.addFilter(_DropTokenNotice())
    return bolt


def _from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message"


def _clicked_at(action: dict[str, Any]) -> float | None:
    """When the button was clicked: Slack's ``action_ts`` ("1548426417.840180"), if any."""
    try:
        return float(action["action_ts"])
    except (KeyError, TypeError, ValueError):
        return None
