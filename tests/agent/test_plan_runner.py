"""Plans run on the simulated robot: dependency order, the seed task end to end, a failing step
stops the plan, and the demo command."""

import json

import pytest
from typer.testing import CliRunner

from dynamical.agent.plan_runner import execution_order, run_plan
from dynamical.cli import app
from dynamical.orchestration import OrchestrationRequest, PlanStep, SkillExecutionPlan, get_orchestrator
from dynamical.orchestration.tiering import ExecutionTier
from dynamical.orchestration.world import snapshot_from_world_model
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.predicates import evaluate
from dynamical.skills.runner import SkillRunner


def _step(step_id: str, skill: str, params: dict, after: list[str]) -> PlanStep:
    return PlanStep(
        step_id=step_id,
        text=skill,
        source=skill,
        skill_id=skill,
        skill_version="1.0.0",
        parameters=params,
        skill_ids=[skill],
        weights=[1.0],
        confidence=1.0,
        robot_id="humanoid-1",
        workspace_id="tabletop",
        tier=ExecutionTier.CONTROL,
        depends_on=after,
    )


def _plan(*steps: PlanStep) -> SkillExecutionPlan:
    return SkillExecutionPlan(
        plan_id="p", task="t", decomposer="parser", strategy="nearest", robots=["humanoid-1"], steps=list(steps)
    )


def test_execution_order_follows_dependencies_and_refuses_cycles():
    plan = _plan(_step("a", "wave", {}, ["b"]), _step("b", "go_home", {}, []), _step("c", "wave", {}, ["a"]))
    assert [s.step_id for s in execution_order(plan)] == ["b", "a", "c"]
    with pytest.raises(ValueError, match="cycle"):
        execution_order(_plan(_step("a", "wave", {}, ["b"]), _step("b", "wave", {}, ["a"])))
    with pytest.raises(ValueError, match="unknown"):
        execution_order(_plan(_step("a", "wave", {}, ["z"])))


@pytest.fixture
def runner(humanoid, tabletop):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=21) as runtime:
        runtime.set_mannequin_pose(4.0, 4.0)
        yield SkillRunner(runtime, Kinematics(build_model(humanoid), humanoid))


@pytest.mark.slow
def test_the_seed_task_planned_and_run_puts_the_cube_on_the_shelf(runner):
    snapshot = snapshot_from_world_model(runner.world, "tabletop")
    plan = get_orchestrator().orchestrate(
        OrchestrationRequest(task_description="pick up the red cube and place it on the shelf", world=snapshot)
    )
    heard = []
    outcome = run_plan(plan, runner, heard.append)
    assert outcome.success, outcome.failure
    assert [s.skill for s in outcome.steps] == ["grasp", "lift", "place"]
    # Each step is heard starting, again once planned (with its planned motion), then ending.
    assert [(e.step_id, e.status, e.planned is not None) for e in heard] == [
        ("s1", "running", False), ("s1", "running", True), ("s1", "succeeded", False),
        ("s2", "running", False), ("s2", "running", True), ("s2", "succeeded", False),
        ("s3", "running", False), ("s3", "running", True), ("s3", "succeeded", False),
    ]  # fmt: skip
    for planned, ended in zip(heard[1::3], heard[2::3], strict=True):
        assert planned.planned == ended.outcome.trajectory, "the plan announced is the plan that ran"
    assert runner.launch_listeners == [], "the listener goes with the plan"
    assert evaluate("on", {"obj": "red_cube", "surface": "shelf"}, runner.world).holds
    assert outcome.driver_violations == 0 and outcome.hard_limit_holds == 0


def test_a_failing_step_ends_the_plan_and_later_steps_never_run(runner):
    plan = _plan(
        _step("s1", "place", {"obj": "red_cube", "surface": "shelf"}, []),
        _step("s2", "wave", {}, ["s1"]),
    )
    outcome = run_plan(plan, runner)
    assert not outcome.success and outcome.failed_step == "s1"
    assert len(outcome.steps) == 1 and "red_cube" in outcome.failure
    assert outcome.duration_s == 0.0  # refused before anything moved


@pytest.mark.slow
@pytest.mark.render
def test_demo_command_runs_the_seed_task_and_writes_the_head_camera_video(tmp_path):
    video = tmp_path / "demo.mp4"
    result = CliRunner().invoke(app, ["demo", "--seed", "2", "--video", str(video), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["success"] and [s["skill"] for s in report["outcome"]["steps"]] == ["grasp", "lift", "place"]
    assert report["video_frames"] > 50 and video.stat().st_size > 10_000
    assert video.read_bytes()[4:8] == b"ftyp"  # an MP4 container


def test_demo_refuses_an_unknown_object_before_moving():
    result = CliRunner().invoke(app, ["demo", "--task", "pick up the purple banana"])
    assert result.exit_code == 2
    assert "red_cube" in result.output  # the refusal lists what is known
