"""Predicates on the simulator's ground truth, before and after a grasp made through the kernel."""

import numpy as np
import pytest

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.skills.manifest import Predicate
from dynamical.skills.predicates import PredicateError, check, evaluate
from dynamical.skills.world_model import SimWorldModel
from tests.safety.driver_checks import assert_within_limits
from tests.test_grasp import HAND_CLOSED, HAND_OPEN, _top_grasp_rotation


@pytest.fixture
def runtime(humanoid, tabletop):
    rt = LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0)
    rt.set_mannequin_pose(4.0, 4.0)
    yield rt
    rt.close()


def test_predicates_at_rest(runtime, humanoid):
    runtime.run(0.3)
    world = SimWorldModel(runtime.observer(), humanoid)
    kinematics = Kinematics(build_model(humanoid), humanoid)

    def holds(name, **args):
        return evaluate(name, args, world, kinematics).holds

    assert holds("on", obj="red_cube", surface="table")
    assert not holds("on", obj="red_cube", surface="shelf_lower")
    assert holds("hand_empty", side="right") and holds("hand_empty", side="left")
    assert not holds("holding", obj="red_cube", side="right")
    assert holds("at_home")
    assert holds("reachable", obj="red_cube", side="right")
    assert not holds("near", obj="red_cube", target="green_cube")
    bound = Predicate(name="on", args={"obj": "$object", "surface": "table"}, negate=True).bind({"object": "red_cube"})
    assert not check(bound, world).holds and "not (" in check(bound, world).detail
    with pytest.raises(PredicateError, match="unknown predicate 'flying'"):
        evaluate("flying", {}, world)
    with pytest.raises(PredicateError, match="needs argument 'side'"):
        evaluate("holding", {"obj": "red_cube"}, world)


@pytest.mark.slow
def test_holding_after_a_grasp_through_the_safety_kernel(runtime, humanoid):
    """The grasp of tests/test_grasp.py, but commanded at 200 Hz through the link and the kernel."""
    world = SimWorldModel(runtime.observer(), humanoid)
    kinematics = Kinematics(build_model(humanoid), humanoid)
    cube = world.object("red_cube")
    rot = _top_grasp_rotation(cube.quat)
    hand = humanoid.group_indices("hand_right")
    q = humanoid.home.copy()

    def move_to(q_goal, seconds):
        nonlocal q
        start = q.copy()
        runtime.run(
            seconds, lambda t, link, t0=runtime.time: link.send(start + (q_goal - start) * _smooth((t - t0) / seconds))
        )
        q = q_goal.copy()

    def reach(pos, fingers, seconds):
        result = kinematics.solve(q, {"r_grasp": Pose(pos, rot)}, ["arm_right"])
        assert result.converged
        goal = result.q.copy()
        goal[hand] = fingers
        move_to(goal, seconds)

    reach(np.array([0.25, -0.25, 0.95]), HAND_OPEN, 1.0)
    reach(cube.pos + [0, 0, 0.08], HAND_OPEN, 1.5)
    reach(cube.pos, HAND_OPEN, 1.0)
    closed = q.copy()
    closed[hand] = HAND_CLOSED
    move_to(closed, 0.8)
    reach(cube.pos + [0, 0, 0.12], HAND_CLOSED, 1.5)
    runtime.run(0.5, lambda t, link: link.send(q))

    assert evaluate("holding", {"obj": "red_cube", "side": "right"}, world).holds
    assert not evaluate("hand_empty", {"side": "right"}, world).holds
    assert not evaluate("on", {"obj": "red_cube", "surface": "table"}, world).holds
    assert world.object("red_cube").bottom > 0.75 + 0.09
    assert_within_limits(humanoid, runtime.received)


def _smooth(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3 - 2 * s)
