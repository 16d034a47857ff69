"""The web page: GET / (ask), GET /files and GET /files/{source} (the indexed files with line
anchors, where every citation links), and POST /feedback (helpful / not helpful).

The page is one HTML shell with a script and a stylesheet under /static; the script routes by
path and calls the JSON API. The shell and its assets need no key (they hold no data); the API
calls do, and the page asks for the key when it gets a 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from service.deps import Authorized, MetricsDep, RequireJson, SettingsDep
from service.errors import ApiError
from service.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse
from service.slack.database import SlackDatabase
from service.slack.feedback import FeedbackStore
from service.web import STATIC_DIR

#: Scripts, styles and connections from this origin only; no inline script, no frames.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

pages = APIRouter(include_in_schema=False)
feedback = APIRouter(tags=["feedback"], dependencies=[Authorized])

_SHELL = (STATIC_DIR / "index.html").read_text(encoding="utf-8")


@pages.get("/")
@pages.get("/files")
@pages.get("/files/{source:path}")
async def page() -> HTMLResponse:
    return HTMLResponse(_SHELL, headers=PAGE_HEADERS)


def _store(request: Request) -> FeedbackStore:
    """The feedback store, shared with the Slack bot (QA_SLACK_DB), opened on first use."""
    store: FeedbackStore | None = getattr(request.app.state, "feedback_store", None)
    if store is None:
        settings = request.app.state.settings
        store = FeedbackStore(SlackDatabase(settings.slack_db))
        request.app.state.feedback_store = store
    return store


@feedback.post(
    "/feedback",
    response_model=FeedbackResponse,
    summary="Record a helpful / not helpful vote on an answer",
    responses={
        400: {"model": ErrorResponse, "description": "Malformed JSON."},
        401: {"model": ErrorResponse},
        404: {"model": ErrorResponse, "description": "No answer with that `answer_id`."},
        413: {"model": ErrorResponse},
        415: {"model": ErrorResponse, "description": "The body is not JSON."},
        422: {"model": ErrorResponse},
        503: {"model": ErrorResponse, "description": "The feedback file cannot be opened."},
    },
    dependencies=[RequireJson],
)
async def record_feedback(
    request: Request,
    body: Annotated[FeedbackRequest, Body()],
    settings: SettingsDep,
    metrics: MetricsDep,
    store: Annotated[FeedbackStore, Depends(_store)],
) -> FeedbackResponse:
    """The first vote sends the `answer` voted on (it is stored with its question and
    citations, in the same store as the Slack bot's feedback) and gets its `answer_id`; later
    votes send the id. One vote per `session` per answer: the last one counts."""
    voter = f"web:{body.session}"
    answer_id = body.answer_id
    if answer_id is None:
        if body.answer is None:
            raise ApiError(
                422,
                "invalid_request",
                "Send the answer voted on, or the answer_id of an earlier vote.",
                'Add "answer" (the answer as /ask returned it) or "answer_id".',
                field="answer",
            )
        answer_id = await run_in_threadpool(store.record_answer, body.answer, "web", voter)
    recorded = await run_in_threadpool(store.record_vote, answer_id, voter, body.helpful)
    if not recorded:
        raise ApiError(
            404,
            "answer_not_found",
            "No answer has that answer_id.",
            "Send the answer itself to vote on it.",
            field="answer_id",
        )
    metrics.observe_feedback("web", body.helpful)
    return FeedbackResponse(answer_id=answer_id, helpful=body.helpful)
