"""Run one skill by id: check its preconditions, play it through the executor at 200 Hz into the
safety kernel, check its postconditions, and say what happened.

A ``SkillRunner`` runs on a ``SkillHost``: the link to tier 0, the clock, the control period, a
world model and the driver audit. ``lockstep_host`` makes one of a ``LockstepRuntime`` (the
path evaluation and the one-process demo take, and the only one ``run`` can step); the realtime
robot agent makes one of the realtime process's channels and steps the executor from its own
200 Hz control thread (``start``, ``control_tick``, ``finish``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.runtime.channels import EventRecord
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.audit import audit_commands
from dynamical.safety.rules import Rule
from dynamical.skills.artifact import SkillArtifact
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.errors import SkillParameterError, SkillsError, UnknownSkillError
from dynamical.skills.executor import Executor, PolicySkill
from dynamical.skills.manifest import Predicate, SkillManifest
from dynamical.skills.predicates import check
from dynamical.skills.world_model import SimWorldModel, WorldModel

FailureCause = Literal["precondition", "plan", "skill", "timeout", "postcondition", "safety"]
SETTLE_AFTER_S = 0.5
"""s the robot holds still after a skill before its postconditions are checked (objects settle)."""
TIMEOUT_FACTOR = 3.0
"""A skill may take this many times its planned duration (plus 2 s) before it is timed out."""
START_ATTEMPTS = 10
"""Plans made before a start gives up waiting for the executor's hold to stop moving (see ``start``)."""
POLICY_LOADER = "dynamical.learning.onnx_policy:load_policy_skill"
"""What builds a learned skill from its artifact (the learning package sits above skills/: it is
imported by name, as scripted skills' entry points are)."""

RunnableSkill = ScriptedSkill | PolicySkill
"""What the runner hands the executor: a scripted skill, or a learned one (a ``PolicySkill``
with ``params``, ``latencies_ms`` and ``close()``)."""
ArtifactSource = Callable[[SkillManifest], SkillArtifact]
"""A learned skill's verified artifact for its manifest (e.g. from a ``SkillRegistry``)."""


class PreconditionError(SkillsError):
    """A skill's precondition does not hold; the message names the predicate and why."""


class PredicateOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    predicate: str
    holds: bool
    detail: str


class PhaseSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    duration_s: float
    hands: dict[str, list[float]]
    """Side → the grasp site's planned position at the phase's end, m (the driven hands only)."""


class TrajectorySummary(BaseModel):
    """What a scripted skill commanded, in a few numbers: its phases and where the hands went."""

    model_config = ConfigDict(frozen=True)

    groups: list[str]
    """The joint groups it drove."""
    duration_s: float
    joint_travel_rad: float
    """Sum over driven joints of the distance each travels along the plan."""
    peak_joint_speed_rad_s: float
    """The fastest any driven joint is asked to move (sampled from each phase's timed path)."""
    hand_path_m: dict[str, float]
    """Side → length of its grasp site's path through the phase ends, m."""
    phases: list[PhaseSummary]


def summarize_plan(
    plan: MotionPlan, groups: Sequence[str], world: WorldModel, kinematics: Kinematics
) -> TrajectorySummary:
    """The summary of ``plan`` (the skill's joint-space phases) for the joints of ``groups``."""
    description = plan.description
    driven = np.concatenate([description.group_indices(g) for g in groups])
    sides = [side for side in ("left", "right") if f"arm_{side}" in groups]
    previous, travel, peak = plan.start, 0.0, 0.0
    phases: list[PhaseSummary] = []
    path = {side: 0.0 for side in sides}
    last = {side: kinematics.site_pose(plan.start, world.grasp_site(side)).pos for side in sides}
    for phase in plan.phases:
        points = np.vstack([previous[None, :], phase.points])[:, driven]
        moved = np.abs(np.diff(points, axis=0)).sum(axis=0)
        travel += float(moved.sum())
        peak = max(peak, float(np.abs(phase.path.sample()[2][:, driven]).max(initial=0.0)))
        hands = {}
        for side in sides:
            pos = kinematics.site_pose(phase.points[-1], world.grasp_site(side)).pos
            path[side] += float(np.linalg.norm(pos - last[side]))
            last[side] = pos
            hands[side] = [round(float(x), 4) for x in pos]
        phases.append(PhaseSummary(name=phase.name, duration_s=round(phase.duration, 3), hands=hands))
        previous = phase.points[-1]
    return TrajectorySummary(
        groups=list(groups),
        duration_s=round(plan.duration, 3),
        joint_travel_rad=round(travel, 4),
        peak_joint_speed_rad_s=round(peak, 4),
        hand_path_m={side: round(length, 4) for side, length in path.items()},
        phases=phases,
    )


