"""Joint-space motion for scripted skills: smooth paths through IK waypoints, grasp geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import Kinematics, Pose


class UnreachableError(ValueError):
    """IK found no joint positions that put the hand where a skill needs it."""


def smoothstep(s: float) -> float:
    """0 → 1 with zero velocity at both ends, for s in [0, 1] (clamped outside)."""
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


@dataclass(frozen=True)
class JointPath:
    """A path through joint-space waypoints: from ``start`` (n,) through ``points`` (each (n,))
    reached after ``durations`` (s), smoothstep-shaped in each segment (at rest at every waypoint)."""

    start: np.ndarray
    points: tuple[np.ndarray, ...]
    durations: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.points) != len(self.durations):
            raise ValueError("one duration per waypoint")
        if any(d <= 0 for d in self.durations):
            raise ValueError("segment durations must be positive")

    @property
    def duration(self) -> float:
        return float(sum(self.durations))

    @property
    def end(self) -> np.ndarray:
        return self.points[-1] if self.points else self.start

    def target(self, t: float) -> np.ndarray:
        """Joint targets (n,) at ``t`` s after the path started (the end after it finished)."""
        previous = self.start
        for point, duration in zip(self.points, self.durations, strict=True):
            if t < duration:
                return previous + (point - previous) * smoothstep(t / duration)
            t -= duration
            previous = point
        return self.end.copy()

    def then(self, point: np.ndarray, duration: float) -> JointPath:
        return JointPath(self.start, (*self.points, point), (*self.durations, duration))


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
    if not result.converged:
        error = result.position_error[site]
        raise UnreachableError(f"{site} cannot reach {np.round(pose.pos, 3).tolist()} ({error * 1e3:.1f} mm short)")
    q = result.q.copy()
    q[list(keep)] = np.asarray(q_start)[list(keep)]
    return q
