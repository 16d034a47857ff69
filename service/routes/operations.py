"""Operations: /healthz (alive), /readyz (index loaded), /metrics (Prometheus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from qa.errors import QAError
from service.deps import Authorized, EngineSlot, MetricsDep, get_slot
from service.errors import ApiError
from service.metrics import CONTENT_TYPE_LATEST
from service.schemas import ErrorResponse, Health, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    """Always 200 while the process serves requests; it does not touch the index."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="The index is loaded and can answer",
    responses={503: {"model": Readiness, "description": "Not ready; `reason` says why."}},
)
async def readyz(slot: Annotated[EngineSlot, Depends(get_slot)], metrics: MetricsDep) -> Response:
    """200 with the index's size when questions can be answered, else 503 with the reason.
    Picks up an index that `qa ingest` changed since the service started."""

    def check() -> Readiness:
        engine = slot.get()
        engine.refresh()
        status = engine.status()
        metrics.observe_index(status)
        if not status.ready:
            return Readiness(
                ready=False,
                sources=status.sources,
                chunks=status.chunks,
                embedding_model=status.embedding_model,
                reason="The index is empty.",
                hint="Run `qa ingest` (the service picks the new index up by itself).",
            )
        return Readiness(
            ready=True,
            sources=status.sources,
            chunks=status.chunks,
            embedding_model=status.embedding_model,
        )

    try:
        readiness = await run_in_threadpool(check)
    except (QAError, ApiError) as exc:
        readiness = Readiness(
            ready=False,
            sources=0,
            chunks=0,
            embedding_model="",
            reason=exc.message,
            hint=exc.hint,
        )
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[Authorized],
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Text format 0.0.4."},
        401: {"model": ErrorResponse, "description": "QA_API_KEY is set and the key is missing."},
    },
)
async def metrics_endpoint(metrics: MetricsDep) -> Response:
    """Requests by route and status, latency histograms, answered vs refused, index size."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
