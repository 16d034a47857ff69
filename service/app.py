"""The HTTP service: ``create_app()`` builds the FastAPI app that ``qa serve`` runs.

Example::

    $ qa serve --port 8000
    $ curl -s localhost:8000/ask -H 'content-type: application/json' \\
          -d '{"question": "Who designed the bridge?"}'
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from qa.config import configure_offline_environment
from qa.engine import Engine
from service.deps import Authorized, EngineSlot
from service.errors import install_error_handlers
from service.metrics import ServiceMetrics
from service.middleware import (
    BodyLimitMiddleware,
    PageHeadersMiddleware,
    RequestContextMiddleware,
)
from service.routes import ask, openai_api, operations, slack, sources, web
from service.settings import ServiceSettings, get_settings
from service.web import STATIC_DIR

logger = logging.getLogger("service.app")

DESCRIPTION = """
Answers questions from a folder of documents. Every answer quotes the lines it rests on, with
file and line, or says plainly that the sources don't say (`answered: false`).

Errors are JSON: `{"error": {"code", "message", "hint", "field", "request_id"}}`. Every response
carries an `X-Request-ID` header (send your own to follow a request through your logs).
When `QA_API_KEY` is set, every route but `/healthz` and `/readyz` needs
`Authorization: Bearer <key>`.
"""


def create_app(settings: ServiceSettings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app. With no ``engine`` it opens the configured index at start-up (lifespan)."""
    configure_offline_environment()
    settings = settings or get_settings()
    slot = EngineSlot(settings, engine)
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if slot.engine is None:
            await run_in_threadpool(slot.load)
        if slot.engine is not None:
            status = slot.engine.status()
            metrics.observe_index(status)
            logger.info(
                "engine loaded",
                extra={
                    "sources": status.sources,
                    "chunks": status.chunks,
                    "embedding_model": status.embedding_model,
                },
            )
            if not status.ready:
                logger.warning(
                    "the index is empty: run `qa ingest`; /readyz answers 503 until then"
                )
        yield

    app = FastAPI(
        title="qa",
        summary="Questions answered from your documents, cited to file and line.",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.engine_slot = slot
    app.state.metrics = metrics

    install_error_handlers(app)
    app.include_router(ask.router)
    app.include_router(sources.router)
    app.include_router(operations.router)
    app.include_router(openai_api.router)
    app.include_router(web.feedback)
    app.include_router(web.pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.slack_events_enabled:
        _add_slack(app, settings, slot, metrics)
    else:
        logger.info(
            "Slack events endpoint off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to mount "
            "/slack/events"
        )
    _add_docs(app)

    origins = settings.cors_origin_list
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(PageHeadersMiddleware, headers=web.PAGE_HEADERS, prefixes=("/static/",))
    # Outermost: every response, CORS and errors included, gets a request id and a log line.
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


def _add_slack(
    app: FastAPI, settings: ServiceSettings, slot: EngineSlot, metrics: ServiceMetrics
) -> None:
    """The Slack bot over the Events API, answering from the same engine as /ask."""
    from service.slack.bot import SlackBot

    app.state.slack_bot = SlackBot(settings, engine=slot.get, metrics=metrics)
    app.include_router(slack.router)
    logger.info("Slack bot on: Slack's requests are answered at POST /slack/events")


def _add_docs(app: FastAPI) -> None:
    """/docs and /openapi.json, behind the API key like every route but the health checks.

    Swagger UI's scripts are served from the swagger-ui-py package, not a CDN, so the page
    works offline like the rest of the service.
    """
    import swagger_ui

    assets = Path(swagger_ui.__file__).parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    schema = app.openapi()
    if not app.state.settings.api_key.get_secret_value():
        # Without a key no route asks for credentials: the published schema must not either.
        schema = _without_security(schema)

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Authorized])
    async def openapi() -> JSONResponse:
        return JSONResponse(schema)

    @app.get("/docs", include_in_schema=False, dependencies=[Authorized])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="qa API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    _ = (openapi, docs)


def _without_security(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            operation.pop("security", None)
            operation.get("responses", {}).pop("401", None)
    schema.get("components", {}).pop("securitySchemes", None)
    return schema
