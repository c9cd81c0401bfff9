"""Predicates on the simulator's ground truth, before and after a grasp made through the kernel."""

import numpy as np
import pytest

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.robot.scene import build_model
from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN
from dynamical.skills.manifest import Predicate
from dynamical.skills.motion import JointPath, solve_reach, top_grasp_rotation
from dynamical.skills.predicates import PredicateError, check, evaluate
from dynamical.skills.world_model import SimWorldModel
from tests.safety.driver_checks import assert_within_limits


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
    rot = top_grasp_rotation(cube.quat)
    hand = humanoid.group_indices("hand_right")

    def reach(q_from, pos, fingers):
        q = solve_reach(kinematics, q_from, "r_grasp", Pose(pos, rot), ["arm_right"])
        q[hand] = fingers
        return q

    above_table = reach(humanoid.home, np.array([0.25, -0.25, 0.95]), HAND_OPEN)
    pre = reach(above_table, cube.pos + np.array([0, 0, 0.08]), HAND_OPEN)
    at = reach(pre, cube.pos, HAND_OPEN)
    closed = at.copy()
    closed[hand] = HAND_CLOSED
    lifted = reach(closed, cube.pos + np.array([0, 0, 0.12]), HAND_CLOSED)
    path = JointPath(humanoid.home, (above_table, pre, at, closed, lifted), (1.0, 1.5, 1.0, 0.8, 1.5))
    start = runtime.time
    runtime.run(path.duration + 0.5, lambda t, link: link.send(path.target(t - start)))

    assert evaluate("holding", {"obj": "red_cube", "side": "right"}, world).holds
    assert not evaluate("hand_empty", {"side": "right"}, world).holds
    assert not evaluate("on", {"obj": "red_cube", "surface": "table"}, world).holds
    assert world.object("red_cube").bottom > 0.75 + 0.09
    assert_within_limits(humanoid, runtime.received)


def test_joint_path_is_smooth_and_ends_at_rest():
    start, a, b = np.zeros(2), np.array([1.0, 0.0]), np.array([1.0, 2.0])
    path = JointPath(start, (a, b), (1.0, 2.0))
    assert path.duration == 3.0
    np.testing.assert_allclose(path.target(0.0), start)
    np.testing.assert_allclose(path.target(0.5), [0.5, 0.0])
    np.testing.assert_allclose(path.target(1.0), a)
    np.testing.assert_allclose(path.target(10.0), b)
    speed_at_waypoint = (path.target(1.0 + 1e-6) - path.target(1.0 - 1e-6)) / 2e-6
    assert np.abs(speed_at_waypoint).max() < 1e-3
    with pytest.raises(ValueError, match="positive"):
        JointPath(start, (a,), (0.0,))
