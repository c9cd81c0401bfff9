"""Failures with a known cause, for measuring root-cause analysis (``dynamical bench rca``).

Each episode runs one or two short skills in lock-step simulation (a fresh world per seed) with one
fault injected, and gathers the evidence the server gathers for a stored execution: the steps with
their robot-clock windows and phases, the kernel's events as the agent reports them (zone events
name their zone and monitored point), and the object's position when the plan was made, when the
failing step started and when it ended.

| injection | how | expected cause |
|---|---|---|
| ``grasp_offset`` | the cube slides 4-6 cm sideways once the grasp is moving | ``grasp_missed`` |
| ``keep_out_zone`` | a zone over the cube, on a reach's path, added after the world was seen | ``keep_out_zone`` |
| ``moved_object`` | the cube carried out of reach after the plan's snapshot | ``moved_object`` |
| ``precondition_broken`` | the cube taken out of the hand between the grasp and the lift | ``moved_object`` |
| ``unreachable`` | the cube out of reach before anything was planned | ``unreachable`` |
| ``starved_executive`` | no control ticks for the lookahead + 0.4 s in the middle of a reach | ``starved_executive`` |
| ``estop`` | a category-1 e-stop 0.6-1.2 s into a reach | ``estop`` |
| ``separation_stop`` | a person steps up to the robot during a reach and stays | ``person_too_close`` |
| ``tight_timeout`` | a reach given a third of its planned time | ``timeout`` |
| ``operator_cancel`` | an operator cancels a reach half way | ``cancelled`` |

The faults go into the simulator and the schedule (a starved executive is the lock-step runtime
stepped without the executive), never into the code under test. An injection the robot rode out
(the step succeeded) is reported apart: it is not a failure to explain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from dynamical.agent.reports import event_report
from dynamical.observability.rca import (
    EventEvidence,
    ExecutionEvidence,
    ObjectEvidence,
    PhaseEvidence,
    PredicateEvidence,
    StepEvidence,
)
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, SafetyConfig
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.executor import LOOKAHEAD_S
from dynamical.skills.runner import SETTLE_AFTER_S, SkillOutcome, SkillRunner

OBJECT = "red_cube"
STARVED_S = LOOKAHEAD_S + 0.4
"""s without control ticks: the last segment's lookahead, then past the watchdog's hold and
deceleration (0.1 s at 1 kHz), into its protective stop."""
PERSON_AT = (0.75, -0.15)
"""m, where the person stands in the separation episode: inside the static protective distance of
the arm reaching over the table (ISO/TS 15066 S_p ≈ 0.73 m with the default configuration)."""


class _Episode:
    """A lock-step world, its runner, and the evidence gathered as the steps run."""

    def __init__(self, runtime: LockstepRuntime, kinematics: Kinematics, execution_id: str) -> None:
        self.runtime = runtime
        self.runner = SkillRunner(runtime, kinematics)
        self.steps: list[StepEvidence] = []
        self.at_plan = self.position(OBJECT)
        self.execution_id = execution_id
        self.step_start: list[float] | None = None
        self.step_end: list[float] | None = None
        self.zones: list[BoxZone] = []

    def position(self, name: str) -> list[float]:
        return [float(x) for x in self.runtime.body_pose(name)[0]]

    def control(self, t: float, _link: Any) -> None:
        self.runner.control_tick(t)

    def run(
        self,
        skill: str,
        params: dict[str, Any],
        during: Callable[[float], None] | None = None,
        timeout_s: float | None = None,
    ) -> SkillOutcome:
        """Run ``skill``; ``during(elapsed)`` is called every control period while it runs."""
        t0 = self.runtime.time
        self.step_start = self.position(OBJECT)
        started = self.runner.start(skill, params, timeout_s)
        if isinstance(started, SkillOutcome):
            outcome = started
        else:
            period = self.runner.host.control_period
            while self.runner.executor.running:
                if during is not None:
                    during(self.runtime.time - t0)
                self.runtime.run(period, self.control)
            self.runtime.run(SETTLE_AFTER_S, self.control)
            outcome = self.runner.finish(started)
        self.step_end = self.position(OBJECT)
        self.steps.append(_step(f"s{len(self.steps) + 1}", outcome, t0, self.runtime.time))
        return outcome

    def evidence(self) -> ExecutionEvidence:
        # As an agent reports them: a zone event names its zone and monitored point.
        description = self.runtime.description
        zones = [z.name for z in (*self.zones, *SafetyConfig().zones)]  # the kernel's order
        points = tuple(description.safety_points)
        reports = [event_report(e, description.joint_names, zones, points) for e in self.runner.events]
        events = [EventEvidence(**r.model_dump(exclude={"seq", "tick"})) for r in reports]
        failed = next((s for s in self.steps if not s.success), None)
        estop = next((e for e in events if e.rule == "ESTOP"), None)
        return ExecutionEvidence(
            execution_id=self.execution_id,
            status="failed" if failed is not None else "succeeded",
            error=failed.failure if failed is not None else None,
            steps=self.steps,
            events=events,
            objects=[
                ObjectEvidence(
                    name=OBJECT, at_plan=self.at_plan, at_step_start=self.step_start, at_step_end=self.step_end
                )
            ],
            estop_category=int(estop.value) if estop is not None and estop.value is not None else None,
        )


def move_object(runtime: LockstepRuntime, name: str, delta: np.ndarray) -> None:
    """Fault injection: slide a free object by ``delta`` (3,) m in the simulator, at rest."""
    robot = runtime._robot  # the simulator itself: the one place a fault can come from
    adr = robot._object_qpos[name]
    robot.data.qpos[adr : adr + 3] += delta
    body = mujoco.mj_name2id(robot.model, mujoco.mjtObj.mjOBJ_BODY, name)
    dof = int(robot.model.jnt_dofadr[robot.model.body_jntadr[body]])
    robot.data.qvel[dof : dof + 6] = 0.0
    mujoco.mj_forward(robot.model, robot.data)


def _once(action: Callable[[], None], after_s: float = 0.0) -> Callable[[float], None]:
    """A ``during`` callback that does ``action`` the first time ``after_s`` s have passed."""
    done: list[bool] = []

    def during(elapsed: float) -> None:
        if not done and elapsed >= after_s:
            action()
            done.append(True)

    return during


def _step(step_id: str, outcome: SkillOutcome, t0: float, t1: float) -> StepEvidence:
    phases, at = [], t0
    for phase in outcome.trajectory.phases if outcome.trajectory is not None else []:
        phases.append(PhaseEvidence(name=phase.name, t_start=at, t_end=at + phase.duration_s, hands=phase.hands))
        at += phase.duration_s
    return StepEvidence(
        step_id=step_id,
        skill=outcome.skill,
        params=outcome.params,
        success=outcome.success,
        failure=outcome.failure,
        cause=outcome.cause,
        duration_s=outcome.duration_s,
        interventions=outcome.interventions,
        hard_limit_holds=outcome.hard_limit_holds,
        postconditions=[PredicateEvidence(**p.model_dump()) for p in outcome.postconditions],
        t_start=t0,
        t_end=t1,
        phases=phases,
    )


# ---- the injections -------------------------------------------------------------------------
# Each starts from a world where nothing has been planned yet (``make`` builds the episode: an
# injection that acts before the plan's snapshot builds it after the fault).

Make = Callable[[], _Episode]


def _grasp_offset(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    angle = rng.uniform(0.0, 2.0 * math.pi)
    shift = rng.uniform(0.04, 0.06) * np.array([math.cos(angle), math.sin(angle), 0.0])
    # Once the grasp is planned and moving: the plan aims at the old place.
    episode.run("grasp", {"obj": OBJECT}, _once(lambda: move_object(runtime, OBJECT, shift)))
    return episode


def _keep_out_zone(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    centre = np.asarray(episode.position(OBJECT))
    size = rng.uniform(0.06, 0.09)
    episode.zones = [BoxZone(name="bench_keepout", center=list(centre + [0, 0, 0.1]), half_size=[size, size, 0.12])]
    # The kernel's list, in the order the evidence names it (the bench's zone, then the configured).
    runtime.set_zones([*episode.zones, *SafetyConfig().zones])
    runtime.run(0.01, episode.control)
    episode.run("reach", {"target": OBJECT})
    return episode


def _moved_object(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    # The plan's snapshot saw the cube where it was; someone carried it off the table.
    move_object(runtime, OBJECT, np.array([rng.uniform(0.8, 1.0), rng.uniform(-0.3, 0.3), 0.0]))
    runtime.run(0.2, episode.control)
    episode.run("grasp", {"obj": OBJECT})
    return episode


def _precondition_broken(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    grasped = episode.run("grasp", {"obj": OBJECT})
    if not grasped.success:
        return episode  # no grasp to break: the episode is not counted as this injection's
    # Someone takes the cube out of the hand and sets it down on the table beside it.
    angle = rng.uniform(0.0, 2.0 * math.pi)
    at = np.asarray(episode.position(OBJECT))
    target = np.asarray(episode.at_plan) + rng.uniform(0.12, 0.18) * np.array([math.cos(angle), math.sin(angle), 0.0])
    move_object(runtime, OBJECT, target - at)
    runtime.run(0.2, episode.control)
    episode.run("lift", {"obj": OBJECT, "side": grasped.params.get("side")})
    return episode


def _unreachable(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    # Out of reach before anything was seen: no change after the plan, nothing can be planned.
    move_object(runtime, OBJECT, np.array([rng.uniform(0.8, 1.0), rng.uniform(-0.3, 0.3), 0.0]))
    runtime.run(0.2)
    episode = make()
    episode.run("grasp", {"obj": OBJECT})
    return episode


def _starved_executive(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    # Safety ticks only: the executive gets no CPU for STARVED_S.
    episode.run("reach", {"target": OBJECT}, _once(lambda: runtime.run(STARVED_S), rng.uniform(0.6, 1.0)))
    return episode


def _estop(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    press = _once(lambda: runtime.kernel.request_estop(1, runtime.time), rng.uniform(0.6, 1.2))
    episode.run("reach", {"target": OBJECT}, press)
    return episode


def _separation_stop(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    x, y = PERSON_AT[0] + rng.uniform(-0.05, 0.05), PERSON_AT[1] + rng.uniform(-0.1, 0.1)
    step_up = _once(lambda: runtime.set_mannequin_pose(x, y, math.pi), rng.uniform(0.3, 0.8))
    episode.run("reach", {"target": OBJECT}, step_up)
    return episode


def _tight_timeout(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    planned = episode.runner.plan("reach", {"target": OBJECT})
    planned_s = planned.planned_s if not isinstance(planned, SkillOutcome) else 1.0
    episode.run("reach", {"target": OBJECT}, timeout_s=planned_s * rng.uniform(0.25, 0.4))
    return episode


def _operator_cancel(runtime: LockstepRuntime, make: Make, rng: np.random.Generator) -> _Episode:
    episode = make()
    cancel = _once(lambda: episode.runner.executor.cancel(), rng.uniform(0.4, 0.9))
    episode.run("reach", {"target": OBJECT}, cancel)
    return episode


@dataclass(frozen=True)
class Injection:
    name: str
    expected: str
    """The analyzer's cause (``rca.rules.RULES``) this fault should be blamed on."""
    run: Callable[[LockstepRuntime, Make, np.random.Generator], _Episode]


