"""``/api/v1/robot/invoke_skill`` (alias ``execute_skill``), executions, invoker stats, plan-only
requests and skill deployment: the routes that need the agent link (``dynamical up`` mounts them)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Deploy
from dynamical.api.agent_link import AgentLinkHub, RobotNotConnectedError
from dynamical.api.auth import Admin, Operator, Reader
from dynamical.api.deps import Db, Registry, RobotFilter
from dynamical.api.errors import ConflictError, NotFoundError, UnprocessableError
from dynamical.api.invoker import ExecutionOut, InvokeAccepted, Invoker, InvokeRequest, InvokeResponse, InvokerStats
from dynamical.api.learned_routing import refresh_routing
from dynamical.api.models import Deployment, Robot, SkillVersion, utcnow
from dynamical.api.planning import PlanningError, PlanSpec
from dynamical.api.schemas import Identifier
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.skills.manifest import SEMVER_PATTERN, SKILL_ID_PATTERN

router = APIRouter(tags=["invoke"])
RequestId = Annotated[str, Path(pattern=r"^[0-9a-f-]{1,36}$", description="the request_id of an invoke")]
DEPLOY_TIMEOUT_S = 30.0
_ERRORS = {
    404: {"description": "no such robot"},
    409: {"description": "the robot is not connected or busy, or no robot is connected"},
    422: {"description": "the request cannot become a plan"},
}


def _invoker(request: Request) -> Invoker:
    return request.app.state.invoker


def _received(request: Request) -> tuple[float, int]:
    # Stamped by the ASGI middleware of build_server when the request came in; now otherwise.
    stamp = request.scope.get("dynamical.received")
    return stamp if stamp is not None else (time.perf_counter(), time.time_ns())


async def _invoke(body: InvokeRequest, request: Request, response: Response) -> InvokeResponse | InvokeAccepted:
    invoker = _invoker(request)
    t0, t0_ns = _received(request)
    try:
        running = await invoker.start(body, t0, t0_ns)
    except PlanningError as exc:
        raise UnprocessableError(str(exc)) from None
    if not body.wait:
        response.status_code = status.HTTP_202_ACCEPTED
        return InvokeAccepted(
            request_id=running.request_id,
            robot_id=running.robot_id,
            status="running",
            plan=running.plan,
            planning_time_ms=round(running.planning_time_ms, 3),
            execution_url=f"/api/v1/robot/executions/{running.request_id}",
        )
    return await invoker.wait(running)


@router.post(
    "/api/v1/robot/invoke_skill",
    response_model=InvokeResponse | InvokeAccepted,
    responses={202: {"model": InvokeAccepted, "description": "wait=false: accepted, running"}, **_ERRORS},
)
async def invoke_skill(body: InvokeRequest, _: Operator, request: Request, response: Response):
    """Plan a task (or run named skills) on a robot. ``success`` false means the robot tried and
    failed (the error says why); a request that cannot become a plan is a 4xx."""
    return await _invoke(body, request, response)


@router.post(
    "/api/v1/robot/execute_skill",
    response_model=InvokeResponse | InvokeAccepted,
    responses={202: {"model": InvokeAccepted}, **_ERRORS},
)
async def execute_skill(body: InvokeRequest, _: Operator, request: Request, response: Response):
    """The same as ``invoke_skill`` (the name some clients use)."""
    return await _invoke(body, request, response)


ExecutionStatusName = Literal["planning", "running", "succeeded", "failed", "refused", "cancelled", "interrupted"]


@router.get("/api/v1/robot/executions", response_model=list[ExecutionOut])
def list_executions(
    _: Reader,
    request: Request,
    robot_id: RobotFilter = None,
    status_filter: Annotated[
        ExecutionStatusName | None, Query(alias="status", description="only executions in this status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many, newest first")] = 50,
) -> list[ExecutionOut]:
    """Recent executions, newest first."""
    return _invoker(request).executions(robot_id, status_filter, limit)


@router.get(
    "/api/v1/robot/executions/{request_id}",
    response_model=ExecutionOut,
    responses={404: {"description": "no such execution"}},
)
def get_execution(request_id: RequestId, _: Reader, request: Request) -> ExecutionOut:
    """An execution: its status, the steps heard so far, its plan and result."""
    return _invoker(request).execution(request_id)


@router.get("/api/v1/robot/invoker/stats", response_model=InvokerStats)
def invoker_stats(_: Reader, request: Request) -> InvokerStats:
    """Executions by status, in-flight count, planning and total time percentiles."""
    return _invoker(request).stats()


class PlanOnly(BaseModel):
    plan: SkillExecutionPlan
    robot_id: str | None = Field(description="the connected robot whose world it was planned in, if any")
    planning_time_ms: float


@router.post("/api/v1/skills/request", response_model=PlanOnly, responses={404: _ERRORS[404], 422: _ERRORS[422]})
async def request_skills(body: PlanSpec, _: Reader, request: Request) -> PlanOnly:
    """Route only: the plan the task would become, without running it (the robot's world when it
    is connected, the nominal world otherwise)."""
    t0, _ns = _received(request)
    invoker = _invoker(request)
    hub: AgentLinkHub = invoker.hub
    connection = hub.connections.get(body.robot_id) if body.robot_id else None
    if body.robot_id is not None and connection is None:
        await run_in_threadpool(_require_robot, request, body.robot_id)
    embodiment = connection.hello.embodiment if connection else None
    world = connection.world if connection else None
    try:
        plan = await run_in_threadpool(invoker.planner.plan, body, body.robot_id, embodiment, world)
    except PlanningError as exc:
        raise UnprocessableError(str(exc)) from None
    return PlanOnly(plan=plan, robot_id=body.robot_id, planning_time_ms=round((time.perf_counter() - t0) * 1e3, 3))


def _require_robot(request: Request, robot_id: str) -> None:
    with request.app.state.db.session() as session:
        if session.get(Robot, robot_id) is None:
            raise NotFoundError(f"no robot {robot_id!r}")


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    skill_id: Annotated[str, Field(pattern=SKILL_ID_PATTERN)]
    version: Annotated[str, Field(pattern=SEMVER_PATTERN, max_length=64)] | None = Field(
        None, description="default: the newest version not deprecated"
    )
    robot_ids: list[Identifier] | None = Field(None, max_length=100, description="default: every connected robot")


class DeploymentOut(BaseModel):
    id: int
    robot_id: str
    skill_id: str
    version: str
    status: str
    error: str | None


@router.post(
    "/api/v1/skills/deploy",
    response_model=list[DeploymentOut],
    responses={404: {"description": "no such skill, version or robot"}, 409: {"description": "robot not connected"}},
)
async def deploy_skill(body: DeployRequest, _: Admin, request: Request, db: Db, registry: Registry):
    """Send a skill's artifact to robots' local caches over the agent link; answers when each robot
    stored it (``delivered``) or refused it (``failed``, with the reason)."""
    hub: AgentLinkHub = _invoker(request).hub
    # Verifies signature and contents: a robot never receives an artifact the registry would refuse.
    artifact = await run_in_threadpool(registry.get, body.skill_id, body.version)
    ref = artifact.manifest.ref

    def plan_rows() -> tuple[bytes, list[tuple[int, str]]]:
        with db.session() as session:
            version = session.scalar(
                select(SkillVersion).where(SkillVersion.skill_id == ref.id, SkillVersion.version == ref.version)
            )
            assert version is not None
            robots = body.robot_ids if body.robot_ids is not None else sorted(hub.connections)
            if not robots:
                raise ConflictError("no robot agent is connected")
            for robot_id in robots:
                if session.get(Robot, robot_id) is None:
                    raise NotFoundError(f"no robot {robot_id!r}")
                if robot_id not in hub.connections:
                    raise ConflictError(f"robot {robot_id!r} has no agent connected")
            rows = [Deployment(skill_version_pk=version.pk, robot_id=r, status="pending") for r in robots]
            session.add_all(rows)
            session.flush()
            return registry.blobs.get(version.blob), [(row.id, row.robot_id) for row in rows]

    blob, rows = await run_in_threadpool(plan_rows)
    digest = hashlib.sha256(blob).hexdigest()

    async def one(deployment_id: int, robot_id: str) -> DeploymentOut:
        try:
            result = await hub.command(
                robot_id,
                lambda c: Deploy(command_id=c, skill_id=ref.id, version=ref.version, sha256=digest, artifact=blob),
                DEPLOY_TIMEOUT_S,
            )
            ok, error = result.ok, None if result.ok else result.detail
        except RobotNotConnectedError as exc:
            ok, error = False, str(exc)
        await run_in_threadpool(_close_deployment, db, deployment_id, ok, error)
        return DeploymentOut(
            id=deployment_id,
            robot_id=robot_id,
            skill_id=ref.id,
            version=ref.version,
            status="delivered" if ok else "failed",
            error=error,
        )

    answers = await asyncio.gather(*(one(i, r) for i, r in rows))
    if artifact.manifest.kind != "scripted" and any(a.status == "delivered" for a in answers):
        # A robot runs it now: the planner routes words to it (api/learned_routing.py).
        await run_in_threadpool(refresh_routing, _invoker(request).planner, db)
    return answers


def _close_deployment(db, deployment_id: int, ok: bool, error: str | None) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        row = session.get(Deployment, deployment_id)
        if row is not None:
            row.status, row.error, row.completed_at = ("delivered" if ok else "failed"), error, utcnow()
