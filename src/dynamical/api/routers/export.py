"""``GET /api/v1/robot/executions/{id}/export?format=rrd|mcap``: the execution on one timeline,
as a file for Rerun or Foxglove (``observability.export``); the dashboard's download button."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from dynamical.api.auth import Reader
from dynamical.api.db import Database
from dynamical.api.deps import Db, Settings
from dynamical.api.execution_evidence import gather_export
from dynamical.observability.export import ExportReport, Format, export_execution

router = APIRouter(tags=["analysis"])
MEDIA = {"rrd": "application/vnd.rerun.rrd", "mcap": "application/x-mcap"}


@router.get(
    "/api/v1/robot/executions/{request_id}/export",
    response_class=FileResponse,
    responses={
        200: {"content": {m: {} for m in MEDIA.values()}, "description": "the file"},
        404: {"description": "no such execution"},
    },
)
async def export(
    request_id: Annotated[str, PathParam(pattern=r"^[0-9a-fA-F-]{1,64}$")],
    _: Reader,
    db: Db,
    settings: Settings,
    background: BackgroundTasks,
    format: Annotated[Format, Query(description="rrd (Rerun) or mcap (Foxglove)")] = "rrd",
) -> FileResponse:
    """Joint states, object poses, safety events, plan steps and phases on the robot's clock."""
    scratch = Path(tempfile.mkdtemp(prefix="dynamical-export-"))
    out = scratch / f"execution-{request_id}.{format}"
    try:
        await run_in_threadpool(_export, db, settings.data_dir, request_id, format, out)
    except BaseException:
        _remove(scratch)
        raise
    background.add_task(_remove, scratch)
    return FileResponse(out, media_type=MEDIA[format], filename=out.name)


def _export(db: Database, data_dir: Path, request_id: str, fmt: Format, out: Path) -> ExportReport:
    return export_execution(gather_export(db, data_dir, request_id), fmt, out)


def _remove(scratch: Path) -> None:
    for child in scratch.iterdir():
        child.unlink(missing_ok=True)
    scratch.rmdir()