class SkillOutcome(BaseModel):
    """The result of one skill run (or one refusal)."""

    model_config = ConfigDict(frozen=True)

    skill: str
    params: dict[str, Any]
    """The parameters after the skill made its choices (side, object)."""
    success: bool
    failure: str | None = None
    cause: FailureCause | None = None
    duration_s: float = 0.0
    """s on the host's clock from start to the end of the run (0 when refused): simulated time
    in lock-step, wall-clock time on the realtime robot."""
    planned_s: float = 0.0
    interventions: int = 0
    """Safety kernel interventions during the run."""
    hard_limit_holds: int = 0
    """Times the kernel's independent check had to replace a command by a hold."""
    driver_violations: int = 0
    """Commands over a joint limit that reached the driver (the audit of what it received: in
    lock-step over the driver's own record, on the realtime robot the realtime process's running
    audit)."""
    postconditions: list[PredicateOutcome] = []
    trajectory: TrajectorySummary | None = None
    """What the skill commanded (None when it was refused before it moved, and for learned
    skills, whose motion is not planned ahead)."""
    inference_ms: list[float] = []
    """A learned skill's policy graph runs, wall-clock ms each (one per action chunk)."""


@dataclass(frozen=True)
class SkillHost:
    """Where skills run: what a ``SkillRunner`` needs of a robot, whichever scheduler steps it."""

    description: RobotDescription
    link: ExecutiveLink
    now: Callable[[], float]
    """s, the clock skills are timed on (the executor's ``tick`` gets times on it)."""
    control_period: float
    """s between two control ticks."""
    world: WorldModel
    driver_violations: Callable[[], int]
    """Commands over a limit the driver has received since the robot started (lifetime count)."""


def lockstep_host(runtime: LockstepRuntime) -> SkillHost:
    """The host of a lock-step runtime: simulated time, the simulator as the world, and the audit
    of every command the simulated driver recorded."""

    def driver_violations() -> int:
        # Over the whole stream each time: an acceleration needs the command before.
        rows = [c for _, c, power in runtime.received if power]
        if not rows:
            return 0
        q = np.array([c.q for c in rows])
        dq = np.array([c.dq for c in rows])
        tau = np.array([c.tau for c in rows])
        return audit_commands(runtime.description, q, dq, tau, runtime.clock.period).violations

    return SkillHost(
        description=runtime.description,
        link=runtime.link,
        now=lambda: runtime.time,
        control_period=runtime.control_period,
        world=SimWorldModel(runtime.observer(), runtime.description),
        driver_violations=driver_violations,
    )


@dataclass(frozen=True)
class PlannedSkill:
    """A skill checked and planned, not handed to the executor yet."""

    manifest: SkillManifest
    skill: RunnableSkill
    planned_s: float
    timeout_s: float
    q_start: np.ndarray
    """(n,) the joint targets the plan starts from."""


@dataclass(frozen=True)
class StartedSkill:
    """A skill handed to the executor, waiting for ``SkillRunner.finish``."""

    manifest: SkillManifest
    skill: RunnableSkill
    planned_s: float
    t0: float
    """s, the host's clock at the start."""
    events_before: int


def builtin_catalog() -> dict[str, SkillManifest]:
    return {m.id: m for m in builtin_manifests()}


def load_scripted(
    manifest: SkillManifest, world: WorldModel, kinematics: Kinematics, params: dict[str, Any]
) -> ScriptedSkill:
    """The scripted skill behind ``manifest.entry_point``, built with validated ``params``."""
    if manifest.entry_point is None:
        raise SkillsError(f"skill {manifest.id!r} is a {manifest.kind} skill; it has no scripted entry point")
    module_name, _, attr = manifest.entry_point.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    skill = factory(world, kinematics, manifest.validate_parameters(params))
    if not isinstance(skill, ScriptedSkill):
        raise SkillsError(f"{manifest.entry_point} did not build a scripted skill")
    return skill


