"""Invoke: request → plan → the robot's agent → result, persisted as an execution with its trace.

The invoker owns executions while they run: the waiter of each, its progress, its trace spans.
The database row is written when the request is accepted, when the plan is handed to the agent
and when the result comes back, so ``GET /executions/{id}`` works from any server process and
a result that arrives after a server restart (the agent queued it) still lands on its row.

One plan per robot: a request claims its robot in the same step as it checks that the robot is
idle (no await between), before planning, and every way out releases the claim. Only the robot
that runs an execution reports on it (``owner_of``; the agent link drops the rest), and a finished
execution is immutable: its row is written once, by a conditional update, and a late result is
logged and audited, never stored.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry import trace as otel
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, Status, StatusCode
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from starlette.concurrency import run_in_threadpool

from dynamical.agent.messages import Cancel, ExecutePlan, PlanResult, StepProgressReport, finite
from dynamical.agent.plan_runner import StepProgress
from dynamical.api.agent_link import COMMAND_TIMEOUT_S, AgentLinkHub, Connection, RobotNotConnectedError
from dynamical.api.db import Database
from dynamical.api.errors import ConflictError, NotFoundError
from dynamical.api.link_audit import record_link_event
from dynamical.api.models import Execution, Robot, SafetyEvent, utcnow
from dynamical.api.planning import Planner, PlanSpec, Role
from dynamical.api.schemas import SafetyEventOut
from dynamical.api.tracing import tracer
from dynamical.observability.traces import PhaseTimeline
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.skills.runner import TrajectorySummary

log = logging.getLogger(__name__)
ExecutionStatus = Literal["planning", "running", "succeeded", "failed", "refused", "cancelled", "interrupted"]
ACTIVE = ("planning", "running")
REPORTABLE = (*ACTIVE, "interrupted")
"""Statuses a robot's result may still end: an execution interrupted by a server restart takes the
result its agent kept; a finished one takes nothing."""
CANCEL_GRACE_S = 5.0
"""After a timeout, how long to wait for the cancelled plan's result before answering without it."""
TIMED_OUT = "timed out after {:g} s; the plan was cancelled"


class InvokeRequest(PlanSpec):
    wait: bool = Field(True, description="answer when the plan ends; false: 202 at once, poll the execution")
    timeout_s: float = Field(300.0, gt=0, le=3600, description="cancel the plan if it runs longer")
    record: bool = Field(
        False,
        description="record the execution on the robot as a LeRobot dataset (listed by GET /api/v1/datasets)",
    )


class SkillAction(BaseModel):
    """What one step commanded and how it went."""

    step_id: str
    skill_id: str
    parameters: dict[str, Any]
    """As the skill resolved them (hand, object, target)."""
    planned_s: float
    """Duration of the commanded trajectory, s."""
    duration_s: float
    success: bool
    failure: str | None
    interventions: int
    """Commands of this step the safety kernel changed."""
    hard_limit_holds: int
    postconditions: list[dict[str, Any]]
    trajectory: TrajectorySummary | None = None
    """The commanded trajectory in brief: phases, where the hands went, joint travel, peak speed."""


class InvokeResponse(BaseModel):
    success: bool
    request_id: str
    robot_id: str
    role: Role
    status: ExecutionStatus
    actions: list[SkillAction]
    skill_ids_used: list[str]
    blend_weights: dict[str, dict[str, float]] = Field(description="per step: the router's top skills and weights")
    safety_status: dict[str, Any] | None
    safety_events: list[SafetyEventOut]
    plan: SkillExecutionPlan
    planning_time_ms: float = Field(description="request in → plan handed to the agent")
    total_time_ms: float | None
    error: str | None


class InvokeAccepted(BaseModel):
    request_id: str
    robot_id: str
    status: ExecutionStatus
    plan: SkillExecutionPlan
    planning_time_ms: float
    execution_url: str


