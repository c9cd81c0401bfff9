"""``/api/v1/robots/{id}/recording``: record demonstrations on a robot (the dashboard's Ctrl+R).

A start makes the robot's agent keep what it does (joint state, object poses, the targets it
sends, its cameras where it can render them) until a stop; the stopped recording is written in the
background as a LeRobot dataset and appears under ``GET /api/v1/datasets``. Whether a robot
records now is in its state (``recording``: the REC badge), on the telemetry stream and here.
An invoke with ``"record": true`` records just that execution.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Recording
from dynamical.agent.reports import RecordingStatus
from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId
from dynamical.api.errors import ConflictError
from dynamical.api.routers.operations import CommandOut, _broadcast, _hub, _targets

router = APIRouter(prefix="/api/v1/robots", tags=["recording"])
RESPONSES = {404: {"description": "no such robot"}, 409: {"description": "not connected, or refused by the robot"}}


class RecordingStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str = Field(
        "teleoperated demonstration", min_length=1, max_length=1000, description="the task text stored with each frame"
    )


class RecordingOut(BaseModel):
    robot_id: str
    recording: RecordingStatus | None = Field(description="None: the robot's agent has no recorder")


async def _command(request: Request, db: Db, robot_id: str, make) -> CommandOut:  # type: ignore[no-untyped-def]
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    answer = (await _broadcast(_hub(request), [target], make)).robots[0]
    if not answer.ok:
        raise ConflictError(f"robot {robot_id!r}: {answer.detail}")
    return answer


@router.post("/{robot_id}/recording/start", response_model=CommandOut, responses=RESPONSES)
async def start_recording(
    robot_id: ResourceId, _: Operator, request: Request, db: Db, body: RecordingStart | None = None
) -> CommandOut:
    """Start recording on the robot (409 if it already records)."""
    task = (body or RecordingStart()).task
    return await _command(request, db, robot_id, lambda c: Recording(command_id=c, action="start", task=task))


@router.post("/{robot_id}/recording/stop", response_model=CommandOut, responses=RESPONSES)
async def stop_recording(robot_id: ResourceId, _: Operator, request: Request, db: Db) -> CommandOut:
    """Stop recording; the dataset is written in the background (409 if it was not recording)."""
    return await _command(request, db, robot_id, lambda c: Recording(command_id=c, action="stop"))


@router.get("/{robot_id}/recording", response_model=RecordingOut, responses=RESPONSES)
async def recording_status(robot_id: ResourceId, _: Reader, request: Request, db: Db) -> RecordingOut:
    """Whether the robot records now, as its latest state says."""
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    connection = _hub(request).connections.get(target)
    state = connection.state if connection is not None else None
    return RecordingOut(robot_id=target, recording=state.recording if state is not None else None)
