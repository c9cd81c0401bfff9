"""Live robot operations over the agent link: reset, hazards, robot state, and traces (the
e-stop is in ``routers.safety``: it answers without the database)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Reset, SimReset, finite
from dynamical.api.agent_link import AgentLinkHub, RobotNotConnectedError
from dynamical.api.auth import Operator, Reader
from dynamical.api.deps import Db, ResourceId, RobotFilter
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.models import Robot, SafetyEvent, utcnow
from dynamical.api.schemas import Identifier
from dynamical.api.tracing import TraceOut, load_trace
from dynamical.robot.scene_model import SceneModel
from dynamical.safety.rules import Rule

router = APIRouter(tags=["operations"])
HAZARD_WINDOW_S = 60.0
POSTURE_RESET_TIMEOUT_S = 30.0
"""s a reset with ``posture`` may take: the clearing, then the arms' way back to the rest pose."""
NOT_INTERVENTIONS = (int(Rule.ZONES_CHANGED), int(Rule.RESET))
"""Events that record what an operator did, not a command the kernel had to alter."""


def _hub(request: Request) -> AgentLinkHub:
    return request.app.state.agent_hub


def _targets(request: Request, db: Db, robot_id: str | None) -> list[str]:
    """The robots a command goes to: the named one (404 unknown, 409 not connected) or every connected one."""
    hub = _hub(request)
    if robot_id is None:
        if not hub.connections:
            raise ConflictError("no robot agent is connected")
        return sorted(hub.connections)
    with db.session() as session:
        if session.get(Robot, robot_id) is None:
            raise NotFoundError(f"no robot {robot_id!r}")
    if robot_id not in hub.connections:
        raise ConflictError(f"robot {robot_id!r} has no agent connected")
    return [robot_id]


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    robot_id: Identifier | None = Field(None, description="default: every connected robot")
    posture: bool = Field(
        False, description="once the stop has cleared, also bring the arms back to their rest posture (go_home)"
    )


class CommandOut(BaseModel):
    robot_id: str
    ok: bool
    detail: str


class CommandsOut(BaseModel):
    ok: bool = Field(description="every robot confirmed")
    robots: list[CommandOut]


async def _broadcast(  # type: ignore[no-untyped-def]
    hub: AgentLinkHub, robots: list[str], make, timeout_s: float | None = None
) -> CommandsOut:
    async def one(robot_id: str) -> CommandOut:
        try:
            command = hub.command(robot_id, make) if timeout_s is None else hub.command(robot_id, make, timeout_s)
            result = await command
        except RobotNotConnectedError as exc:
            return CommandOut(robot_id=robot_id, ok=False, detail=str(exc))
        return CommandOut(robot_id=robot_id, ok=result.ok, detail=result.detail)

    answers = await asyncio.gather(*(one(r) for r in robots))
    return CommandsOut(ok=all(a.ok for a in answers), robots=list(answers))


@router.post(
    "/api/safety/reset",
    response_model=CommandsOut,
    responses={404: {"description": "no such robot"}, 409: {"description": "not connected"}},
)
async def reset(body: ResetRequest, _: Operator, request: Request, db: Db) -> CommandsOut:
    """Clear a latched e-stop or protective stop (the kernel refuses while the robot still moves);
    with ``posture``, then bring the arms back to their rest posture (a few seconds of motion)."""
    robots = await run_in_threadpool(_targets, request, db, body.robot_id)
    make = lambda c: Reset(command_id=c, posture=body.posture)  # noqa: E731
    return await _broadcast(_hub(request), robots, make, POSTURE_RESET_TIMEOUT_S if body.posture else None)


class SimResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = Field(ge=0, le=2**31 - 1, description="object layout seed of the new simulated world")


@router.post(
    "/api/v1/robots/{robot_id}/sim/reset",
    response_model=CommandOut,
    responses={404: {"description": "no such robot"}, 409: {"description": "not connected, or not simulated"}},
)
async def sim_reset(robot_id: ResourceId, body: SimResetRequest, _: Operator, request: Request, db: Db) -> CommandOut:
    """Simulation only: lay out a new world from ``seed`` (objects re-drawn, the robot at rest, the
    kernel fresh with the same zones); refused while the robot runs a plan. For evaluations over
    many object layouts through the API."""
    (target,) = await run_in_threadpool(_targets, request, db, robot_id)
    answer = (await _broadcast(_hub(request), [target], lambda c: SimReset(command_id=c, seed=body.seed))).robots[0]
    if not answer.ok:
        raise ConflictError(f"robot {robot_id!r} did not reset its world: {answer.detail}")
    return answer


class Hazard(BaseModel):
    kind: Literal["estop", "protective_stop", "person_near", "no_power", "interventions", "stale_state"]
    detail: str
    data: dict[str, Any] = {}


class RobotHazards(BaseModel):
    robot_id: str
    safety: dict[str, Any] | None
    hazards: list[Hazard]