class ExecutionOut(BaseModel):
    request_id: str
    robot_id: str | None
    status: str
    task_description: str | None
    mode: str
    role: str
    progress: list[StepProgress]
    """Step events heard so far (running, succeeded, failed), while the server has them in memory."""
    steps_done: int
    steps_total: int | None
    plan: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    created_at: Any
    started_at: Any
    finished_at: Any
    planning_time_ms: float | None
    total_time_ms: float | None


class InvokerStats(BaseModel):
    in_flight: int
    executions_by_status: dict[str, int]
    planning_time_ms: dict[str, float] = Field(description="p50, p95, p99, max over the last requests")
    total_time_ms: dict[str, float]
    samples: int
    connected_robots: list[str]


@dataclass
class _Running:
    request_id: str
    robot_id: str
    request: InvokeRequest
    plan: SkillExecutionPlan
    t0: float
    planning_time_ms: float
    root: Span
    future: asyncio.Future[PlanResult]
    progress: list[StepProgress] = field(default_factory=list)
    step_spans: dict[str, Span] = field(default_factory=dict)
    timed_out: bool = False
    """The request's ``timeout_s`` passed and the plan was cancelled (its result says cancelled)."""
    deadline: asyncio.Task[None] | None = None


class Invoker:
    def __init__(self, db: Database, hub: AgentLinkHub, planner: Planner, provider: TracerProvider) -> None:
        self.db = db
        self.hub = hub
        self.planner = planner
        self.tracer = tracer(provider)
        self.running: dict[str, _Running] = {}
        self.claims: dict[str, str] = {}
        """robot_id → request_id of the request that holds it, from the idle check until its result."""
        self.planning_ms: deque[float] = deque(maxlen=2000)
        self.total_ms: deque[float] = deque(maxlen=2000)
        self.phases = PhaseTimeline()
        """Skill phases of the open step spans, laid out as child spans when each step ends."""
        hub.progress_listeners.append(self._on_progress)
        hub.result_listeners.append(self._on_result)
        hub.owner_of = self.owner_of

    # ---- invoke -------------------------------------------------------------------------------

    def choose_robot(self, robot_id: str | None) -> Connection:
        """The connection to run on: the named robot (404 unknown, 409 not connected or busy) or an idle one."""
        if robot_id is not None:
            with self.db.session() as session:
                if session.get(Robot, robot_id) is None:
                    raise NotFoundError(f"no robot {robot_id!r}")
            try:
                connection = self.hub.connection(robot_id)
            except RobotNotConnectedError as exc:
                raise ConflictError(str(exc)) from None
            busy = self._busy(robot_id)
            if busy is not None:
                raise ConflictError(f"robot {robot_id!r} is running execution {busy}")
            return connection
        if not self.hub.connections:
            raise ConflictError("no robot agent is connected")
        for connection in sorted(self.hub.connections.values(), key=lambda c: c.robot_id):
            if self._busy(connection.robot_id) is None:
                return connection
        raise ConflictError("every connected robot is running an execution")

    def _busy(self, robot_id: str) -> str | None:
        mine = self.claims.get(robot_id) or next(
            (r.request_id for r in self.running.values() if r.robot_id == robot_id), None
        )
        connection = self.hub.connections.get(robot_id)
        return mine or (connection.running if connection is not None else None)

    def _release(self, robot_id: str, request_id: str) -> None:
        if self.claims.get(robot_id) == request_id:
            del self.claims[robot_id]

    async def owner_of(self, request_id: str) -> str | None:
        """The robot that runs (or ran) execution ``request_id``; None when there is no such execution."""
        running = self.running.get(request_id)
        if running is not None:
            return running.robot_id
        return await run_in_threadpool(self._owner_row, request_id)

    def _owner_row(self, request_id: str) -> str | None:
        with self.db.session() as session:
            return session.scalar(select(Execution.robot_id).where(Execution.request_id == request_id))

    async def start(self, request: InvokeRequest, t0: float, t0_unix_ns: int) -> _Running:
        """Plan ``request`` and hand it to a robot; raises 4xx errors before anything moves."""
        connection = self.choose_robot(request.robot_id)
        robot_id = connection.robot_id
        request_id = str(uuid.uuid4())
        # Claimed in the same step as the idle check above: a concurrent request sees it busy.
        self.claims[robot_id] = request_id
        try:
            return await self._start(request, t0, t0_unix_ns, connection, request_id)
        except BaseException:  # a refusal, a failure, or the client gone (cancelled): the robot is free
            self._release(robot_id, request_id)
            raise

    async def _start(
        self, request: InvokeRequest, t0: float, t0_unix_ns: int, connection: Connection, request_id: str
    ) -> _Running:
        robot_id = connection.robot_id
        root = self.tracer.start_span(
            "invoke", start_time=t0_unix_ns, attributes={"request_id": request_id, "robot_id": robot_id}
        )
        await run_in_threadpool(self._create_row, request_id, robot_id, request)
        task = request.task_description or request.goal
        self._announce(request_id, robot_id, "planning", task)
        try:
            plan = await run_in_threadpool(
                self.planner.plan, request, robot_id, connection.hello.embodiment, connection.world
            )
        except ValueError as exc:
            # the planner said no before anything moved: refused, not failed (issue 19)
            await run_in_threadpool(self._finish_row, request_id, robot_id, "refused", None, str(exc), None)
            self._announce(request_id, robot_id, "refused", task)
            root.set_status(Status(StatusCode.ERROR, str(exc)))
            await run_in_threadpool(root.end)
            raise
        future: asyncio.Future[PlanResult] = asyncio.get_running_loop().create_future()
        running = _Running(request_id, robot_id, request, plan, t0, 0.0, root, future)
        self.running[request_id] = running
        self._plan_spans(running, t0_unix_ns)
        try:
            await connection.send(ExecutePlan(request_id=request_id, plan=plan, record=request.record))
        except Exception as exc:
            self.running.pop(request_id, None)
            await run_in_threadpool(
                self._finish_row, request_id, robot_id, "failed", None, f"agent unreachable: {exc}", None
            )
            self._announce(request_id, robot_id, "failed", task)
            await run_in_threadpool(root.end)
            raise ConflictError(f"robot {robot_id!r} went away before the plan reached it") from None
        connection.running = request_id
        running.planning_time_ms = (time.perf_counter() - t0) * 1e3
        self.planning_ms.append(running.planning_time_ms)
        root.set_attribute("planning_time_ms", running.planning_time_ms)
        await run_in_threadpool(self._started_row, request_id, plan, running.planning_time_ms)
        self._announce(request_id, robot_id, "running", task)
        # Every execution has its deadline, waited for or not: a plan that outlives ``timeout_s``
        # (a step planning for minutes on a loaded machine) is cancelled, never left running.
        running.deadline = asyncio.create_task(self._enforce_timeout(running), name=f"deadline {request_id}")
        return running

    async def _enforce_timeout(self, running: _Running) -> None:
        """Cancel ``running`` on the robot once its ``timeout_s`` has passed without a result."""
        try:
            await asyncio.wait_for(asyncio.shield(running.future), running.request.timeout_s)
            return
        except TimeoutError:
            pass
        running.timed_out = True
        log.warning("execution %s timed out after %.1f s: cancelling", running.request_id, running.request.timeout_s)
        try:
            answer = await self.hub.command(
                running.robot_id, lambda c: Cancel(command_id=c, request_id=running.request_id)
            )
        except RobotNotConnectedError:
            log.warning("execution %s timed out with its robot away: it reports when back", running.request_id)
            return
        if not answer.ok:
            log.warning("execution %s timed out; its cancel was not confirmed: %s", running.request_id, answer.detail)

    async def wait(self, running: _Running) -> InvokeResponse:
        """The result of ``running``; on ``timeout_s`` the plan is cancelled and the answer says so."""
        timeout_s = running.request.timeout_s
        try:
            result = await asyncio.wait_for(
                asyncio.shield(running.future), timeout_s + COMMAND_TIMEOUT_S + CANCEL_GRACE_S
            )
        except TimeoutError:
            return await self._response(running, None, f"timed out after {timeout_s:g} s")
        return await self._response(running, result, TIMED_OUT.format(timeout_s) if running.timed_out else None)

    async def _response(self, running: _Running, result: PlanResult | None, error: str | None) -> InvokeResponse:
        outcome = result.outcome if result is not None else None
        by_skill = {}
        for step, skill in zip(running.plan.steps, outcome.steps if outcome else [], strict=False):
            by_skill[step.step_id] = SkillAction(
                step_id=step.step_id,
                skill_id=skill.skill,
                parameters=skill.params,
                planned_s=skill.planned_s,
                duration_s=skill.duration_s,
                success=skill.success,
                failure=skill.failure,
                interventions=skill.interventions,
                hard_limit_holds=skill.hard_limit_holds,
                postconditions=[p.model_dump() for p in skill.postconditions],
                trajectory=skill.trajectory,
            )
        success = bool(outcome is not None and outcome.success and error is None)
        error = error or (result.error if result else None) or (outcome.failure if outcome else None)
        status: ExecutionStatus = "succeeded" if success else ("cancelled" if result and result.cancelled else "failed")
        connection = self.hub.connections.get(running.robot_id)
        safety = connection.state.safety if connection is not None and connection.state is not None else None
        events = await run_in_threadpool(self._events, running.request_id)
        return InvokeResponse(
            success=success,
            request_id=running.request_id,
            robot_id=running.robot_id,
            role=running.request.role,
            status=status,
            actions=list(by_skill.values()),
            skill_ids_used=[s.skill_id for s in running.plan.steps],
            blend_weights={s.step_id: dict(zip(s.skill_ids, s.weights, strict=False)) for s in running.plan.steps},
            safety_status=finite(safety.model_dump()) if safety is not None else None,
            safety_events=events,
            plan=running.plan,
            planning_time_ms=round(running.planning_time_ms, 3),
            total_time_ms=round((time.perf_counter() - running.t0) * 1e3, 3),
            error=error,
        )

    # ---- what the agents report ---------------------------------------------------------------

    def _on_progress(self, robot_id: str, report: StepProgressReport) -> None:
        running = self.running.get(report.request_id)
        if running is None or running.robot_id != robot_id:
            return  # a finished execution's, or (the link drops those already) another robot's
        progress = report.progress
        t_ns = int(report.t_wall * 1e9)
        if progress.status == "running" and progress.step_id in running.step_spans:
            # The same step again, now with its planned motion: one entry, one span.
            running.progress[-1] = progress
            if progress.planned is not None:
                self.phases.launched(running.step_spans[progress.step_id], t_ns, progress.planned.phases)
            return
        running.progress.append(progress)
        if progress.status == "running":
            context = otel.set_span_in_context(running.root)
            running.step_spans[progress.step_id] = self.tracer.start_span(
                f"step {progress.step_id} {progress.skill_id}",
                context=context,
                start_time=t_ns,
                attributes={"step_id": progress.step_id, "skill_id": progress.skill_id, "index": progress.index},
            )
        else:
            span = running.step_spans.pop(progress.step_id, None)
            if span is not None:
                outcome = progress.outcome
                if outcome is not None:
                    span.set_attributes(
                        {
                            "success": outcome.success,
                            "duration_s": outcome.duration_s,
                            "planned_s": outcome.planned_s,
                            "interventions": outcome.interventions,
                        }
                    )
                    if not outcome.success:
                        span.set_status(Status(StatusCode.ERROR, outcome.failure or "failed"))
                failure = None if outcome is None or outcome.success else (outcome.failure or "failed")
                self.phases.ended(self.tracer, span, t_ns, failure)
                span.end(end_time=t_ns)

    async def _on_result(self, robot_id: str, result: PlanResult) -> None:
        running = self.running.get(result.request_id)
        if running is not None and running.robot_id != robot_id:
            await self._ignored(robot_id, result, f"it is robot {running.robot_id!r}'s execution")
            return
        self.running.pop(result.request_id, None)
        if running is not None:
            self._release(running.robot_id, running.request_id)
        outcome = result.outcome
        success = outcome is not None and outcome.success
        status = "succeeded" if success else ("cancelled" if result.cancelled else "failed")
        error = result.error or (outcome.failure if outcome is not None else None)
        if running is not None and running.timed_out and not success:
            timed_out = TIMED_OUT.format(running.request.timeout_s)
            error = f"{timed_out}: {error}" if error else timed_out
        payload = finite(result.model_dump(mode="json", exclude={"world"}))
        if running is None:
            # A result of an execution this process did not start (a restart in between): stored
            # if its row still waits for one, from the robot that ran it.
            if await run_in_threadpool(self._finish_row, result.request_id, robot_id, status, payload, error, None):
                self._announce(result.request_id, robot_id, status, None)
            else:
                await self._ignored(robot_id, result, "the execution is finished (or not this robot's)")
            return
        total_ms = (time.perf_counter() - running.t0) * 1e3
        self.total_ms.append(total_ms)
        for span in running.step_spans.values():
            span.end()
        running.root.set_attributes({"status": status, "total_time_ms": total_ms})
        if not success:
            running.root.set_status(Status(StatusCode.ERROR, error or status))
        stored = await run_in_threadpool(
            self._finish_row, result.request_id, robot_id, status, payload, error, total_ms
        )
        if not stored:
            await self._ignored(robot_id, result, "the execution was finished already")
        await run_in_threadpool(running.root.end)  # writes the trace: it is stored before the waiter answers
        task = running.request.task_description or running.request.goal
        self._announce(result.request_id, robot_id, status, task)
        if not running.future.done():
            running.future.set_result(result)

    async def _ignored(self, robot_id: str, result: PlanResult, why: str) -> None:
        log.warning("a result for execution %s from robot %s ignored: %s", result.request_id, robot_id, why)
        await run_in_threadpool(
            record_link_event,
            self.db,
            robot_id,
            "ignored plan_result",
            409,
            None,
            proven=True,
            detail=f"execution {result.request_id}: {why}",
        )

    # ---- reads --------------------------------------------------------------------------------

    def execution(self, request_id: str) -> ExecutionOut:
        with self.db.session() as session:
            row = session.get(Execution, request_id)
            if row is None:
                raise NotFoundError(f"no execution {request_id!r}")
            return self._execution_out(row)

    def executions(self, robot_id: str | None, status: str | None, limit: int) -> list[ExecutionOut]:
        """The newest ``limit`` executions, optionally of one robot or in one status."""
        query = select(Execution).order_by(Execution.created_at.desc(), Execution.request_id).limit(limit)
        if robot_id is not None:
            query = query.where(Execution.robot_id == robot_id)
        if status is not None:
            query = query.where(Execution.status == status)
        with self.db.session() as session:
            return [self._execution_out(row) for row in session.scalars(query)]

    def _execution_out(self, row: Execution) -> ExecutionOut:
        running = self.running.get(row.request_id)
        progress = list(running.progress) if running is not None else []
        total = len(row.plan["steps"]) if row.plan else None
        done = sum(1 for p in progress if p.status in ("succeeded", "failed"))
        if row.result and row.result.get("outcome"):
            done = len(row.result["outcome"]["steps"])
        return ExecutionOut(
            request_id=row.request_id,
            robot_id=row.robot_id,
            status=row.status,
            task_description=row.task_description,
            mode=row.mode,
            role=row.role,
            progress=progress,
            steps_done=done,
            steps_total=total,
            plan=row.plan,
            result=row.result,
            error=row.error,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            planning_time_ms=row.planning_time_ms,
            total_time_ms=row.total_time_ms,
        )

    def stats(self) -> InvokerStats:
        with self.db.session() as session:
            counts = dict(session.execute(select(Execution.status, func.count()).group_by(Execution.status)).all())
        return InvokerStats(
            in_flight=len(self.running),
            executions_by_status={str(k): int(v) for k, v in counts.items()},
            planning_time_ms=_percentiles(self.planning_ms),
            total_time_ms=_percentiles(self.total_ms),
            samples=len(self.planning_ms),
            connected_robots=sorted(self.hub.connections),
        )

    def interrupt_orphans(self) -> int:
        """Executions left planning or running by a server that stopped: mark them interrupted (the
        agent's queued result, when it reconnects, replaces that)."""
        with self.db.session() as session:
            rows = list(session.scalars(select(Execution).where(Execution.status.in_(ACTIVE))))
            for row in rows:
                row.status = "interrupted"
                row.error = "the server stopped while it ran; the robot's result is stored when its agent reports it"
            return len(rows)

    # ---- spans and rows -----------------------------------------------------------------------

    def _plan_spans(self, running: _Running, t0_ns: int) -> None:
        """One span per orchestration layer, laid end to end from the orchestrator's timings."""
        context = otel.set_span_in_context(running.root)
        at = t0_ns
        for layer in ("decompose", "route", "contract", "assign", "adapt", "tier"):
            ms = running.plan.timings_ms.get(layer)
            if ms is None:
                continue
            span = self.tracer.start_span(layer, context=context, start_time=at, attributes={"layer": layer})
            at += int(ms * 1e6)
            span.end(end_time=at)

    def _announce(self, request_id: str, robot_id: str, status: str, task: str | None) -> None:
        """Tell the dashboards an execution changed status (call on the event loop)."""
        self.hub.telemetry.publish(
            {
                "type": "execution",
                "robot_id": robot_id,
                "request_id": request_id,
                "status": status,
                "task_description": task,
            }
        )

    def _create_row(self, request_id: str, robot_id: str, request: InvokeRequest) -> None:
        with self.db.session() as session:
            session.add(
                Execution(
                    request_id=request_id,
                    robot_id=robot_id,
                    role=request.role,
                    mode=request.mode,
                    task_description=request.task_description,
                    goal=request.goal,
                    status="planning",
                    request=request.model_dump(mode="json"),
                    created_at=utcnow(),
                )
            )

    def _started_row(self, request_id: str, plan: SkillExecutionPlan, planning_ms: float) -> None:
        with self.db.session() as session:
            row = session.get(Execution, request_id)
            if row is not None and row.status == "planning":
                row.status, row.plan = "running", plan.model_dump(mode="json")
                row.started_at, row.planning_time_ms = utcnow(), planning_ms

    def _finish_row(
        self,
        request_id: str,
        robot_id: str,
        status: str,
        result: dict[str, Any] | None,
        error: str | None,
        total_ms: float | None,
    ) -> bool:
        """End the execution's row, once: only while it waits for a result, and only for the robot
        that runs it (one conditional UPDATE, so two results cannot both land). False when not."""
        values: dict[str, Any] = {"status": status, "result": result, "error": error, "finished_at": utcnow()}
        if total_ms is not None:
            values["total_time_ms"] = total_ms
        with self.db.session() as session:
            done = session.execute(
                update(Execution)
                .where(
                    Execution.request_id == request_id,
                    Execution.robot_id == robot_id,
                    Execution.status.in_(REPORTABLE),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return done.rowcount == 1

    def _events(self, request_id: str) -> list[SafetyEventOut]:
        with self.db.session() as session:
            rows = session.scalars(
                select(SafetyEvent).where(SafetyEvent.request_id == request_id).order_by(SafetyEvent.id).limit(200)
            )
            return [SafetyEventOut.model_validate(e, from_attributes=True) for e in rows]


def _percentiles(samples: deque[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        # Nearest rank: the smallest sample with at least p of the samples at or below it.
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))], 3)

    return {"p50": rank(0.5), "p95": rank(0.95), "p99": rank(0.99), "max": round(ordered[-1], 3)}
