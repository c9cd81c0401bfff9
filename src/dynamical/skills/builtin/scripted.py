"""The base of the built-in skills: a plan of joint-space phases, played at the control rate,
with gates (predicates that must hold when a phase ends) that stop a failing skill early.

A skill is built with the world model, the kinematics and its parameters; ``resolve`` fills in
what the caller left out (the hand, the object), ``prepare`` plans from the joint targets the
executor holds (IK, once), and then the executor calls ``start`` and ``step``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.runtime.channels import StateSample
from dynamical.skills.executor import SkillContext, SkillStep
from dynamical.skills.manifest import Predicate
from dynamical.skills.motion import UnreachableError, polyline_target, smoothstep
from dynamical.skills.predicates import check
from dynamical.skills.world_model import WorldModel

SETTLE_S = 0.3
"""s the skill holds its last target before it reports done: physics catches up with the plan."""
NOMINAL_SPEED = 1.0
"""rad/s, the average speed of the fastest joint of a phase; smoothstep peaks at 1.5× this."""
MIN_PHASE_S = 0.4


class SkillPlanError(UnreachableError):
    """A skill cannot plan its motion from here (IK failed, no free spot, no capable hand)."""


@dataclass(frozen=True)
class Phase:
    """One stretch of motion: from the previous phase's end through ``points`` (k, n), smoothstep
    timed over ``duration`` s; ``gate`` must hold at its end or the skill fails with ``name``."""

    name: str
    points: np.ndarray
    duration: float
    gate: Predicate | None = None


@dataclass
class MotionPlan:
    """Builder of a phase list from a start (n,)."""

    description: RobotDescription
    start: np.ndarray
    phases: list[Phase] = field(default_factory=list)

    @property
    def end(self) -> np.ndarray:
        return (self.phases[-1].points[-1] if self.phases else self.start).copy()

    def go(
        self,
        name: str,
        points: Sequence[np.ndarray] | np.ndarray,
        *,
        speed: float = NOMINAL_SPEED,
        min_s: float = MIN_PHASE_S,
        gate: Predicate | None = None,
    ) -> MotionPlan:
        """Move through ``points`` (each (n,)); the duration follows the joint-space path length of
        the joint that travels furthest, at ``speed`` rad/s on average."""
        stacked = np.atleast_2d(np.asarray(points, dtype=float))
        path = np.vstack([self.end[None, :], stacked])
        travel = float(np.max(np.sum(np.abs(np.diff(path, axis=0)), axis=0)))
        self.phases.append(Phase(name, stacked, max(min_s, travel / speed), gate))
        return self

    def hold(self, name: str, seconds: float, gate: Predicate | None = None) -> MotionPlan:
        self.phases.append(Phase(name, self.end[None, :], seconds, gate))
        return self

    def set_joints(
        self, name: str, indices: np.ndarray, values: np.ndarray, seconds: float, gate: Predicate | None = None
    ) -> MotionPlan:
        """Move only ``indices`` to ``values`` over ``seconds`` (fingers, the head)."""
        q = self.end
        q[indices] = values
        self.phases.append(Phase(name, q[None, :], seconds, gate))
        return self

    @property
    def duration(self) -> float:
        return float(sum(p.duration for p in self.phases))


class ScriptedSkill:
    """Base of the built-in skills (the executor's ``Skill`` protocol)."""

    skill_id: ClassVar[str]

    def __init__(self, world: WorldModel, kinematics: Kinematics, params: dict[str, Any]) -> None:
        self.world = world
        self.kinematics = kinematics
        self.description = world.description
        self.params: dict[str, Any] = dict(params)
        self.name = self.skill_id
        self.groups: tuple[str, ...] = ()
        self._plan: MotionPlan | None = None
        self._t0 = 0.0
        self._phase = 0
        self._phase_end = 0.0

    # ---- to override ----

    def resolve(self) -> dict[str, Any]:
        """The parameters with every choice made (side, object); sets ``groups``. Raises
        SkillPlanError when no choice works."""
        raise NotImplementedError

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        """The motion from joint targets ``q_start`` (n,). Raises SkillPlanError."""
        raise NotImplementedError

    # ---- the executor's side ----

    @property
    def planned(self) -> MotionPlan:
        if self._plan is None:
            raise RuntimeError(f"{self.name} has not been prepared")
        return self._plan

    def prepare(self, q_start: np.ndarray) -> MotionPlan:
        self._plan = self.plan(np.asarray(q_start, dtype=float).copy())
        return self._plan

    def start(self, context: SkillContext) -> None:
        if self._plan is None or not np.allclose(self._plan.start, context.q_start, atol=1e-6):
            self.prepare(context.q_start)
        self._t0 = context.t_start
        self._phase = 0
        self._phase_end = self.planned.phases[0].duration if self.planned.phases else 0.0

    def step(self, t: float, state: StateSample) -> SkillStep:
        plan = self.planned
        elapsed = t - self._t0
        while self._phase < len(plan.phases) and elapsed >= self._phase_end:
            finished = plan.phases[self._phase]
            if finished.gate is not None:
                result = check(finished.gate, self.world, self.kinematics)
                if not result.holds:
                    return SkillStep(failed=f"after {finished.name}: {finished.gate} does not hold ({result.detail})")
            self._phase += 1
            if self._phase < len(plan.phases):
                self._phase_end += plan.phases[self._phase].duration
        if self._phase >= len(plan.phases):
            return SkillStep(q=plan.end, done=elapsed >= self._phase_end + SETTLE_S)
        phase = plan.phases[self._phase]
        previous = plan.phases[self._phase - 1].points[-1] if self._phase > 0 else plan.start
        s = smoothstep(1.0 - (self._phase_end - elapsed) / phase.duration)
        return SkillStep(q=polyline_target(np.vstack([previous[None, :], phase.points]), s))
