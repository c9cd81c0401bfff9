"""Run one skill by id on a lock-step simulated robot: check its preconditions, play it through
the executor at 200 Hz into the safety kernel, check its postconditions, and say what happened.

This is the path that evaluation and the one-process demo take; the robot agent runs the same
executor against the realtime process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.robot.kinematics import Kinematics
from dynamical.runtime.channels import EventRecord
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.audit import audit_commands
from dynamical.safety.rules import Rule
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.builtin.scripted import ScriptedSkill, SkillPlanError
from dynamical.skills.errors import SkillParameterError, SkillsError, UnknownSkillError
from dynamical.skills.executor import Executor
from dynamical.skills.manifest import Predicate, SkillManifest
from dynamical.skills.predicates import check
from dynamical.skills.world_model import SimWorldModel, WorldModel

FailureCause = Literal["precondition", "plan", "skill", "timeout", "postcondition", "safety"]
SETTLE_AFTER_S = 0.5
"""s the robot holds still after a skill before its postconditions are checked (objects settle)."""
TIMEOUT_FACTOR = 3.0
"""A skill may take this many times its planned duration (plus 2 s) before it is timed out."""


class PreconditionError(SkillsError):
    """A skill's precondition does not hold; the message names the predicate and why."""


class PredicateOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    predicate: str
    holds: bool
    detail: str


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
    """s of simulated time from start to the end of the run (0 when refused)."""
    planned_s: float = 0.0
    interventions: int = 0
    """Safety kernel interventions during the run."""
    hard_limit_holds: int = 0
    """Times the kernel's independent check had to replace a command by a hold."""
    driver_violations: int = 0
    """Commands over a joint limit that reached the driver (the audit of what it received)."""
    postconditions: list[PredicateOutcome] = []


@dataclass(frozen=True)
class StartedSkill:
    """A skill handed to the executor, waiting for ``SkillRunner.finish``."""

    manifest: SkillManifest
    skill: ScriptedSkill
    planned_s: float
    t0: float
    """s, simulated time at the start."""
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


def bind_all(predicates: list[Predicate], params: dict[str, Any]) -> list[Predicate]:
    return [p.bind(params) for p in predicates]


class SkillRunner:
    """Runs skills one after another on one lock-step runtime (one episode, one world)."""

    def __init__(
        self,
        runtime: LockstepRuntime,
        kinematics: Kinematics,
        catalog: dict[str, SkillManifest] | None = None,
    ) -> None:
        self.runtime = runtime
        self.kinematics = kinematics
        self.catalog = catalog if catalog is not None else builtin_catalog()
        self.world = SimWorldModel(runtime.observer(), runtime.description)
        self.executor = Executor(runtime.link, runtime.description, runtime.control_period)
        self.events: list[EventRecord] = []
        """Every safety event the kernel raised while this runner ran skills (the link hands each
        event out once: this is where they are kept)."""
        self.watchers: list[Callable[[float], None]] = []
        """Called after every control tick with the time (s): recorders, progress displays."""
        self._audited = 0

    def prepare(self, skill_id: str, params: dict[str, Any]) -> tuple[SkillManifest, ScriptedSkill]:
        """The skill built, its choices made and its preconditions checked.

        Raises UnknownSkillError, SkillParameterError, SkillPlanError or PreconditionError."""
        manifest = self.catalog.get(skill_id)
        if manifest is None:
            raise UnknownSkillError(f"no skill {skill_id!r}; known: {sorted(self.catalog)}")
        skill = load_scripted(manifest, self.world, self.kinematics, params)
        resolved = skill.resolve()
        for predicate in bind_all(manifest.preconditions, resolved):
            result = check(predicate, self.world, self.kinematics)
            if not result.holds:
                raise PreconditionError(f"{skill_id}: precondition {predicate} does not hold: {result.detail}")
        return manifest, skill

    def run(self, skill_id: str, params: dict[str, Any] | None = None, timeout_s: float | None = None) -> SkillOutcome:
        """Start ``skill_id``, step the lock-step runtime until it ends and the robot settles, and
        say how it went. A refusal (unknown parameters, no plan, a precondition) moves nothing."""
        started = self.start(skill_id, params, timeout_s)
        if isinstance(started, SkillOutcome):
            return started
        period = self.runtime.control_period
        while self.executor.running:
            self.runtime.run(period, self._control)
        self.runtime.run(SETTLE_AFTER_S, self._control)
        return self.finish(started)

    def start(
        self, skill_id: str, params: dict[str, Any] | None = None, timeout_s: float | None = None
    ) -> StartedSkill | SkillOutcome:
        """Check, plan and hand ``skill_id`` to the executor; the caller steps the robot (``run``
        does, or an agent's control loop) and then calls ``finish``. A refusal comes back as an
        outcome with a cause."""
        params = dict(params or {})
        try:
            manifest, skill = self.prepare(skill_id, params)
            plan = skill.prepare(self.executor.last_command if self.executor.last_command is not None else self._q())
        except PreconditionError as exc:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause="precondition")
        except (SkillPlanError, SkillParameterError) as exc:
            return SkillOutcome(skill=skill_id, params=params, success=False, failure=str(exc), cause="plan")
        timeout = timeout_s if timeout_s is not None else TIMEOUT_FACTOR * plan.duration + 2.0
        self._drain()
        started = StartedSkill(
            manifest=manifest,
            skill=skill,
            planned_s=plan.duration,
            t0=self.runtime.time,
            events_before=len(self.events),
        )
        self.executor.run(skill, timeout)
        return started

    def finish(self, started: StartedSkill) -> SkillOutcome:
        """The outcome of a started skill once the executor is done with it."""
        if self.executor.running:
            raise RuntimeError(f"{started.manifest.id} is still running")
        report = self.executor.history[-1]
        resolved = dict(started.skill.params)
        self._drain()
        events = self.events[started.events_before :]
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
            duration_s=self.runtime.time - started.t0,
            planned_s=started.planned_s,
            interventions=report.interventions,
            hard_limit_holds=holds,
            driver_violations=violations,
            postconditions=post,
        )

    def _drain(self) -> None:
        self.events.extend(self.runtime.link.events())

    def _control(self, t: float, link: object) -> None:
        self.executor.tick(t)
        for watcher in self.watchers:
            watcher(t)

    def _q(self) -> np.ndarray:
        state = self.runtime.link.state()
        return state.q.copy() if state is not None else self.runtime.description.home.copy()

    def _audit(self) -> int:
        """Limit violations among the driver's commands since the last audit (the audit runs over
        the whole stream: accelerations need the command before)."""
        rows = [c for _, c, power in self.runtime.received if power]
        if not rows:
            return 0
        q = np.array([c.q for c in rows])
        dq = np.array([c.dq for c in rows])
        tau = np.array([c.tau for c in rows])
        total = audit_commands(self.runtime.description, q, dq, tau, self.runtime.clock.period).violations
        new, self._audited = total - self._audited, total
        return new
