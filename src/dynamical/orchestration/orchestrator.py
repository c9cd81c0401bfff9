"""The orchestrator: L3 decompose → L4 route → contract → L5 assign → L6 adapt → L7 tier → plan.

``get_orchestrator().orchestrate(OrchestrationRequest(task_description=...))`` returns a
``SkillExecutionPlan``; nothing is executed. The plan runner takes each step's ``skill_id`` and
``parameters`` (validated against the skill's schema) in the order ``depends_on`` allows.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dynamical.orchestration.assignment import AssignmentStrategy, TaskRequirement, TaskRouter
from dynamical.orchestration.contract import GeometricOracle, check_contract
from dynamical.orchestration.decomposer import Decomposition, TaskDecomposer
from dynamical.orchestration.embedding import SentenceEmbedder, get_embedder
from dynamical.orchestration.errors import NoCapableRobotError, NoSkillMatchError, SkillBindingError
from dynamical.orchestration.fleet import RobotCapabilities, RobotLocation, RobotLocationTracker
from dynamical.orchestration.parser import ParserDecomposer
from dynamical.orchestration.plan import OrchestrationRequest, PlanStep, SkillExecutionPlan
from dynamical.orchestration.router import MoESkillRouter, RouteResult
from dynamical.orchestration.tiering import TierInput, dependencies, tier_of
from dynamical.orchestration.workspace import LocationAdaptiveSkillManager, WorkspaceRecord
from dynamical.orchestration.world import WorldSnapshot, default_world_snapshot
from dynamical.skills.errors import SkillParameterError
from dynamical.skills.manifest import SkillManifest

DEFAULT_ROBOT = "humanoid-1"


@dataclass
class _Bound:
    """One decomposed step, routed and with its skill's parameters."""

    text: str
    source: str
    route: RouteResult
    manifest: SkillManifest
    params: dict[str, Any]


