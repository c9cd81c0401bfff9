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
from dynamical.skills.motion import UnreachableError
from dynamical.skills.predicates import check
from dynamical.skills.timing import MotionLimits, MotionTimingError, TimedPath, time_path
from dynamical.skills.world_model import WorldModel

SETTLE_S = 0.3
"""s the skill holds its last target before it reports done: physics catches up with the plan."""
NOMINAL_SPEED = 1.0
"""rad/s, the default pace (see ``MotionPlan.go``)."""
PEAK_PER_PACE = 1.5
"""A move at pace ``speed`` lets no joint go faster than this × ``speed`` (the peak of the
smoothstep profile moves used to have at that mean speed, so callers keep their pace)."""
MIN_PHASE_S = 0.4


class SkillPlanError(UnreachableError):
    """A skill cannot plan its motion from here (IK failed, no free spot, no capable hand)."""


@dataclass(frozen=True)
class Phase:
    """One stretch of motion: from the previous phase's end through ``points`` (k, n), timed by
    ``path`` within the joint limits and at rest at its end; ``gate`` must hold at its end or
    the skill fails with ``name``."""

    name: str
    path: TimedPath
    gate: Predicate | None = None

    @property
    def points(self) -> np.ndarray:
        """(k, n) the waypoints, as clipped into the joint ranges."""
        return self.path.waypoints

    @property
    def duration(self) -> float:
        return self.path.duration


@dataclass
class MotionPlan:
    """Builder of a phase list from a start (n,). Every phase is timed when it is added, within
    the description's joint limits (``MotionLimits``): the safety kernel has nothing to correct."""

    description: RobotDescription
    start: np.ndarray
    phases: list[Phase] = field(default_factory=list)
    limits: MotionLimits = field(init=False)

    def __post_init__(self) -> None:
        self.limits = MotionLimits.of(self.description)

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
        """Move through ``points`` (each (n,)) without stopping at each, as fast as the joint
        limits allow with no joint faster than ``PEAK_PER_PACE`` × ``speed`` rad/s, over at
        least ``min_s`` s."""
        return self._add(name, points, speed * PEAK_PER_PACE, min_s, gate)

    def hold(self, name: str, seconds: float, gate: Predicate | None = None) -> MotionPlan:
        return self._add(name, self.end[None, :], None, seconds, gate)

    def set_joints(
        self, name: str, indices: np.ndarray, values: np.ndarray, seconds: float, gate: Predicate | None = None
    ) -> MotionPlan:
        """Move only ``indices`` to ``values`` over ``seconds`` (longer if the limits need it:
        fingers, the head)."""
        q = self.end
        q[indices] = values
        return self._add(name, q[None, :], None, seconds, gate)

    def _add(
        self,
        name: str,
        points: Sequence[np.ndarray] | np.ndarray,
        max_speed: float | None,
        min_s: float,
        gate: Predicate | None,
    ) -> MotionPlan:
        stacked = np.atleast_2d(np.asarray(points, dtype=float))
        try:
            path = time_path(self.end, stacked, self.limits, max_speed=max_speed, min_duration=min_s)
        except MotionTimingError as exc:
            raise SkillPlanError(f"{name}: {exc}") from exc
        self.phases.append(Phase(name, path, gate))
        return self

    @property
    def duration(self) -> float:
        return float(sum(p.duration for p in self.phases))

    def target(self, t: float) -> np.ndarray:
        """(n,) the planned joint positions ``t`` s after the plan's start (its end after that)."""
        phase, local = self._phase_at(t)
        return self.end if phase is None else phase.path.target(local)

    def velocity(self, t: float) -> np.ndarray:
        """(n,) the planned joint velocities ``t`` s after the plan's start (zero after its end)."""
        phase, local = self._phase_at(t)
        return np.zeros_like(self.start) if phase is None else phase.path.velocity(local)

    def _phase_at(self, t: float) -> tuple[Phase | None, float]:
        local = max(t, 0.0)
        for phase in self.phases:
            if local < phase.duration:
                return phase, local
            local -= phase.duration
        return None, 0.0


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
        self._t0: float | None = None
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
        # From inside the joint ranges: a joint resting on its stop measures a hair past it, and
        # a plan starting there would ask the kernel (whose command stays inside) to push outward.
        d = self.description
        self._plan = self.plan(np.clip(np.asarray(q_start, dtype=float), d.q_min, d.q_max))
        return self._plan

    def start(self, context: SkillContext) -> None:
        if self._plan is None or not np.allclose(self._plan.start, context.q_start, atol=1e-6):
            self.prepare(context.q_start)
        # The plan's clock starts at the first step, the first target sent: started at
        # ``t_start``, a plan would already be moving when its first target reaches the kernel,
        # a step in velocity of one control period's acceleration.
        self._t0 = None
        self._phase = 0
        self._phase_end = self.planned.phases[0].duration if self.planned.phases else 0.0

    def step(self, t: float, state: StateSample) -> SkillStep:
        plan = self.planned
        if self._t0 is None:
            self._t0 = t
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
        return SkillStep(q=phase.path.target(elapsed - (self._phase_end - phase.duration)))

    def preview(self, t: float) -> np.ndarray:
        """(n,) the planned target at ``t`` (s, executor clock, now or later), without checking
        gates or advancing a phase: the executor samples it for its trajectory segments."""
        return self.planned.target(0.0 if self._t0 is None else t - self._t0)

    def preview_velocity(self, t: float) -> np.ndarray:
        """(n,) the planned velocity at ``t`` (s, executor clock), exact (the plan's derivative):
        with ``preview``, the positions and velocities of a trajectory segment's samples."""
        return self.planned.velocity(0.0 if self._t0 is None else t - self._t0)