@router.get("/api/safety/hazards", response_model=list[RobotHazards])
def hazards(_: Reader, request: Request, db: Db, robot_id: RobotFilter = None) -> list[RobotHazards]:
    """What makes each connected robot unsafe or stopped now: latched stops, people inside the
    monitored distance, no power, stale state, and safety interventions in the last minute."""
    hub = _hub(request)
    robots = [r for r in sorted(hub.connections) if robot_id in (None, r)]
    since = utcnow() - timedelta(seconds=HAZARD_WINDOW_S)
    with db.session() as session:
        rows = session.execute(
            select(SafetyEvent.robot_id, SafetyEvent.rule_name).where(
                SafetyEvent.recorded_at > since,
                SafetyEvent.robot_id.in_(robots),
                SafetyEvent.rule.not_in(NOT_INTERVENTIONS),
            )
        ).all()
    recent = Counter((r, name) for r, name in rows)
    out = []
    for rid in robots:
        connection = hub.connections.get(rid)
        if connection is None:
            continue
        found: list[Hazard] = []
        safety = connection.state.safety if connection.state is not None else None
        if connection.state_received is None or time.monotonic() - connection.state_received > 1.0:
            found.append(Hazard(kind="stale_state", detail="no state from the robot in the last second"))
        if safety is not None:
            if safety.estop_category is not None:
                found.append(Hazard(kind="estop", detail=f"e-stop category {safety.estop_category} latched"))
            if safety.protective_stop:
                cause = f": {safety.stop_cause.describe()}" if safety.stop_cause is not None else ""
                found.append(Hazard(kind="protective_stop", detail=f"protective stop ({safety.mode}){cause}"))
            if safety.separation_m is not None and safety.speed_scale < 1.0:
                found.append(
                    Hazard(
                        kind="person_near",
                        detail=f"a person {safety.separation_m:.2f} m away; speed scaled to {safety.speed_scale:.2f}",
                        data={"separation_m": safety.separation_m, "speed_scale": safety.speed_scale},
                    )
                )
            if not safety.power_on:
                found.append(Hazard(kind="no_power", detail="drive power is off"))
        for (r, rule), count in sorted(recent.items()):
            if r == rid:
                found.append(
                    Hazard(
                        kind="interventions",
                        detail=f"{count} {rule} interventions in the last {HAZARD_WINDOW_S:g} s",
                        data={"rule": rule, "count": count},
                    )
                )
        out.append(RobotHazards(robot_id=rid, safety=finite(safety.model_dump()) if safety else None, hazards=found))
    return out


class RobotStateOut(BaseModel):
    robot_id: str
    connected: bool
    age_s: float = Field(description="seconds since the robot sent this state")
    state: dict[str, Any] = Field(description="joints, safety status, timing per tier, object poses (simulation)")


@router.get(
    "/api/v1/robots/{robot_id}/state",
    response_model=RobotStateOut,
    responses={404: {"description": "no such robot"}, 409: {"description": "no live state: not connected"}},
)
def robot_state(robot_id: ResourceId, _: Reader, request: Request, db: Db) -> RobotStateOut:
    """The robot's latest state as its agent reported it (30 Hz while connected)."""
    hub = _hub(request)
    connection = hub.connections.get(robot_id)
    if connection is None:
        with db.session() as session:
            if session.get(Robot, robot_id) is None:
                raise NotFoundError(f"no robot {robot_id!r}")
        raise ConflictError(f"robot {robot_id!r} has no agent connected: no live state")
    if connection.state is None or connection.state_received is None:
        raise ConflictError(f"robot {robot_id!r} has not reported its state yet")
    return RobotStateOut(
        robot_id=robot_id,
        connected=True,
        age_s=round(time.monotonic() - connection.state_received, 4),
        state=finite(connection.state.model_dump(mode="python")),
    )


@router.get(
    "/api/v1/robots/{robot_id}/model",
    response_model=SceneModel,
    responses={404: {"description": "no such robot, or it has not sent a model since the server started"}},
)
def robot_model(robot_id: ResourceId, _: Reader, request: Request) -> SceneModel:
    """The robot in its world, for drawing: bodies, joints, primitive geoms and how each body
    follows the streamed joint positions (see ``dynamical.robot.scene_model``). Its agent sends
    it when it connects; the last one stays available after a disconnect."""
    scene = _hub(request).scenes.get(robot_id)
    if scene is None:
        raise NotFoundError(f"robot {robot_id!r} has not sent its model since the server started")
    return scene


TraceRequestId = Annotated[str, Path(pattern=r"^[0-9a-f-]{1,36}$")]


@router.get("/api/v1/traces/{request_id}", response_model=TraceOut, responses={404: {"description": "no trace"}})
def get_trace(
    request_id: TraceRequestId,
    _: Reader,
    db: Db,
    include_attributes: Annotated[bool, Query(description="span attributes and events")] = True,
) -> TraceOut:
    """The trace of an invoke: decompose, route, contract, assign, adapt, tier, each step."""
    found = load_trace(db, request_id)
    if found is None:
        raise NotFoundError(f"no trace for request {request_id!r} (it is stored when the execution ends)")
    if not include_attributes:
        found = found.model_copy(
            update={"spans": [s.model_copy(update={"attributes": {}, "events": []}) for s in found.spans]}
        )
    return found
