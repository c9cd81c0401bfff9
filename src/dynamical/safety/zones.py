"""Keep-out zones as linear constraints on the joint velocity of the next tick.

For a box, the face of largest separation gives a half-space that holds the point out of the box
(conservative: that distance never exceeds the true one). The approach speed toward a zone is
bounded by what braking can still absorb: n·J·v ≥ -sqrt(2·a·d), d the clearance left beyond the
point's radius and a margin. A point already inside its margin may only move out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np

from dynamical.safety.config import BoxZone, HalfSpaceZone


class ZoneSet:
    """The zones as flat arrays for the compiled row builder."""

    def __init__(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> None:
        self.zones = list(zones)
        count = len(self.zones)
        self.is_box = np.zeros(count, dtype=np.bool_)
        self.center = np.zeros((count, 3))
        self.half = np.zeros((count, 3))
        self.normal = np.zeros((count, 3))
        self.offset = np.zeros(count)
        for z, zone in enumerate(self.zones):
            if isinstance(zone, BoxZone):
                self.is_box[z] = True
                self.center[z], self.half[z] = zone.center, zone.half_size
            else:
                self.normal[z], self.offset[z] = zone.normal, zone.offset

    def __len__(self) -> int:
        return len(self.zones)


@numba.njit(cache=True)
def zone_rows(
    positions, jacobians, radii, is_box, center, half, normal, offset, margin, deceleration, rows, lower, room
):
    k = positions.shape[0]
    n = jacobians.shape[2]
    direction = np.zeros(3)
    for z in range(is_box.shape[0]):
        for i in range(k):
            r = z * k + i
            if is_box[z]:
                distance, axis = -np.inf, 0
                for a in range(3):
                    excess = abs(positions[i, a] - center[z, a]) - half[z, a]
                    if excess > distance:
                        distance, axis = excess, a
                direction[:] = 0.0
                direction[axis] = 1.0 if positions[i, axis] >= center[z, axis] else -1.0
            else:
                direction[:] = normal[z]
                distance = direction[0] * positions[i, 0] + direction[1] * positions[i, 1]
                distance += direction[2] * positions[i, 2] - offset[z]
            for j in range(n):
                rows[r, j] = (
                    direction[0] * jacobians[i, 0, j]
                    + direction[1] * jacobians[i, 1, j]
                    + direction[2] * jacobians[i, 2, j]
                )
            left = distance - radii[i] - margin
            room[r] = left
            lower[r] = -np.sqrt(2.0 * deceleration * left) if left > 0.0 else 0.0
