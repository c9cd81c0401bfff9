"""People near the robot, as capsules, and the speed-and-separation constraint (ISO/TS 15066).

Each monitored point's speed toward its nearest person is bounded by the speed for which the
protective distance S_p still fits in the current separation (``SeparationConfig``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class Person:
    """A person as a capsule: the segment from ``base`` to ``top`` (3,) m, with ``radius`` m."""

    base: np.ndarray
    top: np.ndarray
    radius: float = 0.25


def persons_array(persons: Sequence[Person]) -> np.ndarray:
    """(m, 7) rows of base (3), top (3), radius, for the compiled distance code."""
    out = np.zeros((len(persons), 7))
    for i, person in enumerate(persons):
        out[i, :3], out[i, 3:6], out[i, 6] = person.base, person.top, person.radius
    return out


@numba.njit(cache=True)
def separation(persons: np.ndarray, positions: np.ndarray, radii: np.ndarray, directions: np.ndarray) -> float:
    """Smallest surface-to-surface distance (m; inf with nobody) between points (k, 3) of radii
    (k,) and persons (m, 7); fills directions (k, 3) with unit vectors toward each point's
    nearest person (zeros with nobody). Scalar arithmetic: no temporaries in the 1 kHz loop."""
    best = np.inf
    directions[:] = 0.0
    for i in range(positions.shape[0]):
        px, py, pz = positions[i, 0], positions[i, 1], positions[i, 2]
        nearest = np.inf
        for m in range(persons.shape[0]):
            bx, by, bz = persons[m, 0], persons[m, 1], persons[m, 2]
            ax, ay, az = persons[m, 3] - bx, persons[m, 4] - by, persons[m, 5] - bz
            length_sq = ax * ax + ay * ay + az * az
            s = 0.0
            if length_sq > 1e-12:
                s = ((px - bx) * ax + (py - by) * ay + (pz - bz) * az) / length_sq
                s = min(max(s, 0.0), 1.0)
            dx, dy, dz = bx + s * ax - px, by + s * ay - py, bz + s * az - pz
            length = np.sqrt(dx * dx + dy * dy + dz * dz)
            gap = length - persons[m, 6] - radii[i]
            if gap < nearest:
                nearest = gap
                if length > 1e-9:
                    directions[i, 0], directions[i, 1], directions[i, 2] = dx / length, dy / length, dz / length
        best = min(best, nearest)
    return best


@numba.njit(cache=True)
def directed_rows(directions: np.ndarray, jacobians: np.ndarray, rows: np.ndarray) -> None:
    """rows (k, n) = each point's direction (k, 3) times its Jacobian (k, 3, n): speed toward a person."""
    for i in range(jacobians.shape[0]):
        for j in range(jacobians.shape[2]):
            rows[i, j] = (
                directions[i, 0] * jacobians[i, 0, j]
                + directions[i, 1] * jacobians[i, 1, j]
                + directions[i, 2] * jacobians[i, 2, j]
            )