PLANNING_MODULES = ("toppra", "toppra.algorithm", "toppra.constraint")
"""What planning imports on first use (motion timing): seconds of imports whose C extensions
hold the interpreter lock while they load."""


def warm_up(catalog: dict[str, SkillManifest]) -> None:
    """Import every scripted skill's module and what planning loads lazily, now: a first plan
    that imported them beside a running control thread would starve it for a second or more."""
    for manifest in catalog.values():
        if manifest.entry_point is not None:
            importlib.import_module(manifest.entry_point.partition(":")[0])
        elif manifest.policy_format is not None:
            importlib.import_module(POLICY_LOADER.partition(":")[0])
            importlib.import_module("onnxruntime")
    for name in PLANNING_MODULES:
        with suppress(ImportError):  # not every planner needs them
            importlib.import_module(name)


def bind_all(predicates: list[Predicate], params: dict[str, Any]) -> list[Predicate]:
    return [p.bind(params) for p in predicates]


class SkillRunner:
    """Runs skills one after another on one robot (one episode, one world)."""

    def __init__(
        self,
        host: LockstepRuntime | SkillHost,
        kinematics: Kinematics,
        catalog: dict[str, SkillManifest] | None = None,
        artifacts: ArtifactSource | None = None,
        cameras: Callable[[str], np.ndarray] | None = None,
    ) -> None:
        """``host``: a ``SkillHost``, or a ``LockstepRuntime`` (its ``lockstep_host``).
        ``artifacts``: where learned skills of the catalog come from (None: scripted skills
        only). ``cameras``: camera name → latest frame (H, W, 3) uint8, for policies that see."""
        self.artifacts = artifacts
        self.cameras = cameras
        self.runtime: LockstepRuntime | None = host if isinstance(host, LockstepRuntime) else None
        """The lock-step runtime ``run`` steps; None on a host stepped by someone else."""
        self.host = lockstep_host(host) if isinstance(host, LockstepRuntime) else host
        self.kinematics = kinematics
        self.catalog = catalog if catalog is not None else builtin_catalog()
        self.world = self.host.world
        self.executor = Executor(self.host.link, self.host.description, self.host.control_period)
        self.events: list[EventRecord] = []
        """Every safety event the kernel raised while this runner ran skills (the link hands each
        event out once: this is where they are kept)."""
        self.watchers: list[Callable[[float], None]] = []
        """Called after every control tick with the time (s): recorders, progress displays."""
        self.launch_listeners: list[Callable[[str, TrajectorySummary], None]] = []
        """Called with the skill id and its planned motion when ``start`` hands a skill to the
        executor (outside the executor's lock): viewers draw the planned hand path."""
        # Violations from before this runner (another episode's) are not its skills' doing.
        self._audited = self.host.driver_violations()

    def prepare(self, skill_id: str, params: dict[str, Any]) -> tuple[SkillManifest, RunnableSkill]:
        """The skill built, its choices made and its preconditions checked.

        Raises UnknownSkillError, SkillParameterError, SkillPlanError or PreconditionError."""
        manifest = self.catalog.get(skill_id)
        if manifest is None:
            raise UnknownSkillError(f"no skill {skill_id!r}; known: {sorted(self.catalog)}")
        skill: RunnableSkill
        if manifest.kind == "scripted":
            skill = load_scripted(manifest, self.world, self.kinematics, params)
            resolved = skill.resolve()
        else:
            resolved = manifest.validate_parameters(params)
            skill = self._load_learned(manifest, resolved)
        for predicate in bind_all(manifest.preconditions, resolved):
            result = check(predicate, self.world, self.kinematics)
            if not result.holds:
                raise PreconditionError(f"{skill_id}: precondition {predicate} does not hold: {result.detail}")
        return manifest, skill

    def run(self, skill_id: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> SkillOutcome:
        """Start ``skill_id``, step the lock-step runtime until it ends and the robot settles, and
        say how it went. A refusal (unknown parameters, no plan, a precondition) moves nothing."""
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("run() steps a lock-step runtime; this runner's host is stepped by its own control loop")
        started = self.start(skill_id, params, timeout_s)
        if isinstance(started, SkillOutcome):
            return started
        period = self.host.control_period
        while self.executor.running:
            runtime.run(period, self._control)
        runtime.run(SETTLE_AFTER_S, self._control)
        return self.finish(started)

    def plan(
        self,
        skill_id: str,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        q_start: np.ndarray | None = None,
    ) -> PlannedSkill | SkillOutcome:
        """Check and plan ``skill_id`` from ``q_start`` (n,) (default: the target the executor
        holds). Moves nothing and leaves the executor alone, so it may run beside a control loop
        that ticks it. A refusal comes back as an outcome with a cause."""
        params = dict(params or {})
        q0 = self._hold_target() if q_start is None else np.asarray(q_start, dtype=float).copy()
        try:
            manifest, skill = self.prepare(skill_id, params)
            # A learned skill plans nothing ahead: it runs for its nominal duration.
            duration = skill.prepare(q0).duration if isinstance(skill, ScriptedSkill) else manifest.nominal_duration_s
        except PreconditionError as exc:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause="precondition")
        except (SkillPlanError, SkillParameterError) as exc:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause="plan")
        timeout = timeout_s if timeout_s is not None else TIMEOUT_FACTOR * duration + 2.0
        return PlannedSkill(manifest=manifest, skill=skill, planned_s=duration, timeout_s=timeout, q_start=q0)

    def _load_learned(self, manifest: SkillManifest, params: dict[str, Any]) -> PolicySkill:
        """The executor skill of learned ``manifest`` (its artifact verified again on load)."""
        if self.artifacts is None:
            raise SkillPlanError(
                f"{manifest.id} is a learned ({manifest.kind}) skill and this runner loads no artifacts"
            )
        if manifest.policy_format is None:
            raise SkillPlanError(f"{manifest.id} carries safetensors weights only; the executor runs ONNX policies")
        module_name, _, attr = POLICY_LOADER.partition(":")
        loader = getattr(importlib.import_module(module_name), attr)
        try:
            skill = loader(
                self.artifacts(manifest),
                self.host.description,
                self.world,
                params,
                lockstep=self.runtime is not None,
                cameras=self.cameras,
                camera_rig=self.runtime.camera_rig if self.runtime is not None else None,
            )
        except SkillsError as exc:
            raise SkillPlanError(f"{manifest.id}: {exc}") from None
        if not isinstance(skill, PolicySkill):
            raise SkillsError(f"{POLICY_LOADER} did not build a policy skill")
        return skill

    def launch(self, planned: PlannedSkill) -> StartedSkill:
        """Hand a planned skill to the executor (it moves from the next control tick on)."""
        self._drain()
        started = StartedSkill(
            manifest=planned.manifest,
            skill=planned.skill,
            planned_s=planned.planned_s,
            t0=self.host.now(),
            events_before=len(self.events),
        )
        self.executor.run(planned.skill, planned.timeout_s)
        return started

    def start(
        self,
        skill_id: str,
        params: dict[str, Any] | None = None,
        timeout_s: float | None = None,
        lock: AbstractContextManager[Any] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> StartedSkill | SkillOutcome:
        """Check, plan and hand ``skill_id`` to the executor; the caller steps the robot (``run``
        does, or an agent's control loop) and then calls ``finish``. A refusal comes back as an
        outcome with a cause.

        ``lock`` guards the executor against a control loop ticking it from another thread: it is
        held to read the executor's hold and to launch, never while planning (IK takes tens of
        ms, longer than the watchdog lets a control loop pause). Should the hold move while the
        plan was made (a stopping robot settling), the skill is planned again from the new hold;
        ``cancelled()`` true between two plans ends the start with a cancelled outcome."""
        guard = lock if lock is not None else nullcontext()
        for attempt in range(START_ATTEMPTS):
            if attempt and cancelled is not None and cancelled():
                # A cancel between two plans (each may take seconds on a loaded machine) ends
                # the start here rather than after every attempt left.
                resolved = dict(params or {})
                return SkillOutcome(skill=skill_id, params=resolved, success=False, failure="cancelled", cause="skill")
            with guard:
                q0 = self._hold_target()
            planned = self.plan(skill_id, params, timeout_s, q0)
            if isinstance(planned, SkillOutcome):
                return planned
            started = None
            with guard:
                # Past the last attempt the executor re-plans from its hold itself, under the lock.
                if attempt == START_ATTEMPTS - 1 or np.allclose(self._hold_target(), q0, atol=1e-6, rtol=0.0):
                    started = self.launch(planned)
            if started is not None:
                if self.launch_listeners and isinstance(started.skill, ScriptedSkill):
                    summary = summarize_plan(started.skill.planned, started.skill.groups, self.world, self.kinematics)
                    for listener in self.launch_listeners:
                        listener(started.manifest.id, summary)
                return started
            time.sleep(self.host.control_period)
        raise AssertionError("unreachable: the last attempt launches")

    def finish(self, started: StartedSkill, lock: AbstractContextManager[Any] | None = None) -> SkillOutcome:
        """The outcome of a started skill once the executor is done with it.

        ``lock`` (the one ``start`` took) is held only to read the executor's report and the new
        events: the postconditions, the audit and the summary (kinematics, tens of ms on a busy
        machine) run outside it, so a control loop waiting for it is never held up by them."""
        with lock if lock is not None else nullcontext():
            if self.executor.running:
                raise RuntimeError(f"{started.manifest.id} is still running")
            report = self.executor.history[-1]
            self._drain()
            events = self.events[started.events_before :]
        skill = started.skill
        inference_ms: list[float] = []
        if not isinstance(skill, ScriptedSkill):
            skill.close()  # type: ignore[attr-defined]
            inference_ms = list(skill.latencies_ms)  # type: ignore[attr-defined]
        resolved = dict(skill.params)  # type: ignore[union-attr]
        holds = sum(1 for e in events if e.rule == Rule.HARD_LIMIT_HOLD)
        post = [
            PredicateOutcome(predicate=str(p), holds=r.holds, detail=r.detail)
            for p in bind_all(started.manifest.postconditions, resolved)
            for r in [check(p, self.world, self.kinematics)]
        ]
        violations = self._audit()
        failure, cause = None, None
        if report.status == "timed_out":
            failure, cause = report.failure, "timeout"
        elif report.status != "succeeded":
            failure, cause = report.failure or report.status, "skill"
        elif violations or holds:
            failure, cause = (
                f"{violations} commands over a limit reached the driver, {holds} hard-limit holds",
                "safety",
            )
        elif not all(p.holds for p in post):
            broken = next(p for p in post if not p.holds)
            failure, cause = f"postcondition {broken.predicate} does not hold: {broken.detail}", "postcondition"
        return SkillOutcome(
            skill=started.manifest.id,
            params=resolved,
            success=failure is None,
            failure=failure,
            cause=cause,
            duration_s=self.host.now() - started.t0,
            planned_s=started.planned_s,
            interventions=report.interventions,
            hard_limit_holds=holds,
            driver_violations=violations,
            postconditions=post,
            trajectory=summarize_plan(skill.planned, skill.groups, self.world, self.kinematics)
            if isinstance(skill, ScriptedSkill)
            else None,
            inference_ms=inference_ms,
        )

    def control_tick(self, t: float) -> None:
        """One control tick at ``t`` (s, the host's clock): the executor, then the watchers."""
        self.executor.tick(t)
        for watcher in self.watchers:
            watcher(t)

    def _drain(self) -> None:
        self.events.extend(self.host.link.events())

    def _control(self, t: float, link: object) -> None:
        self.control_tick(t)

    def _hold_target(self) -> np.ndarray:
        """(n,) where the next skill starts from: the executor's last target, else the measured
        joints, else (nothing measured yet) the rest pose."""
        if self.executor.last_command is not None:
            return self.executor.last_command.copy()
        state = self.host.link.state()
        return state.q.copy() if state is not None else self.host.description.home.copy()

    def _audit(self) -> int:
        """Limit violations among the driver's commands since the last audit."""
        total = self.host.driver_violations()
        new, self._audited = total - self._audited, total
        return new
