"""Which hand a skill uses when the caller did not say, and what a hand holds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.skills.hands import arm_group
from dynamical.skills.motion import top_grasp_rotation
from dynamical.skills.predicates import evaluate
from dynamical.skills.world_model import SIDES, WorldModel

REACH_TOLERANCE_M = 0.005


def held_objects(world: WorldModel, side: str) -> list[str]:
    """Objects the ``side`` hand holds (the ``holding`` predicate), in the world's order."""
    return [name for name in world.object_names() if evaluate("holding", {"obj": name, "side": side}, world).holds]


def hand_is_empty(world: WorldModel, side: str) -> bool:
    return evaluate("hand_empty", {"side": side}, world).holds


def preferred_sides(point: np.ndarray) -> tuple[str, ...]:
    """Both sides, the one on the point's side of the body first (y < 0 is the robot's right)."""
    return ("right", "left") if point[1] <= 0.0 else ("left", "right")


def can_reach(
    world: WorldModel,
    kinematics: Kinematics,
    side: str,
    points: Sequence[np.ndarray],
    rotations: Sequence[np.ndarray] | None = None,
    lean: bool = False,
) -> bool:
    """Whether the ``side`` hand reaches every point (3,) with one of ``rotations`` (3, 3) (default:
    a top grasp, fingers along +x), bending the waist too when ``lean``; each IK is seeded with
    the previous solution."""
    site = world.grasp_site(side)
    groups = [*(["waist"] if lean else []), arm_group(side)]
    for rot in rotations if rotations is not None else [top_grasp_rotation(np.array([1.0, 0.0, 0.0, 0.0]))]:
        q = world.joint_positions()
        for point in points:
            result = kinematics.solve(q, {site: Pose(np.asarray(point, float), rot)}, groups, restarts=2)
            if result.position_error[site] > REACH_TOLERANCE_M:
                break
            q = result.q
        else:
            return True
    return False


def choose_side(
    world: WorldModel,
    kinematics: Kinematics,
    points: Sequence[np.ndarray],
    *,
    need_empty: bool = True,
    rotations: Sequence[np.ndarray] | None = None,
    lean: bool = False,
) -> str | None:
    """The first hand (nearest side first) that is empty when ``need_empty`` and reaches every
    point (3,) with one of ``rotations``; None when neither does."""
    for side in preferred_sides(np.asarray(points[0])):
        if need_empty and not hand_is_empty(world, side):
            continue
        if can_reach(world, kinematics, side, points, rotations, lean):
            return side
    return None


def other(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return "left" if side == "right" else "right"
