"""Typed dependencies of the routes: the engine, the settings, the API-key and JSON body checks."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from qa.config import Settings
from qa.engine import Engine
from qa.errors import QAError, StoreUnavailableError
from service.errors import ApiError
from service.metrics import ServiceMetrics
from service.settings import ServiceSettings

logger = logging.getLogger("service.engine")


class EngineSlot:
    """The engine, loaded once at start-up; or the reason it could not be, retried now and then.

    The service starts even when the index cannot be opened (corrupt, built with another
    model, a Chroma server that is down): /healthz says the process lives, /readyz and /ask
    say what is wrong and what to do.
    """

    #: Wait between tries after an error that only a person can fix (a corrupt index, another
    #: embedding model): opening the index again sooner would fail the same way.
    RETRY_AFTER_S = 10.0

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        opener: Callable[[Settings], Engine] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.error: QAError | None = None
        self._open = opener or Engine.open
        self._lock = threading.Lock()
        self._last_try = 0.0
        self._tries = 0

    def load(self) -> None:
        with self._lock:
            self._load()

    def _load(self) -> None:
        self._last_try = time.monotonic()
        try:
            self.engine = self._open(self.settings)
            self.error = None
        except QAError as exc:
            self.error = exc
            logger.error("engine not loaded: %s %s", exc.message, exc.hint)
        finally:
            self._tries += 1  # counted once done: a request arriving meanwhile waits for it

    def _retry_due(self) -> bool:
        # An unreachable Chroma server is tried again on every request, as a loaded engine
        # does: a refused connection costs a millisecond, and a worker must not answer 503
        # for seconds after the server is back (its sibling workers already answer).
        if isinstance(self.error, StoreUnavailableError):
            return True
        return time.monotonic() - self._last_try > self.RETRY_AFTER_S

    def get(self) -> Engine:
        if self.engine is None and self._retry_due():
            tries = self._tries
            with self._lock:
                # Requests that queued behind a try take its outcome instead of each trying.
                if self.engine is None and self._tries == tries:
                    self._load()
        if self.engine is None:
            raise self.error or ApiError(
                503, "not_ready", "The service is still starting.", "Retry in a few seconds."
            )
        return self.engine


# Dependencies are async (they do not block) so that FastAPI does not send each one through the
# thread pool.
async def get_slot(request: Request) -> EngineSlot:
    slot: EngineSlot = request.app.state.engine_slot
    return slot


async def get_engine(slot: Annotated[EngineSlot, Depends(get_slot)]) -> Engine:
    if slot.engine is not None:
        return slot.engine
    return await run_in_threadpool(slot.get)  # may retry opening the index


async def get_settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


_bearer = HTTPBearer(
    auto_error=False,
    description="Needed on every route but /healthz and /readyz when QA_API_KEY is set.",
)


async def require_api_key(
    settings: Annotated[ServiceSettings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = settings.api_key.get_secret_value()
    if not expected:
        return
    given = credentials.credentials if credentials else ""
    # Constant time, so the key cannot be guessed byte by byte from response times.
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8")):
        raise ApiError(
            401,
            "unauthorized",
            "A valid API key is needed." if given else "This service needs an API key.",
            "Send the header 'Authorization: Bearer <key>' with the key in QA_API_KEY.",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_json(request: Request) -> None:
    """Only JSON bodies: a form-encoded body (curl -d without a content type) is refused with
    the header to add, instead of a confusing "field required"."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"The body must be JSON, not '{media or 'no content type'}'.",
            "Send the header 'Content-Type: application/json' (curl: -H 'content-type: "
            "application/json').",
            field="body",
        )


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
Authorized = Depends(require_api_key)
RequireJson = Depends(require_json)
