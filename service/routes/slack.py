"""POST /slack/events: Slack's Events API, slash commands and button clicks, for the bot.

Mounted only when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set. Slack signs each request
instead of sending our API key, so this route does not ask for QA_API_KEY; slack-bolt checks
the signature and the timestamp (5 minutes) before anything else runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from slack_bolt import BoltRequest
from starlette.concurrency import run_in_threadpool

from service.errors import ApiError
from service.slack.bot import SlackBot

router = APIRouter(tags=["slack"])


@router.post("/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    bot: SlackBot = request.app.state.slack_bot
    raw = await request.body()
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            400, "malformed_body", "The body is not UTF-8.", "Send Slack's request as it is."
        ) from None
    headers: dict[str, str | Sequence[str]] = {
        name: request.headers.getlist(name) for name in request.headers
    }
    try:
        bolt_request = BoltRequest(body=body, query=request.url.query, headers=headers)
    except ValueError:  # JSON that does not parse
        if not bot.verifies(body, headers):
            raise _bad_signature() from None
        raise ApiError(
            400, "malformed_body", "The body is not valid JSON.", "Send Slack's request as it is."
        ) from None
    # dispatch is synchronous (the signature check, then the ack; the answer runs later on
    # slack-bolt's own threads): keep it off the event loop.
    bolt_response = await run_in_threadpool(bot.dispatch, bolt_request)
    if bolt_response.status == 401:
        raise _bad_signature()
    headers_out = {
        name: values[0]
        for name, values in bolt_response.headers.items()
        if values and name.lower() not in {"content-length", "set-cookie"}
    }
    return Response(
        content=bolt_response.body, status_code=bolt_response.status, headers=headers_out
    )


def _bad_signature() -> ApiError:
    return ApiError(
        401,
        "invalid_slack_signature",
        "The request's Slack signature is missing, wrong or too old.",
        "Requests must come from Slack, signed with the app's SLACK_SIGNING_SECRET within "
        "the last 5 minutes; check the secret and the server's clock.",
    )