class Orchestrator:
    def __init__(
        self,
        router: MoESkillRouter,
        task_router: TaskRouter,
        workspaces: LocationAdaptiveSkillManager,
        world: WorldSnapshot,
        decomposer: TaskDecomposer | None = None,
        oracle: GeometricOracle | None = None,
    ) -> None:
        self.router = router
        self.task_router = task_router
        self.workspaces = workspaces
        self.world = world
        self.decomposer = decomposer or ParserDecomposer()
        self.oracle = oracle

    def register_skill(self, manifest: SkillManifest) -> float:
        """Make a skill routable; returns the seconds the router took to retrain."""
        return self.router.register(manifest)

    def orchestrate(self, request: OrchestrationRequest) -> SkillExecutionPlan:
        world = request.world or self.world
        timings: dict[str, float] = {}
        decomposition, bound, assumptions = self._prepare(request.task_description, world, timings)
        requirement = self._requirement("task", bound, world, request.target_position)
        start = time.perf_counter()
        leader = self.task_router.assign(requirement, request.assignment_strategy).robot_id
        followers = self._followers(requirement, leader, request.robot_count - 1)
        timings["assign"] = _ms(start)
        return self._plan(
            request.task_description,
            [(decomposition, bound, [leader, *followers])],
            world,
            request.assignment_strategy,
            assumptions,
            timings,
        )

    def orchestrate_many(self, requests: list[OrchestrationRequest]) -> SkillExecutionPlan:
        """Several tasks at once (OPTIMAL assignment over all of them): one plan whose DAG lets
        different robots work in parallel. Each task is done by one robot."""
        world = self.world
        timings: dict[str, float] = {}
        prepared, requirements, assumptions = [], [], []
        for i, request in enumerate(requests):
            decomposition, bound, more = self._prepare(request.task_description, request.world or world, timings)
            prepared.append((decomposition, bound))
            requirements.append(self._requirement(f"task {i + 1}", bound, world, request.target_position))
            assumptions += more
        start = time.perf_counter()
        robots = [a.robot_id for a in self.task_router.assign_many(requirements)]
        timings["assign"] = _ms(start)
        tasks = [(d, b, [r]) for (d, b), r in zip(prepared, robots, strict=True)]
        task_text = " | ".join(r.task_description for r in requests)
        return self._plan(task_text, tasks, world, AssignmentStrategy.OPTIMAL, assumptions, timings)

    # -- layers -----------------------------------------------------------------------------

    def _prepare(
        self, task: str, world: WorldSnapshot, timings: dict[str, float]
    ) -> tuple[Decomposition, list[_Bound], list[str]]:
        start = time.perf_counter()
        decomposition = self.decomposer.decompose(task, world)
        timings["decompose"] = timings.get("decompose", 0.0) + _ms(start)
        start = time.perf_counter()
        routes = self.router.route_many([s.text for s in decomposition.steps])
        bound = []
        for step, route in zip(decomposition.steps, routes, strict=True):
            if not route.matched:
                raise NoSkillMatchError(self.router.explain_no_match(route))
            manifest = self.router.manifest(route.skill_id)
            props = manifest.parameters_schema.get("properties", {})
            given = {k: v for k, v in step.args.items() if k in props}
            try:
                params = manifest.validate_parameters(given)
            except SkillParameterError as exc:
                raise SkillBindingError(f"step {step.text!r} is the skill {manifest.id}, but {exc}") from None
            bound.append(_Bound(step.text, step.source, route, manifest, params))
        timings["route"] = timings.get("route", 0.0) + _ms(start)
        start = time.perf_counter()
        assumptions = check_contract([(b.manifest, b.params) for b in bound], world, self.oracle)
        timings["contract"] = timings.get("contract", 0.0) + _ms(start)
        return decomposition, bound, assumptions

    @staticmethod
    def _requirement(task_id: str, bound: list[_Bound], world: WorldSnapshot, target) -> TaskRequirement:
        if target is None:
            names = set(world.object_names)
            obj = next((b.params["obj"] for b in bound if b.params.get("obj") in names), None)
            target = world.object(obj).position if obj is not None else None
        return TaskRequirement(
            task_id=task_id,
            skill_ids=frozenset(b.manifest.id for b in bound),
            embodiments=frozenset(b.manifest.embodiment for b in bound),
            target_position=target,
        )

    def _followers(self, requirement: TaskRequirement, leader: str, count: int) -> list[str]:
        if count == 0:
            return []
        others = [r for r in self.task_router.capable(requirement) if r.robot_id != leader and not r.busy]
        others.sort(key=lambda r: (self.task_router.cost(r, requirement), r.robot_id))
        if len(others) < count:
            raise NoCapableRobotError(
                f"the task needs {count + 1} robots together, but only {len(others) + 1} idle ones can do it"
            )
        return [r.robot_id for r in others[:count]]

    def _plan(
        self,
        task: str,
        tasks: list[tuple[Decomposition, list[_Bound], list[str]]],
        world: WorldSnapshot,
        strategy: AssignmentStrategy,
        assumptions: list[str],
        timings: dict[str, float],
    ) -> SkillExecutionPlan:
        start = time.perf_counter()
        drafts: list[dict[str, Any]] = []
        coordination = 0
        for _decomposition, bound, robots in tasks:
            leader, followers = robots[0], robots[1:]
            for i, step in enumerate(bound):
                destination = next((b.params.get("surface") for b in bound[i + 1 :] if "surface" in b.params), None)
                followable = bool(followers) and "follower" in step.manifest.roles
                coordination_id = None
                if followable:
                    coordination += 1
                    coordination_id = f"c{coordination}"
                leader_id = f"s{len(drafts) + 1}"
                for robot_id in [leader, *(followers if followable else [])]:
                    role = "independent"
                    if followable and robot_id != leader:
                        role = "follower"
                    elif followable and "leader" in step.manifest.roles:
                        role = "leader"
                    workspace_id = self._workspace_of(robot_id, world)
                    params, location = self.workspaces.adapt(
                        step.manifest, step.params, workspace_id, world, destination
                    )
                    drafts.append(
                        dict(
                            step_id=f"s{len(drafts) + 1}",
                            bound=step,
                            params=params,
                            location=location,
                            robot_id=robot_id,
                            workspace_id=workspace_id,
                            role=role,
                            coordination_id=coordination_id,
                            leader=leader_id if role == "follower" else None,
                        )
                    )
        timings["adapt"] = _ms(start)
        start = time.perf_counter()
        deps = dependencies(
            [
                TierInput(
                    step_id=d["step_id"],
                    robot_id=d["robot_id"],
                    things=frozenset(str(v) for k, v in d["params"].items() if k in ("obj", "surface", "target")),
                    leader=d["leader"],
                )
                for d in drafts
            ]
        )
        steps = [
            PlanStep(
                step_id=d["step_id"],
                text=d["bound"].text,
                source=d["bound"].source,
                skill_id=d["bound"].manifest.id,
                skill_version=d["bound"].manifest.version,
                parameters=d["params"],
                skill_ids=d["bound"].route.skill_ids,
                weights=[round(w, 4) for w in d["bound"].route.weights],
                confidence=round(d["bound"].route.confidence, 4),
                robot_id=d["robot_id"],
                workspace_id=d["workspace_id"],
                role=d["role"],
                coordination_id=d["coordination_id"],
                location_params=d["location"],
                tier=tier_of(d["bound"].manifest, d["coordination_id"] is not None),
                depends_on=deps[d["step_id"]],
            )
            for d in drafts
        ]
        timings["tier"] = _ms(start)
        return SkillExecutionPlan(
            plan_id=uuid.uuid4().hex,
            task=task,
            decomposer=tasks[0][0].backend,
            strategy=strategy,
            robots=list(dict.fromkeys(s.robot_id for s in steps)),
            steps=steps,
            assumptions=assumptions,
            notes=[n for d, _, _ in tasks for n in d.notes],
            timings_ms={k: round(v, 3) for k, v in timings.items()},
        )

    def _workspace_of(self, robot_id: str, world: WorldSnapshot) -> str:
        location = self.task_router.tracker.get(robot_id)
        return location.workspace_id if location is not None else world.world