INJECTIONS: dict[str, Injection] = {
    i.name: i
    for i in (
        Injection("grasp_offset", "grasp_missed", _grasp_offset),
        Injection("keep_out_zone", "keep_out_zone", _keep_out_zone),
        Injection("moved_object", "moved_object", _moved_object),
        Injection("precondition_broken", "moved_object", _precondition_broken),
        Injection("unreachable", "unreachable", _unreachable),
        Injection("starved_executive", "starved_executive", _starved_executive),
        Injection("estop", "estop", _estop),
        Injection("separation_stop", "person_too_close", _separation_stop),
        Injection("tight_timeout", "timeout", _tight_timeout),
        Injection("operator_cancel", "cancelled", _operator_cancel),
    )
}


def run_injected(
    injected: str, seed: int, description: RobotDescription, world: WorldSpec, kinematics: Kinematics
) -> ExecutionEvidence:
    """One episode with ``injected`` (a key of ``INJECTIONS``); the evidence of what happened."""
    injection = INJECTIONS.get(injected)
    if injection is None:
        raise ValueError(f"unknown injection {injected!r}; one of {', '.join(INJECTIONS)}")
    rng = np.random.default_rng(seed)
    with LockstepRuntime(description, world, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        episode = injection.run(runtime, lambda: _Episode(runtime, kinematics, f"bench-{injected}-{seed}"), rng)
        return episode.evidence()
