"""`dynamical bench rca`: root-cause analysis measured on failures whose cause is known.

Each episode runs a skill in lock-step simulation (a fresh world per seed) with one fault injected,
builds the same evidence the server builds for a stored execution (steps with their robot-clock
windows and phases, the kernel's events, object positions at plan time, at the step's start and
end), and asks the analyzer. Only failed episodes count (an injection the robot rode out is
reported apart); top-1 agreement is the share whose first cause is the injected one.

| injected | how | expected cause |
|---|---|---|
| grasp offset | the cube slides 4-6 cm sideways once the grasp is planned | ``grasp_missed`` |
| keep-out zone | a zone around the cube before the grasp | ``keep_out_zone`` |
| moved object | the cube moved out of reach after the plan's snapshot | ``moved_object`` |
| starved executive | no control ticks for 0.6 s in the middle of a reach | ``starved_executive`` |
| e-stop | a category-1 e-stop 1 s into a reach | ``estop`` |

The faults are injected into the simulator and the schedule (the lock-step runtime is stepped
without the executive, as a starved process would be), never into the code under test.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np
from pydantic import BaseModel

from dynamical.agent.reports import event_report
from dynamical.observability.rca import (
    EventEvidence,
    ExecutionEvidence,
    ObjectEvidence,
    PhaseEvidence,
    PredicateEvidence,
    RootCauseAnalyzer,
    StepEvidence,
)
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, SafetyConfig
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.runner import SETTLE_AFTER_S, SkillOutcome, SkillRunner

OBJECT = "red_cube"
INJECTIONS: dict[str, str] = {
    "grasp_offset": "grasp_missed",
    "keep_out_zone": "keep_out_zone",
    "moved_object": "moved_object",
    "starved_executive": "starved_executive",
    "estop": "estop",
}
STARVED_S = 0.6
ESTOP_AFTER_S = 1.0


class EpisodeOutcome(BaseModel):
    injected: str
    expected: str
    seed: int
    failed: bool
    top: str | None
    ranked: list[str]
    explanation: str | None


class CauseAgreement(BaseModel):
    cause: str
    expected: str
    episodes: int
    failed: int
    agreed: int
    agreement: float
    confused_with: dict[str, int]


class RcaBench(BaseModel):
    episodes: int
    failed: int
    """Episodes where the injection made the step fail (the ones that count)."""
    agreed: int
    agreement: float
    """Top-1 agreement over the failed episodes."""
    by_cause: list[CauseAgreement]
    results: list[EpisodeOutcome]


def bench_rca(
    description: RobotDescription,
    world: WorldSpec,
    episodes: int,
    seed: int,
    on_episode: Callable[[], None] | None = None,
) -> RcaBench:
    kinematics = Kinematics(build_model(description), description)
    analyzer = RootCauseAnalyzer()
    names = list(INJECTIONS)
    results = []
    for k in range(episodes):
        injected = names[k % len(names)]
        evidence = run_injected(injected, seed + k, description, world, kinematics)
        analysis = analyzer.analyze(evidence)
        results.append(
            EpisodeOutcome(
                injected=injected,
                expected=INJECTIONS[injected],
                seed=seed + k,
                failed=evidence.status != "succeeded",
                top=analysis.top,
                ranked=[c.cause for c in analysis.causes],
                explanation=analysis.causes[0].explanation if analysis.causes else None,
            )
        )
        if on_episode is not None:
            on_episode()
    return summarize(results)


def summarize(results: list[EpisodeOutcome]) -> RcaBench:
    by_cause = []
    for injected, expected in INJECTIONS.items():
        mine = [r for r in results if r.injected == injected]
        failed = [r for r in mine if r.failed]
        agreed = sum(r.top == expected for r in failed)
        by_cause.append(
            CauseAgreement(
                cause=injected,
                expected=expected,
                episodes=len(mine),
                failed=len(failed),
                agreed=agreed,
                agreement=agreed / len(failed) if failed else 0.0,
                confused_with=dict(Counter(str(r.top) for r in failed if r.top != expected)),
            )
        )
    failed = sum(c.failed for c in by_cause)
    agreed = sum(c.agreed for c in by_cause)
    return RcaBench(
        episodes=len(results),
        failed=failed,
        agreed=agreed,
        agreement=agreed / failed if failed else 0.0,
        by_cause=by_cause,
        results=results,
    )


# ---- one episode ----------------------------------------------------------------------------


class _Episode:
    """A lock-step world, its runner, and the evidence gathered as the steps run."""

    def __init__(self, runtime: LockstepRuntime, kinematics: Kinematics, execution_id: str) -> None:
        self.runtime = runtime
        self.runner = SkillRunner(runtime, kinematics)
        self.steps: list[StepEvidence] = []
        self.at_plan = self.position(OBJECT)
        self.execution_id = execution_id
        self.step_start: list[float] | None = None
        self.zones: list[BoxZone] = []
        self.step_end: list[float] | None = None

    def position(self, name: str) -> list[float]:
        return [float(x) for x in self.runtime.body_pose(name)[0]]

    def control(self, t: float, _link: Any) -> None:
        self.runner.control_tick(t)

    def run(self, skill: str, params: dict[str, Any], during: Callable[[float], None] | None = None) -> SkillOutcome:
        """Run ``skill``; ``during(elapsed)`` is called every control period while it runs."""
        t0 = self.runtime.time
        self.step_start = self.position(OBJECT)
        started = self.runner.start(skill, params)
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

    def move_object(self, name: str, delta: np.ndarray) -> None:
        """Fault injection: slide a free object by ``delta`` (3,) m in the simulator, at rest."""
        robot = self.runtime._robot  # the simulator itself: the one place a fault can come from
        adr = robot._object_qpos[name]
        robot.data.qpos[adr : adr + 3] += delta
        body = mujoco.mj_name2id(robot.model, mujoco.mjtObj.mjOBJ_BODY, name)
        dof = int(robot.model.jnt_dofadr[robot.model.body_jntadr[body]])
        robot.data.qvel[dof : dof + 6] = 0.0
        mujoco.mj_forward(robot.model, robot.data)

    def evidence(self) -> ExecutionEvidence:
        # As an agent reports them: a zone event names its zone and monitored point.
        description = self.runtime.description
        zones = [z.name for z in self.zones]
        points = tuple(description.safety_points)
        reports = [event_report(e, description.joint_names, zones, points) for e in self.runner.events]
        events = [EventEvidence(**r.model_dump(exclude={"seq", "tick"})) for r in reports]
        failed = any(not s.success for s in self.steps)
        estop = next((e for e in events if e.rule == "ESTOP"), None)
        return ExecutionEvidence(
            execution_id=self.execution_id,
            status="failed" if failed else "succeeded",
            error=next((s.failure for s in self.steps if not s.success), None),
            steps=self.steps,
            events=events,
            objects=[
                ObjectEvidence(
                    name=OBJECT, at_plan=self.at_plan, at_step_start=self.step_start, at_step_end=self.step_end
                )
            ],
            estop_category=int(estop.value) if estop is not None and estop.value is not None else None,
        )


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


def run_injected(
    injected: str, seed: int, description: RobotDescription, world: WorldSpec, kinematics: Kinematics
) -> ExecutionEvidence:
    """One episode with ``injected`` (a key of ``INJECTIONS``); the evidence of what happened."""
    if injected not in INJECTIONS:
        raise ValueError(f"unknown injection {injected!r}; one of {', '.join(INJECTIONS)}")
    rng = np.random.default_rng(seed)
    with LockstepRuntime(description, world, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        episode = _Episode(runtime, kinematics, f"bench-{injected}-{seed}")
        if injected == "grasp_offset":
            angle = rng.uniform(0.0, 2.0 * math.pi)
            shift = rng.uniform(0.04, 0.06) * np.array([math.cos(angle), math.sin(angle), 0.0])
            moved = []

            def slide(elapsed: float) -> None:
                if not moved:  # once the grasp is planned and moving: the plan aims at the old place
                    episode.move_object(OBJECT, shift)
                    moved.append(True)

            episode.run("grasp", {"obj": OBJECT}, slide)
        elif injected == "keep_out_zone":
            centre = np.asarray(episode.position(OBJECT))
            size = rng.uniform(0.06, 0.09)
            episode.zones = [
                BoxZone(name="bench_keepout", center=list(centre + [0, 0, 0.1]), half_size=[size, size, 0.12])
            ]
            runtime.set_zones(episode.zones)
            runtime.run(0.01, episode.control)
            episode.run("grasp", {"obj": OBJECT})
        elif injected == "moved_object":
            # The plan's snapshot saw the cube where it was; someone carried it off the table.
            episode.move_object(OBJECT, np.array([rng.uniform(0.8, 1.0), rng.uniform(-0.3, 0.3), 0.0]))
            runtime.run(0.2, episode.control)
            episode.run("grasp", {"obj": OBJECT})
        elif injected == "starved_executive":
            starved = []

            def starve(elapsed: float) -> None:
                if not starved and elapsed >= rng_start:
                    runtime.run(STARVED_S)  # safety ticks only: the executive gets no CPU
                    starved.append(True)

            rng_start = rng.uniform(0.6, 1.0)
            episode.run("reach", {"target": OBJECT}, starve)
        else:
            stopped = []

            def press(elapsed: float) -> None:
                if not stopped and elapsed >= ESTOP_AFTER_S:
                    runtime.kernel.request_estop(1, runtime.time)
                    stopped.append(True)

            episode.run("reach", {"target": OBJECT}, press)
        return episode.evidence()
