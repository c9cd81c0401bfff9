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
    """The zones as flat arrays of a fixed capacity for the compiled row builder.

    Zones 0 .. count-1 are active, the rest are ignored: the filter's QP is sized for the
    capacity once, so a new set of zones changes data, never dimensions (``assign`` copies a
    staged set in place, between ticks, without allocating)."""

    def __init__(self, zones: Sequence[BoxZone | HalfSpaceZone], capacity: int | None = None) -> None:
        self.capacity = len(zones) if capacity is None else capacity
        if len(zones) > self.capacity:
            raise ValueError(f"{len(zones)} keep-out zones exceed the capacity of {self.capacity}")
        self.zones = list(zones)
        capacity = self.capacity
        self.is_box = np.zeros(capacity, dtype=np.bool_)
        self.center = np.zeros((capacity, 3))
        self.half = np.zeros((capacity, 3))
        self.normal = np.zeros((capacity, 3))
        self.offset = np.zeros(capacity)
        self.count = np.array([len(self.zones)], dtype=np.int64)  # an array: written in place
        for z, zone in enumerate(self.zones):
            if isinstance(zone, BoxZone):
                self.is_box[z] = True
                self.center[z], self.half[z] = zone.center, zone.half_size
            else:
                self.normal[z], self.offset[z] = zone.normal, zone.offset

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        """(is_box, center, half, normal, offset, count) for ``zone_rows``: the same memory every
        time, so the compiled filter holding them sees every ``assign``."""
        return self.is_box, self.center, self.half, self.normal, self.offset, self.count

    def assign(self, other: ZoneSet, rows: tuple[np.ndarray, np.ndarray, np.ndarray], warm_start: np.ndarray) -> None:
        """Take other's zones (same capacity) into these arrays, in place, with the filter's zone
        rows past the active zones made inert and the QP's warm start cleared (its rows meant
        other zones): rows, the (zone_a, zone_b, zone_room) buffers, k rows a zone.

        One compiled call: this runs inside a tick, where each numpy call from Python costs
        microseconds with the cache cold."""
        if other.capacity != self.capacity:
            raise ValueError(f"zone capacity {other.capacity} != {self.capacity}")
        load_zones(self.arrays, other.arrays, rows[0], rows[1], rows[2], warm_start, INACTIVE)
        self.zones = other.zones

    def __len__(self) -> int:
        return len(self.zones)


@numba.njit(cache=True)
def zone_rows(
    positions, jacobians, radii, is_box, center, half, normal, offset, count, margin, deceleration, rows, lower, room
):
    """Rows z·k + i (zone z, point i) of the active zones (z < count[0]); the other rows are
    left as they are: zeros with no bound (``inactive_rows``), which the QP ignores."""
    k = positions.shape[0]
    n = jacobians.shape[2]
    direction = np.zeros(3)
    for z in range(count[0]):
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


INACTIVE = 1e30
"""Bound and room of an inactive row: DAQP's infinity (no bound at all)."""


@numba.njit(cache=True)
def inactive_rows(start, rows, lower, room, unbounded):
    """Make rows start.. inert: a zero row (DAQP skips it, the assurance test sees no approach)
    with no lower bound (never reported as acting) and unlimited room."""
    rows[start:, :] = 0.0
    lower[start:] = -unbounded
    room[start:] = unbounded


@numba.njit(cache=True)
def load_zones(arrays, staged, rows, lower, room, warm_start, unbounded):
    """Copy staged (``ZoneSet.arrays``) into arrays, in place; rows past the active zones' inert
    (``inactive_rows``); warm_start (the QP's multipliers) cleared."""
    is_box, center, half, normal, offset, count = arrays
    is_box[:] = staged[0]
    center[:, :] = staged[1]
    half[:, :] = staged[2]
    normal[:, :] = staged[3]
    offset[:] = staged[4]
    count[:] = staged[5]
    inactive_rows(count[0] * (rows.shape[0] // is_box.shape[0]), rows, lower, room, unbounded)
    warm_start[:] = 0.0
