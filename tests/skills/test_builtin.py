"""The built-in skills in physics: postconditions from randomized layouts, refusals that name
the broken predicate, and the evaluation command."""

import json

import pytest
from typer.testing import CliRunner

from dynamical.cli import app
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.errors import UnknownSkillError
from dynamical.skills.evaluation import EPISODES, evaluate_skill
from dynamical.skills.runner import SkillOutcome, SkillRunner, load_scripted

FAR = (4.0, 4.0)


@pytest.fixture(scope="module")
def kinematics(humanoid):
    return Kinematics(build_model(humanoid), humanoid)


@pytest.fixture
def runner(humanoid, tabletop, kinematics):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=11) as runtime:
        runtime.set_mannequin_pose(*FAR)
        yield SkillRunner(runtime, kinematics)


def test_every_manifest_has_a_loadable_entry_point_and_an_episode(runner):
    for manifest in builtin_manifests():
        assert manifest.id in EPISODES
        params = {**EPISODES[manifest.id].params}
        skill = load_scripted(manifest, runner.world, runner.kinematics, params)
        assert skill.skill_id == manifest.id


@pytest.mark.slow
@pytest.mark.parametrize(
    ("skill", "seed"),
    [
        ("go_home", 1),
        ("look_at", 2),
        ("reach", 3),
        ("open_hand", 4),
        ("grasp", 5),
        ("lift", 6),
        ("place", 7),
        ("pick_and_place", 8),
        ("handover", 9),
        ("wave", 10),
        ("point_at", 11),
    ],
)
def test_postconditions_hold_from_a_randomized_layout(skill, seed, humanoid, tabletop):
    result = evaluate_skill(skill, 1, seed, humanoid, tabletop)
    episode = result.results[0]
    assert episode.success, f"{skill} seed {seed}: {episode.cause}: {episode.failure}"
    assert result.hard_limit_holds == 0 and result.driver_violations == 0


def test_pick_and_place_ends_on_the_shelf_with_the_hand_empty(runner):
    outcome = runner.run("pick_and_place", {"obj": "red_cube", "surface": "shelf"})
    assert outcome.success, outcome.failure
    assert outcome.params["side"] == "right"  # chosen by the skill: the shelf is on the right
    assert {p.predicate for p in outcome.postconditions} == {
        "on(obj=red_cube, surface=shelf)",
        "hand_empty(side=right)",
    }
    cube = runner.world.object("red_cube")
    assert cube.bottom == pytest.approx(runner.world.surface("shelf").top, abs=0.015)
    # What it commanded, in brief: the right arm and hand, a grasp, a carry, a release.
    trajectory = outcome.trajectory
    assert trajectory is not None and trajectory.groups == ["arm_right", "hand_right"]
    names = [p.name for p in trajectory.phases]
    assert {"close the hand", "carry", "let go"} <= set(names)
    assert trajectory.duration_s == pytest.approx(outcome.planned_s, abs=1e-3)
    driven = [i for g in trajectory.groups for i in runner.world.description.group_indices(g)]
    assert 0 < trajectory.peak_joint_speed_rad_s <= runner.world.description.v_max[driven].max()
    assert trajectory.hand_path_m["right"] > 0.5
    assert set(trajectory.phases[names.index("let go")].hands) == {"right"}


def test_a_failed_precondition_is_refused_naming_the_predicate(runner):
    before = runner.world.object("red_cube").pos.copy()
    outcome = runner.run("handover", {"obj": "red_cube", "from_side": "right", "to_side": "left"})
    assert not outcome.success and outcome.cause == "precondition"
    assert "holding(obj=red_cube, side=right)" in outcome.failure
    assert outcome.duration_s == 0.0 and outcome.trajectory is None  # refused before anything moved
    assert (runner.world.object("red_cube").pos == before).all()


def test_the_left_hand_asked_for_reaches_the_shelf_with_its_fingers_across(runner):
    # The shelf is on the robot's right: the left hand reaches its spots only with its fingers
    # pointing right, and that is how it plans to set the cube down.
    planned = runner.plan("pick_and_place", {"obj": "red_cube", "surface": "shelf", "side": "left"})
    assert not isinstance(planned, SkillOutcome), planned.failure
    skill = planned.skill
    assert skill.params["side"] == "left"
    lowered = next(p for p in skill.planned.phases if p.name == "lower")
    site = runner.kinematics.site_pose(lowered.path.target(lowered.duration), runner.world.grasp_site("left"))
    assert site.rot[1, 0] < -0.9


def test_bad_parameters_and_unknown_skills(runner):
    outcome = runner.run("grasp", {"obj": "red_cube", "side": "middle"})
    assert outcome.cause == "plan" and "side" in outcome.failure
    with pytest.raises(UnknownSkillError, match="known"):
        runner.run("juggle", {})


def test_eval_command_prints_json_and_refuses_unknown_skills():
    cli = CliRunner()
    result = cli.invoke(app, ["eval", "look_at", "--episodes", "2", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["episodes"] == 2 and report["successes"] == 2 and report["success_rate"] == 1.0
    assert report["driver_violations"] == 0 and [r["seed"] for r in report["results"]] == [3, 4]
    bad = cli.invoke(app, ["eval", "juggle", "--episodes", "1"])
    assert bad.exit_code == 2 and "juggle" in bad.output
    bad_param = cli.invoke(app, ["eval", "look_at", "--episodes", "1", "--param", "target"])
    assert bad_param.exit_code == 2 and "KEY=VALUE" in bad_param.output
