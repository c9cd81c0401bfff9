"""Pick and place of every object onto every surface, from the layouts that once failed: the hand
and grasp chosen by planning the whole task (not a few points of it), a hand high over the upper
shelf coming down before the body straightens, a layout no hand can reach refused up front with
the reason, and full episodes in physics for representative seeds of each shape and surface."""

import mujoco
import numpy as np
import pytest

from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.evaluation import MANNEQUIN_AWAY, evaluate_skill
from dynamical.skills.runner import SkillOutcome, SkillRunner


@pytest.fixture(scope="module")
def kinematics(humanoid):
    return Kinematics(build_model(humanoid), humanoid)


def _plan(humanoid, tabletop, kinematics, seed: int, params: dict):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        return SkillRunner(runtime, kinematics).plan("pick_and_place", params)


def test_a_spot_across_the_body_is_reached_with_the_fingers_turned(humanoid, tabletop, kinematics):
    # Seed 1: the green cube lies left of the middle where only the left hand takes it from
    # above, and the shelf is on the right. Carried with the fingers forward the left hand falls
    # short of every spot (1.8 cm for the nearest); with the fingers pointing right it reaches.
    planned = _plan(humanoid, tabletop, kinematics, 1, {"obj": "green_cube", "surface": "shelf"})
    assert not isinstance(planned, SkillOutcome), planned.failure
    skill = planned.skill
    assert skill.params["side"] == "left"
    lowered = next(p for p in skill.planned.phases if p.name == "lower")
    site = kinematics.site_pose(lowered.path.target(lowered.duration), skill.world.grasp_site("left"))
    assert site.rot[1, 0] < -0.9, "the fingers point to the robot's right as the cube is set down"


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the left hand's failing plans are most of the work: minutes on a loaded machine
def test_when_the_first_hand_has_no_plan_the_other_one_is_planned(humanoid, tabletop, kinematics):
    # Seed 0: the blue cube lies just left of the middle, so the left hand is tried first; it
    # falls short of the upper shelf's spots. The right hand takes it, leaning, and comes down
    # beside the table before the body straightens (straightening with the hand up by the upper
    # board carried it out of the upright arm's reach).
    planned = _plan(humanoid, tabletop, kinematics, 0, {"obj": "blue_cube", "surface": "shelf_upper"})
    assert not isinstance(planned, SkillOutcome), planned.failure
    skill = planned.skill
    assert [side for side, _ in skill.options] == ["left", "right"]
    assert skill.params["side"] == "right" and skill.lean
    names = [p.name for p in skill.planned.phases]
    assert names.index("lower beside the table") < names.index("straighten up")


def test_an_object_no_hand_reaches_is_refused_before_anything_moves(humanoid, tabletop, kinematics):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=2) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        # Someone pushes the red cube to the far edge of the table, out of both arms' reach even
        # leaning (the layout generator never puts it there).
        sim = runtime._robot
        address = sim._free_joint_qpos("red_cube")
        sim.data.qpos[address : address + 2] = [0.84, -0.05]
        mujoco.mj_forward(sim.model, sim.data)
        runtime.run(0.1)
        runner = SkillRunner(runtime, kinematics)
        before = runner.world.joint_positions().copy()
        outcome = runner.run("pick_and_place", {"obj": "red_cube", "surface": "shelf"})
        assert np.allclose(runner.world.joint_positions(), before, atol=1e-3)
    assert not outcome.success and outcome.cause == "plan"
    assert outcome.failure.startswith("pick_and_place: no empty hand reaches a grasp of red_cube, even leaning")


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(
    ("obj", "surface", "seed"),
    [
        ("red_cube", "table", 0),
        ("green_cube", "shelf", 1),  # the left hand, fingers turned to reach the shelf
        ("blue_cube", "shelf_upper", 0),  # the right hand after the left had no plan
        ("red_cube", "shelf_upper", 10),  # once could not withdraw from the upper board
        ("red_cup", "shelf", 1),  # round its side, carried across the body
    ],
)
def test_each_shape_is_picked_and_placed_in_physics(obj, surface, seed, humanoid, tabletop):
    result = evaluate_skill("pick_and_place", 1, seed, humanoid, tabletop, {"obj": obj, "surface": surface})
    episode = result.results[0]
    assert episode.success, f"{obj} -> {surface} seed {seed}: {episode.cause}: {episode.failure}"
    assert result.hard_limit_holds == 0 and result.driver_violations == 0


@pytest.mark.slow
def test_the_red_cup_is_picked_up(humanoid, tabletop):
    # "pick up the red cup": the grasp, then the lift evaluated (the grasp takes the lift's object).
    result = evaluate_skill("lift", 1, 4, humanoid, tabletop, {"obj": "red_cup"})
    episode = result.results[0]
    assert episode.success, f"{episode.cause}: {episode.failure}"
