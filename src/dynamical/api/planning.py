"""From an invoke request to a ``SkillExecutionPlan`` for one robot: the modes of ``invoke_skill``.

- ``autonomous``: the orchestrator plans the task (L3–L7); with ``skill_ids`` the plan may use only those.
- ``blended``: as autonomous; the response reports the router's blend weights per step.
- ``sequential``: as autonomous, but every step waits for the one before (no parallel steps).
- ``direct``: run ``skill_ids`` in order with their default parameters; no language involved.

Planning reads the robot's own world snapshot (what its agent last reported), so the next plan
starts where the last one left things. L5 assigns among the robots the request allows (one, here).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dynamical.orchestration import (
    OrchestrationError,
    OrchestrationRequest,
    Orchestrator,
    PlanStep,
    RobotCapabilities,
    RobotLocation,
    RobotLocationTracker,
    SkillExecutionPlan,
    TaskRouter,
    WorldSnapshot,
    check_contract,
    get_orchestrator,
)
from dynamical.orchestration.assignment import AssignmentStrategy
from dynamical.orchestration.router import MoESkillRouter
from dynamical.orchestration.tiering import tier_of
from dynamical.orchestration.workspace import LocationAdaptiveSkillManager, WorkspaceRecord
from dynamical.orchestration.zone_check import TargetInZoneError, check_plan_zones
from dynamical.skills.errors import SkillParameterError
from dynamical.skills.manifest import SKILL_ID_PATTERN, SkillManifest

Role = Literal["independent", "leader", "follower", "observer", "assistant"]
Mode = Literal["autonomous", "direct", "blended", "sequential"]
# Printable text (tabs and newlines allowed) with at least one visible character.
_PRINTABLE = r"[^\x00-\x08\x0b-\x1f\x7f]"
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, pattern=rf"^{_PRINTABLE}*[^\s\x00-\x1f\x7f]{_PRINTABLE}*$"),
]
RobotId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
SkillIdText = Annotated[str, StringConstraints(pattern=SKILL_ID_PATTERN)]


class PlanningError(ValueError):
    """The request cannot become a plan; the message says why (422)."""


class PlanSpec(BaseModel):
    """What to plan: the planning part of an invoke request (and all of ``/skills/request``)."""

    model_config = ConfigDict(extra="forbid")
    robot_id: RobotId | None = Field(None, description="the robot to run it; by default any connected robot")
    role: Role = "independent"
    goal: Text | None = Field(None, description="what should be true afterwards, in words (used as the task)")
    task_description: Text | None = Field(None, description="what to do, in words")
    skill_ids: list[SkillIdText] | None = Field(None, max_length=32, description="skills to use (direct: to run)")
    coordination_id: RobotId | None = Field(None, description="groups steps of robots working together")
    mode: Mode = "autonomous"
    max_skills: int = Field(8, ge=1, le=32, description="refuse plans with more steps")

    @model_validator(mode="after")
    def _needs(self) -> PlanSpec:
        if self.mode == "direct" and not self.skill_ids:
            raise ValueError("mode 'direct' needs skill_ids")
        if self.mode != "direct" and self.task_description is None and self.goal is None:
            raise ValueError(f"mode {self.mode!r} needs a task_description or a goal")
        if self.role in ("leader", "follower") and self.coordination_id is None:
            raise ValueError(f"role {self.role!r} needs a coordination_id")
        return self

    @property
    def task(self) -> str:
        return self.task_description or self.goal or "direct: " + ", ".join(self.skill_ids or [])


class Planner:
    """Plans requests with the process's orchestrator (its router and decomposer are shared)."""

    def __init__(self, zones: Callable[[str | None], Sequence[Mapping[str, Any]]] | None = None) -> None:
        """``zones(robot_id)``: the keep-out zones that apply to the robot (definitions as stored);
        a plan whose target lies inside one is refused, naming it."""
        self.zones = zones
        self.base = get_orchestrator()
        # The router runs torch on one thread; planning one request at a time keeps each one's
        # latency flat on a small machine instead of sharing two cores among many.
        self._lock = threading.Lock()

    def use_learned(self, learned: Sequence[SkillManifest]) -> float:
        """Route the built-in skills plus ``learned`` (deployed learned skills) from now on; the
        seconds the router took to train. The process's shared orchestrator is left as it is: this
        planner gets its own router, over the same embedder, decomposer and world."""
        shared = get_orchestrator()
        if not learned:
            with self._lock:
                self.base = shared
            return 0.0
        builtin = [shared.router.manifest(i) for i in shared.router.skill_ids]
        ids = {m.id for m in builtin}
        router = MoESkillRouter(shared.router.embedder, [*builtin, *(m for m in learned if m.id not in ids)])
        # Planned for no robot in particular, the default robot may use them too.
        robots = [r.model_copy(update={"skills": r.skills | set(router.skill_ids)}) for r in shared.task_router.robots]
        orchestrator = Orchestrator(
            router=router,
            task_router=TaskRouter(robots, shared.task_router.tracker),
            workspaces=shared.workspaces,
            world=shared.world,
            decomposer=shared.decomposer,
            oracle=shared.oracle,
        )
        with self._lock:  # trained outside it: planning goes on meanwhile with the old vocabulary
            self.base = orchestrator
        return router.train_seconds

    def warm_up(self) -> None:
        """Load the embedding model and route once, so that the first request is not the slow one."""
        self.plan(PlanSpec(task_description="wave"), None, None, None)

    def plan(
        self, spec: PlanSpec, robot_id: str | None, embodiment: str | None, world: WorldSnapshot | None
    ) -> SkillExecutionPlan:
        """A plan of ``spec`` for ``robot_id`` (None: the orchestrator's default robot) in ``world``."""
        with self._lock:
            try:
                plan = (
                    self._direct(spec, robot_id, world)
                    if spec.mode == "direct"
                    else self._orchestrate(spec, robot_id, embodiment, world)
                )
            except OrchestrationError as exc:
                raise PlanningError(str(exc)) from None
        if len(plan.steps) > spec.max_skills:
            raise PlanningError(f"the plan needs {len(plan.steps)} skills, more than max_skills={spec.max_skills}")
        if spec.skill_ids and spec.mode != "direct":
            outside = sorted({s.skill_id for s in plan.steps} - set(spec.skill_ids))
            if outside:
                raise PlanningError(f"the task needs skills {outside}, which skill_ids does not allow")
        if self.zones is not None:
            try:
                check_plan_zones(plan, world or self.base.world, self.zones(robot_id))
            except TargetInZoneError as exc:
                raise PlanningError(str(exc)) from None
        return self._roles(spec, plan)

    def _orchestrator(self, robot_id: str | None, embodiment: str | None, world: WorldSnapshot | None) -> Orchestrator:
        if robot_id is None or world is None:
            return self.base
        # The same router and decomposer, with the one robot the request may use and its own world.
        skills = frozenset(self.base.router.skill_ids)
        robot = RobotCapabilities(robot_id=robot_id, embodiment=embodiment or _embodiment(self.base), skills=skills)
        location = RobotLocation(robot_id=robot_id, position=(0.0, 0.0, 0.0), workspace_id=world.world)
        return Orchestrator(
            router=self.base.router,
            task_router=TaskRouter([robot], RobotLocationTracker([location])),
            workspaces=LocationAdaptiveSkillManager([WorkspaceRecord.from_snapshot(world.world, world)]),
            world=world,
            decomposer=self.base.decomposer,
            oracle=self.base.oracle,
        )

    def _orchestrate(
        self, spec: PlanSpec, robot_id: str | None, embodiment: str | None, world: WorldSnapshot | None
    ) -> SkillExecutionPlan:
        orchestrator = self._orchestrator(robot_id, embodiment, world)
        plan = orchestrator.orchestrate(OrchestrationRequest(task_description=spec.task, world=world))
        if spec.mode == "sequential":
            steps, previous = [], None
            for step in plan.steps:
                steps.append(step.model_copy(update={"depends_on": [previous] if previous else []}))
                previous = step.step_id
            plan = plan.model_copy(update={"steps": steps})
        return plan

    def _direct(self, spec: PlanSpec, robot_id: str | None, world: WorldSnapshot | None) -> SkillExecutionPlan:
        world = world or self.base.world
        robot = robot_id or next((r.robot_id for r in self.base.task_router.robots), "robot")
        manifests, bound = [], []
        for skill_id in spec.skill_ids or []:
            try:
                manifest = self.base.router.manifest(skill_id)
            except KeyError:
                raise PlanningError(f"no skill {skill_id!r} is routable here") from None
            try:
                params = manifest.validate_parameters({})
            except SkillParameterError as exc:
                raise PlanningError(
                    f"skill {skill_id} needs parameters ({exc}); use mode 'autonomous' with a task_description"
                ) from None
            manifests.append(manifest)
            bound.append((manifest, params))
        assumptions = check_contract(bound, world, self.base.oracle)
        steps = [
            PlanStep(
                step_id=f"s{i + 1}",
                text=manifest.id,
                source="direct",
                skill_id=manifest.id,
                skill_version=manifest.version,
                parameters=params,
                skill_ids=[manifest.id],
                weights=[1.0],
                confidence=1.0,
                robot_id=robot,
                workspace_id=world.world,
                tier=tier_of(manifest, False),
                depends_on=[f"s{i}"] if i else [],
            )
            for i, (manifest, params) in enumerate(bound)
        ]
        return SkillExecutionPlan(
            plan_id=uuid.uuid4().hex,
            task=spec.task,
            decomposer="parser",
            strategy=AssignmentStrategy.NEAREST,
            robots=[robot],
            steps=steps,
            assumptions=assumptions,
            notes=["direct: the caller named the skills; nothing was decomposed or routed"],
        )

    @staticmethod
    def _roles(spec: PlanSpec, plan: SkillExecutionPlan) -> SkillExecutionPlan:
        if spec.role == "independent":
            return plan
        steps = []
        for step in plan.steps:
            steps.append(step.model_copy(update={"role": spec.role, "coordination_id": spec.coordination_id}))
        return plan.model_copy(update={"steps": steps})


def _embodiment(orchestrator: Orchestrator) -> str:
    robots = list(orchestrator.task_router.robots)
    return robots[0].embodiment if robots else ""
