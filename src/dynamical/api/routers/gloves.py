"""``/api/devices/glove/{id}``: DYGlove data gloves registered as peripherals (kind ``glove``,
config ``{"side": "left"|"right", "address": "host:port"}``: where this server listens for the
glove's UDP datagrams).

Calibration walks the user through open hand, fist and pinch (``…/calibration/start``, then poll
``…/calibration/status`` for the pose to hold); it is stored per user. Bound to a robot whose
teleop session this key holds (``POST …/teleop``), every glove sample becomes a teleop input:
the robot hand's joints by retargeting and, with a wrist tracker, the palm's target.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import numpy as np
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Teleop
from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.models import Peripheral, Robot
from dynamical.api.routers.teleop import _check_holder, _hub
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.teleop.glove_calibration import CalibrationStatus
from dynamical.teleop.glove_service import GloveService, GloveStatus, GloveUnavailableError
from dynamical.teleop.inputs import TeleopInput

router = APIRouter(prefix="/api/devices/glove", tags=["gloves"])
RESPONSES = {
    404: {"description": "no such glove (a peripheral of kind glove)"},
    409: {"description": "not usable now (its address, no calibration, not the teleop session's holder)"},
}


class CalibrationStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="whose hand: stored per user")
    settle_s: float = Field(1.5, ge=0.0, le=10.0, description="s to get into each pose before it is captured")
    capture_s: float = Field(1.0, gt=0.0, le=10.0, description="s each pose is captured (the median counts)")


class GloveTeleopBind(BaseModel):
    model_config = ConfigDict(extra="forbid")
    robot_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    user: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="whose calibration to use")
    arm: bool = Field(True, description="with a wrist tracker, the glove's wrist motion moves the robot's palm")


def _service(request: Request) -> GloveService:
    service = getattr(request.app.state, "gloves", None)
    if service is None:
        service = request.app.state.gloves = GloveService(request.app.state.settings.data_dir / "gloves")
    return service


def _open(request: Request, db: Db, glove_id: str) -> GloveService:
    with db.session() as session:
        row = session.get(Peripheral, glove_id)
        if row is None or row.kind != "glove":
            raise NotFoundError(f"no glove {glove_id!r} (register it as a peripheral of kind glove)")
        side: Literal["left", "right"] = "left" if row.config.get("side") == "left" else "right"
        address = str(row.config.get("address", ""))
    service = _service(request)
    try:
        service.open(glove_id, side, address)
    except GloveUnavailableError as exc:
        raise ConflictError(str(exc)) from None
    return service


@router.get("/{glove_id}", response_model=GloveStatus, responses=RESPONSES)
async def glove_status(glove_id: ResourceId, _: Reader, request: Request, db: Db) -> GloveStatus:
    """Connected, packets and their loss, battery, calibrations, what it drives."""
    service = await run_in_threadpool(_open, request, db, glove_id)
    return service.status(glove_id)


@router.post("/{glove_id}/calibration/start", response_model=CalibrationStatus, responses=RESPONSES)
async def start_calibration(
    glove_id: ResourceId, body: CalibrationStart, _: Operator, request: Request, db: Db
) -> CalibrationStatus:
    """Start calibrating ``user``'s hand: hold open, fist, pinch in turn as the status says."""
    service = await run_in_threadpool(_open, request, db, glove_id)
    return service.start_calibration(glove_id, body.user, body.settle_s, body.capture_s)


@router.get("/{glove_id}/calibration/status", response_model=CalibrationStatus, responses=RESPONSES)
async def calibration_status(glove_id: ResourceId, _: Reader, request: Request, db: Db) -> CalibrationStatus:
    """The pose to hold now and the progress; the calibration once done, the reason once failed."""
    service = await run_in_threadpool(_open, request, db, glove_id)
    status = service.calibration_status(glove_id)
    if status is None:
        raise ConflictError(f"glove {glove_id!r} has no calibration running or done since the server started")
    return status


@router.post("/{glove_id}/teleop", response_model=GloveStatus, responses=RESPONSES)
async def bind_glove(
    glove_id: ResourceId, body: GloveTeleopBind, principal: Operator, request: Request, db: Db
) -> GloveStatus:
    """Let the glove drive the robot's teleop session (started by this key)."""
    service = await run_in_threadpool(_open, request, db, glove_id)
    _check_holder(request, body.robot_id, principal, admin_may=False)
    hub = _hub(request)
    with db.session() as session:
        robot = session.get(Robot, body.robot_id)
        profile = robot.profile if robot is not None else None
    if profile is None:
        raise NotFoundError(f"no robot {body.robot_id!r}")
    description = await run_in_threadpool(RobotDescription.load, profile)
    anchor = None
    connection = hub.connections.get(body.robot_id)
    side = service.glove(glove_id).side
    if body.arm and connection is not None and connection.state is not None:
        site = description.end_effectors.get(f"arm_{side}")
        if site is not None:
            pose = Kinematics(build_model(description), description).site_pose(np.array(connection.state.q), site)
            anchor = (pose.pos, pose.rot)
    loop = asyncio.get_running_loop()
    robot_id = body.robot_id

    def send(command: TeleopInput, _received_at: float) -> None:
        # From the receiver's thread onto the server's loop: never waits for the link.
        asyncio.run_coroutine_threadsafe(hub.send(robot_id, Teleop(action="input", input=command)), loop)

    try:
        service.bind(glove_id, body.user, robot_id, description, send, anchor)
    except GloveUnavailableError as exc:
        raise ConflictError(str(exc)) from None
    return service.status(glove_id)


@router.delete("/{glove_id}/teleop", response_model=GloveStatus, responses=RESPONSES)
async def unbind_glove(glove_id: ResourceId, _: Operator, request: Request, db: Db) -> GloveStatus:
    """The glove stops driving the robot (the session's deadman then holds it)."""
    service = await run_in_threadpool(_open, request, db, glove_id)
    service.unbind(glove_id)
    return service.status(glove_id)
