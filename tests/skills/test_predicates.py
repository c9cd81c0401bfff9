"""Predicates on the simulator's ground truth, before and after a grasp made through the kernel."""

import numpy as np
import pytest

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.robot.scene import build_model
from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN
from dynamical.skills.manifest import Predicate
from dynamical.skills.motion import solve_reach, top_grasp_rotation
from dynamical.skills.predicates import PredicateError, check, evaluate
from dynamical.skills.timing import MotionLimits, time_path
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
    assert not holds("holding", obj="red_cube", side="either")
    assert "right hand" in evaluate("holding", {"obj": "red_cube", "side": "either"}, world).detail
    assert "left hand" in evaluate("holding", {"obj": "red_cube", "side": "either"}, world).detail
    assert holds("hand_empty", side="either")
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
    limits, legs, q = MotionLimits.of(humanoid), [], humanoid.home
    for waypoint in (above_table, pre, at, closed, lifted):  # at rest at each: the fingers close still
        legs.append(time_path(q, waypoint[None, :], limits))
        q = legs[-1].end
    ends = np.cumsum([leg.duration for leg in legs])

    def target(t):
        i = min(int(np.searchsorted(ends, t, side="right")), len(legs) - 1)
        return legs[i].target(t - (ends[i] - legs[i].duration))

    start = runtime.time
    runtime.run(float(ends[-1]) + 0.5, lambda t, link: link.send(target(t - start)))

    assert evaluate("holding", {"obj": "red_cube", "side": "right"}, world).holds
    assert evaluate("holding", {"obj": "red_cube", "side": "either"}, world).holds  # a learned skill's condition
    assert not evaluate("hand_empty", {"side": "right"}, world).holds
    assert not evaluate("on", {"obj": "red_cube", "surface": "table"}, world).holds
    assert world.object("red_cube").bottom > 0.75 + 0.09
    assert_within_limits(humanoid, runtime.received)