def build_orchestrator(
    manifests: Iterable[SkillManifest],
    robots: list[RobotCapabilities],
    locations: list[RobotLocation],
    world: WorldSnapshot,
    workspaces: list[WorkspaceRecord] | None = None,
    embedder: SentenceEmbedder | None = None,
    decomposer: TaskDecomposer | None = None,
    oracle: GeometricOracle | None = None,
) -> Orchestrator:
    """An orchestrator over given skills and robots; workspaces default to one built from ``world``
    for every workspace id the locations name."""
    if workspaces is None:
        ids = {loc.workspace_id for loc in locations} | {world.world}
        workspaces = [WorkspaceRecord.from_snapshot(i, world) for i in sorted(ids)]
    return Orchestrator(
        router=MoESkillRouter(embedder or get_embedder(), manifests),
        task_router=TaskRouter(robots, RobotLocationTracker(locations)),
        workspaces=LocationAdaptiveSkillManager(workspaces),
        world=world,
        decomposer=decomposer,
        oracle=oracle,
    )


@lru_cache(maxsize=1)
def get_orchestrator() -> Orchestrator:
    """The process's orchestrator: the built-in skills, one humanoid at the origin of the tabletop world."""
    from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests

    manifests = builtin_manifests()
    world = default_world_snapshot()
    robot = RobotCapabilities(robot_id=DEFAULT_ROBOT, embodiment=EMBODIMENT, skills=frozenset(m.id for m in manifests))
    location = RobotLocation(robot_id=DEFAULT_ROBOT, position=(0.0, 0.0, 0.0), workspace_id=world.world)
    return build_orchestrator(manifests, [robot], [location], world)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3
