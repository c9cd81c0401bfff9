"""One task end to end in one process on the lock-step simulator: plan it, run it, say how it went.

The orchestrator plans on a snapshot of the simulated world (object poses drawn from the seed),
the plan runner executes it through the executor and the safety kernel, and the world's ground
truth decides success: every step's postconditions held.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from dynamical.agent.plan_runner import PlanOutcome, StepProgress, run_plan
from dynamical.orchestration import OrchestrationRequest, SkillExecutionPlan, get_orchestrator
from dynamical.orchestration.world import snapshot_from_world_model
from dynamical.perception.config import PerceptionConfig
from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.robot.description import RobotDescription
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.safety.rules import Rule
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.runner import SkillRunner

SEED_TASK = "pick up the red cube and place it on the shelf"


class DemoResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    task: str
    seed: int
    success: bool
    plan: SkillExecutionPlan
    outcome: PlanOutcome
    safety_events: dict[str, int]
    """Safety kernel events during the run, by rule."""
    video_frames: int = 0


def run_demo(
    description: RobotDescription,
    world: WorldSpec,
    task: str = SEED_TASK,
    seed: int = 0,
    video: Path | None = None,
    on_plan: Callable[[SkillExecutionPlan], None] | None = None,
    on_progress: Callable[[StepProgress], None] | None = None,
    perception: PerceptionConfig | None = None,
) -> DemoResult:
    """Plan ``task`` in the world drawn from ``seed`` and run it. Orchestration errors (unknown
    object, no skill matches, broken contract) propagate before anything moves. With
    ``perception.world_source == "perception"`` planning and the skills read objects from the
    cameras (``perception.sim_source``) instead of the simulator's truth."""
    kinematics = Kinematics(build_model(description), description)
    with LockstepRuntime(description, world, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        if perception is not None and perception.world_source == "perception":
            runner, cameras = _perceiving_runner(runtime, kinematics, perception)
        else:
            runner, cameras = SkillRunner(runtime, kinematics), None
        snapshot = snapshot_from_world_model(runner.world, world.name)
        plan = get_orchestrator().orchestrate(OrchestrationRequest(task_description=task, world=snapshot))
        if on_plan is not None:
            on_plan(plan)
        recorder = None
        if video is not None:
            from dynamical.agent.video import CameraRecorder

            recorder = CameraRecorder(runtime, video)
            runner.watchers.append(recorder)
        try:
            outcome = run_plan(plan, runner, on_progress)
        finally:
            if recorder is not None:
                recorder.close()
            if cameras is not None:
                cameras.close()
        events = Counter(Rule(e.rule).name for e in runner.events)
        return DemoResult(
            task=task,
            seed=seed,
            success=outcome.success,
            plan=plan,
            outcome=outcome,
            safety_events=dict(events),
            video_frames=0 if recorder is None else recorder.frames,
        )


def _perceiving_runner(
    runtime: LockstepRuntime, kinematics: Kinematics, config: PerceptionConfig
) -> tuple[SkillRunner, PerceptionPipeline]:
    """A runner whose world is what the cameras see, kept current by a watcher at the perception
    rate, and the perception pipeline (to close after the run)."""
    from dataclasses import replace

    from dynamical.perception.sim_source import perceive_simulation
    from dynamical.skills.runner import lockstep_host

    host = lockstep_host(runtime)
    world, watcher = perceive_simulation(
        runtime.observer(),
        host.world,
        config.cameras,
        config.width,
        config.height,
        config.rate_hz,
        config.forget_after_s,
    )
    runner = SkillRunner(replace(host, world=world), kinematics)
    runner.runtime = runtime  # it steps this lock-step runtime itself
    runner.watchers.append(watcher)
    return runner, watcher.pipeline
