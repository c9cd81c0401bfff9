"""Joint-space motion for scripted skills: IK waypoints (single poses and straight lines), grasp
geometry. ``skills.timing`` times the paths through them within the joint limits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from dynamical.robot.kinematics import Kinematics, Pose

REACH_TOLERANCE_M = 0.003
"""A hand this close to a waypoint is there: finger compliance absorbs more."""
REACH_ANGLE_RAD = 0.03


class UnreachableError(ValueError):
    """IK found no joint positions that put the hand where a skill needs it."""


def smoothstep(s: float) -> float:
    """0 → 1 with zero velocity at both ends, for s in [0, 1] (clamped outside)."""
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


def top_grasp_rotation(object_quat_wxyz: np.ndarray) -> np.ndarray:
    """Grasp frame (3, 3) for a box from above: fingers along the box face nearest to +x (world),
    palm facing down. Columns: x (along the fingers), y, z (out of the palm)."""
    yaw = Rotation.from_quat(np.asarray(object_quat_wxyz)[[1, 2, 3, 0]]).as_euler("xyz")[2]
    yaw = (yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4  # a box looks the same every quarter turn
    c, s = np.cos(yaw), np.sin(yaw)
    return np.column_stack([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])


def solve_reach(
    kinematics: Kinematics,
    q_start: np.ndarray,
    site: str,
    pose: Pose,
    groups: Sequence[str],
    keep: Sequence[int] = (),
    qpos: np.ndarray | None = None,
) -> np.ndarray:
    """Joint positions (n,) that put ``site`` at ``pose`` moving only ``groups``; joints in
    ``keep`` (indices) keep their value from q_start. Raises UnreachableError."""
    result = kinematics.solve(q_start, {site: pose}, list(groups), qpos=qpos)
    if not result.converged and not (
        result.position_error[site] <= REACH_TOLERANCE_M and result.orientation_error[site] <= REACH_ANGLE_RAD
    ):
        error = result.position_error[site]
        raise UnreachableError(f"{site} cannot reach {np.round(pose.pos, 3).tolist()} ({error * 1e3:.1f} mm short)")
    q = result.q.copy()
    q[list(keep)] = np.asarray(q_start)[list(keep)]
    return q


def line_waypoints(
    kinematics: Kinematics,
    q_from: np.ndarray,
    site: str,
    start: np.ndarray,
    end: np.ndarray,
    rot: np.ndarray,
    groups: Sequence[str],
    spacing: float = 0.04,
    rot_end: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Joint positions (each (n,)) that keep ``site`` on the straight line from ``start`` to ``end``
    (3,) m every ``spacing`` m, each IK seeded with the previous one so the arm keeps one branch.
    The site's orientation turns from ``rot`` to ``rot_end`` (3, 3) on the way (default: stays).
    The last one puts the site at ``end``. Raises UnreachableError."""
    count = max(1, int(np.ceil(np.linalg.norm(end - start) / spacing)))
    turn = Slerp([0.0, 1.0], Rotation.from_matrix([rot, rot if rot_end is None else rot_end]))
    points: list[np.ndarray] = []
    q = q_from
    for k in range(1, count + 1):
        pose = Pose(start + (end - start) * (k / count), turn(k / count).as_matrix())
        q = solve_reach(kinematics, q, site, pose, groups)
        points.append(q)
    return points
