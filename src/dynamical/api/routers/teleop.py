"""``/api/v1/robots/{id}/teleop``: drive a robot by hand (the dashboard's Ctrl+T, a data glove).

One operator at a time: the API key that started a session is the only one whose inputs and stop
the robot takes (an admin key may stop anyone's session). While a robot is teleoperated it takes
no plans (its agent refuses them), and every teleop command goes through its executive into its
safety kernel like a plan's. Inputs are fire-and-forget (``202``): the newest wins on the robot,
and the deadman holds the robot when they stop coming or say the operator let go.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Teleop
from dynamical.api.agent_link import AgentLinkHub, RobotNotConnectedError
from dynamical.api.auth import Operator, Principal, Reader, Scope
from dynamical.api.deps import Db, ResourceId
from dynamical.api.errors import ConflictError
from dynamical.api.routers.operations import _targets
from dynamical.teleop.inputs import TeleopConfig, TeleopInput
from dynamical.teleop.session import TeleopStatus

router = APIRouter(prefix="/api/v1/robots", tags=["teleop"])
RESPONSES = {
    404: {"description": "no such robot"},
    409: {"description": "not connected, teleoperated by someone else, or refused by the robot"},
}


class TeleopStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: TeleopConfig = Field(default_factory=TeleopConfig)


class TeleopOut(BaseModel):
    robot_id: str
    ok: bool
    detail: str
    operator: str | None = Field(None, description="who holds the robot now (the API key's name or prefix)")
    status: TeleopStatus | None = Field(None, description="the robot's session; None before its first")


class InputAccepted(BaseModel):
    robot_id: str
    seq: int


@dataclass
class _Holder:
    key_id: int
    name: str


def _hub(request: Request) -> AgentLinkHub:
    hub = request.app.state.agent_hub
    if not isinstance(hub, AgentLinkHub):
        raise ConflictError("this server runs no agent link: no robot can be teleoperated")
    return hub


def _holders(request: Request) -> dict[str, _Holder]:
    holders = getattr(request.app.state, "teleop_holders", None)
    if holders is None:
        holders = request.app.state.teleop_holders = {}
    return holders


def _operator_name(principal: Principal) -> str:
    """The key's name as people read it, else its prefix (a name the link's label refuses, too)."""
    name = principal.name.strip()
    try:
        Teleop(action="status", operator=name)
    except ValueError:
        return principal.prefix
    return name or principal.prefix


async def _ask(hub: AgentLinkHub, robot_id: str, action: str, **fields: object) -> TeleopOut:
    try:
        answer = await hub.command(robot_id, lambda c: Teleop(command_id=c, action=action, **fields))
    except RobotNotConnectedError as exc:
        raise ConflictError(str(exc)) from None
    return TeleopOut(robot_id=robot_id, ok=answer.ok, detail=answer.detail, status=answer.teleop)


def _check_holder(request: Request, robot_id: str, principal: Principal, *, admin_may: bool) -> None:
    holder = _holders(request).get(robot_id)
    if holder is None:
        raise ConflictError(f"robot {robot_id!r} is not teleoperated")
    if holder.key_id != principal.key_id and not (admin_may and principal.scope == Scope.ADMIN):
        raise ConflictError(f"robot {robot_id!r} is teleoperated by {holder.name}")


@router.post("/{robot_id}/teleop/start", response_model=TeleopOut, responses=RESPONSES)
async def start_teleop(
    robot_id: ResourceId, principal: Operator, request: Request, db: Db, body: TeleopStart | None = None
) -> TeleopOut:
    """Take the robot for this key's operator (409 while a plan runs or someone else holds it)."""
    _hub(request)  # 409 before anything else on a server without an agent link
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    holders = _holders(request)
    holder = holders.get(target)
    name = _operator_name(principal)
    if holder is not None and holder.key_id != principal.key_id:
        current = await _ask(_hub(request), target, "status")
        if current.status is not None and current.status.active:
            raise ConflictError(f"robot {target!r} is teleoperated by {holder.name}")
        holders.pop(target, None)  # that session ended on the robot (an e-stop, a timeout)
    config = (body or TeleopStart()).config
    out = await _ask(_hub(request), target, "start", operator=name, config=config)
    if not out.ok:
        raise ConflictError(f"robot {target!r}: {out.detail}")
    holders[target] = _Holder(principal.key_id, name)
    out.operator = name
    return out


@router.post("/{robot_id}/teleop/stop", response_model=TeleopOut, responses=RESPONSES)
async def stop_teleop(robot_id: ResourceId, principal: Operator, request: Request, db: Db) -> TeleopOut:
    """End the session: the robot brakes to a hold and takes plans again (its holder or an admin)."""
    _hub(request)
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    _check_holder(request, target, principal, admin_may=True)
    out = await _ask(_hub(request), target, "stop")
    _holders(request).pop(target, None)  # ended on the robot, or it had ended there already
    return out


@router.post(
    "/{robot_id}/teleop/input",
    response_model=InputAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=RESPONSES,
)
async def teleop_input(robot_id: ResourceId, body: TeleopInput, principal: Operator, request: Request) -> InputAccepted:
    """One operator input (palm targets, grips, head, waist, the deadman), sent on to the robot
    without waiting; only from the key that holds the session."""
    hub = _hub(request)
    _check_holder(request, robot_id, principal, admin_may=False)
    try:
        await hub.send(robot_id, Teleop(action="input", input=body))
    except RobotNotConnectedError as exc:
        raise ConflictError(str(exc)) from None
    return InputAccepted(robot_id=robot_id, seq=body.seq)


@router.get("/{robot_id}/teleop", response_model=TeleopOut, responses=RESPONSES)
async def teleop_status(robot_id: ResourceId, _: Reader, request: Request, db: Db) -> TeleopOut:
    """The robot's teleop session as the robot reports it: deadman, latency, inputs."""
    _hub(request)
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    out = await _ask(_hub(request), target, "status")
    holders = _holders(request)
    if out.status is None or not out.status.active:
        holders.pop(target, None)  # ended on the robot (an e-stop, a timeout)
    holder = holders.get(target)
    out.operator = holder.name if holder is not None else None
    return out
