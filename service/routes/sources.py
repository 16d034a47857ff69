"""GET /sources and GET /sources/{name}: what is indexed, and the lines a citation points at."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from service.deps import Authorized, EngineDep
from service.schemas import ErrorResponse, SourceInfo, SourceLinesResponse, SourceList

router = APIRouter(tags=["sources"], dependencies=[Authorized])


@router.get(
    "/sources",
    response_model=SourceList,
    summary="The indexed files",
    responses={401: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
)
async def list_sources(engine: EngineDep) -> SourceList:
    records = await run_in_threadpool(engine.sources)
    return SourceList(
        sources=[
            SourceInfo(
                source=r.path, sha256=r.sha256, line_count=r.line_count, chunk_count=r.chunk_count
            )
            for r in records
            if r.complete
        ]
    )


@router.get(
    "/sources/{name:path}",
    response_model=SourceLinesResponse,
    summary="Lines of an indexed file (a citation's link)",
    responses={
        401: {"model": ErrorResponse},
        404: {"model": ErrorResponse, "description": "No such file in the index."},
        409: {"model": ErrorResponse, "description": "The file changed since it was indexed."},
        422: {"model": ErrorResponse, "description": "start or end outside the file."},
        503: {"model": ErrorResponse},
    },
)
async def source_lines(
    engine: EngineDep,
    name: Annotated[str, Path(description="The `source` of a citation.", examples=["bridge.md"])],
    start: Annotated[int | None, Query(ge=1, description="First line (1-based).")] = None,
    end: Annotated[int | None, Query(ge=1, description="Last line (inclusive).")] = None,
) -> SourceLinesResponse:
    """`/sources/bridge.md?start=3&end=3` returns the line cited as bridge.md:3. Only indexed
    files can be read."""
    lines = await run_in_threadpool(engine.source_lines, name, start, end)
    return SourceLinesResponse(
        source=lines.source,
        sha256=lines.sha256,
        line_count=lines.line_count,
        start_line=lines.start_line,
        end_line=lines.end_line,
        lines=list(lines.lines),
    )
