"""The red cup in physics: held round its body by finger contacts (no welds, no attachment),
lifted off the table, placed upright on the shelf; a grip that closes on nothing says what the
hand touched."""

import re

import mujoco
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.evaluation import evaluate_skill
from dynamical.skills.predicates import evaluate, hand_part, hand_parts
from dynamical.skills.runner import SkillOutcome, SkillRunner

FAR = (4.0, 4.0)
TABLE_TOP = 0.75


@pytest.fixture(scope="module")
def kinematics(humanoid):
    return Kinematics(build_model(humanoid), humanoid)


def _tilt_deg(quat_wxyz: np.ndarray) -> float:
    z = Rotation.from_quat(np.asarray(quat_wxyz)[[1, 2, 3, 0]]).as_matrix()[:, 2]
    return float(np.degrees(np.arccos(np.clip(z[2], -1.0, 1.0))))


def test_the_world_holds_the_cup_by_contacts_only(humanoid, tabletop):
    # Every equality in the world couples a passive finger joint to its driver: nothing welds
    # or attaches an object to a hand.
    model = build_model(humanoid, tabletop)
    assert all(int(t) == int(mujoco.mjtEq.mjEQ_JOINT) for t in model.eq_type)


def test_holding_says_what_the_hand_touches_when_it_does_not_hold(humanoid, tabletop, kinematics):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as runtime:
        runtime.set_mannequin_pose(*FAR)
        runtime.run(0.2)
        world = SkillRunner(runtime, kinematics).world
        result = evaluate("holding", {"obj": "red_cup", "side": "left"}, world)
    assert not result.holds
    assert result.detail == (
        "red_cup is not in the left hand's grip: it touches no part of the left hand and still rests on the "
        "table (a hold needs two parts of the hand on it and no surface under it)"
    )


def test_hand_links_are_named_in_an_operators_words():
    assert hand_part("l_index_distal_link") == "index fingertip"
    assert hand_part("r_thumb_proximal_link") == "thumb"
    assert hand_part("r_hand") == "palm"
    assert hand_parts({"l_hand", "l_middle_distal_link", "l_thumb_distal_link"}) == (
        "thumb tip, middle fingertip and palm"
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 3])
def test_the_cup_is_lifted_off_the_table_held_by_the_fingers(seed, humanoid, tabletop, kinematics):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=seed) as runtime:
        runtime.set_mannequin_pose(*FAR)
        runner = SkillRunner(runtime, kinematics)
        grasped = runner.run("grasp", {"obj": "red_cup"})
        assert grasped.success, grasped.failure
        side = grasped.params["side"]
        names = [p.name for p in grasped.trajectory.phases]
        assert {"down beside", "move in", "close the hand"} <= set(names)  # round its side
        lifted = runner.run("lift", {"obj": "red_cup", "height": 0.1})
        assert lifted.success, lifted.failure
        for _ in range(10):  # held still for a second, checked every 0.1 s
            runtime.run(0.1, runner._control)
            cup = runner.world.object("red_cup")
            assert cup.bottom >= TABLE_TOP + 0.10, "the cup must be lifted 10 cm off the table"
            hand = runner.world.hand_bodies(side)
            assert cup.touching <= hand, f"the cup touches {sorted(cup.touching - hand)} besides the hand"
            assert len(cup.touching) >= 2
            # Upright enough to carry (it leans about 18° in the left hand's grip: the thumb
            # presses high, the fingers low); a cup that tipped over would lie at 90°.
            assert _tilt_deg(cup.quat) < 30.0


@pytest.mark.slow
def test_the_cup_is_picked_and_placed_upright_on_the_shelf(humanoid, tabletop):
    result = evaluate_skill("pick_and_place", 2, 0, humanoid, tabletop, {"obj": "red_cup", "surface": "shelf"})
    for episode in result.results:
        assert episode.success, f"seed {episode.seed}: {episode.cause}: {episode.failure}"
    assert result.hard_limit_holds == 0 and result.driver_violations == 0


@pytest.mark.slow
def test_a_grip_that_closes_on_nothing_fails_and_says_what_the_hand_touched(humanoid, tabletop, kinematics):
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0) as runtime:
        runtime.set_mannequin_pose(*FAR)
        runner = SkillRunner(runtime, kinematics)
        started = runner.start("grasp", {"obj": "red_cup"})
        assert not isinstance(started, SkillOutcome), started.failure
        skill = started.skill
        closing = [p.name for p in skill.planned.phases].index("close the hand")
        while runner.executor.running and skill._phase < closing:
            runtime.run(runtime.control_period, runner._control)
        # Someone takes the cup away as the hand is about to close: the simulator's world, moved
        # the way a person would move it (the robot's side has no way to do this).
        sim = runtime._robot
        address = sim._free_joint_qpos("red_cup")
        sim.data.qpos[address : address + 2] += [0.25, 0.0]
        mujoco.mj_forward(sim.model, sim.data)
        while runner.executor.running:
            runtime.run(runtime.control_period, runner._control)
        outcome = runner.finish(started)
    assert not outcome.success and outcome.cause == "skill"
    side = outcome.params["side"]
    assert f"holding(obj=red_cup, side={side}) does not hold" in outcome.failure
    assert f"red_cup is not in the {side} hand's grip: it touches no part of the {side} hand" in outcome.failure
    assert "still rests on the table" in outcome.failure
    # How far the cup is from where the grip should hold it: the 25 cm it was moved forward
    # (and the few cm the hand rose after closing), in the robot's directions.
    pattern = rf"red_cup is ([0-9.]+) cm from where the {side} hand's side grasp should hold it \((.*)\)"
    found = re.search(pattern, outcome.failure)
    assert found, outcome.failure
    assert 22.0 <= float(found.group(1)) <= 29.0
    assert "cm forward" in found.group(2)
