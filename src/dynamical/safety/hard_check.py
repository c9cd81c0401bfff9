"""The independent hard-limit check, run on every command after the filter.

Written apart from the filter on purpose: it shares no code with ``limits.py``, ``zones.py`` or
the QP, and it computes forward kinematics on its own model data. A command it rejects is
replaced by a hold of the last command that passed, and the kernel raises an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.safety.kinematics import PointKinematics
from dynamical.safety.rules import Rule

_CODES = {
    "finite": int(Rule.NON_FINITE),
    "position": int(Rule.POSITION_LIMIT),
    "velocity": int(Rule.VELOCITY_LIMIT),
    "acceleration": int(Rule.ACCELERATION_LIMIT),
    "effort": int(Rule.EFFORT_LIMIT),
    "zone": int(Rule.KEEP_OUT_ZONE),
}


@dataclass(frozen=True)
class Violation:
    rule: Rule
    index: int
    """Joint index, or the safety point index for zone violations, -1 when not applicable."""
    value: float
    limit: float


class HardLimitCheck:
    """Checks q (n,), dq (n,), tau (n,) against raw limit arrays (n,) and zones."""

    def __init__(
        self,
        q_min: np.ndarray,
        q_max: np.ndarray,
        v_max: np.ndarray,
        a_max: np.ndarray,
        tau_max: np.ndarray,
        points: PointKinematics,
        zones: Sequence[BoxZone | HalfSpaceZone],
        dt: float,
        tolerance: float,
    ) -> None:
        self.limits = tuple(np.array(a, dtype=float) for a in (q_min, q_max, v_max, a_max, tau_max))
        self.points = points
        self.radii = np.asarray(points.radii, dtype=float)
        self.dt, self.tol = dt, tolerance
        self.zones = list(zones)
        boxes = [z for z in self.zones if isinstance(z, BoxZone)]
        planes = [z for z in self.zones if isinstance(z, HalfSpaceZone)]
        self.box_center = np.array([z.center for z in boxes], dtype=float).reshape(-1, 3)
        self.box_half = np.array([z.half_size for z in boxes], dtype=float).reshape(-1, 3)
        self.plane_normal = np.array([z.normal for z in planes], dtype=float).reshape(-1, 3)
        self.plane_offset = np.array([z.offset for z in planes], dtype=float)
        self._no_points = np.zeros((0, 3))
        # Clearances (k, zones) at the last command that passed. A point that is already inside a
        # zone (the robot was started there) may move out, never deeper.
        self._previous = np.full((len(self.radii), len(self.zones)), np.inf)
        self._current = np.zeros_like(self._previous)

    def warm_up(self, q: np.ndarray) -> None:
        """Run one check at q (n,) at rest, leaving no trace: loads the compiled code."""
        saved = self._previous.copy()
        zeros = np.zeros_like(q)
        self.check(q, zeros, zeros, zeros)
        self._previous[:] = saved

    def check(self, q: np.ndarray, dq: np.ndarray, tau: np.ndarray, dq_prev: np.ndarray) -> Violation | None:
        """The first violated limit, or None when the command is within every limit."""
        n = self.limits[0].shape[0]
        if q.shape != (n,) or dq.shape != (n,) or tau.shape != (n,):
            return Violation(Rule.BAD_SHAPE, -1, float("nan"), float(n))
        positions = self._no_points
        if self.zones:  # (a non-finite q gives non-finite positions; _check refuses it first)
            self.points.update(q, jacobians=False)
            positions = self.points.positions()
        code, index, value, limit = _check(
            q, dq, tau, dq_prev, *self.limits, self.dt, self.tol, positions, self.radii,
            self.box_center, self.box_half, self.plane_normal, self.plane_offset, self._previous, self._current,
        )  # fmt: skip
        return None if code == 0 else Violation(Rule(code), index, value, limit)


@numba.njit(cache=True)
def _check(
    q,
    dq,
    tau,
    dq_prev,
    q_min,
    q_max,
    v_max,
    a_max,
    tau_max,
    dt,
    tol,
    positions,
    radii,
    box_center,
    box_half,
    plane_normal,
    plane_offset,
    previous,
    current,
):
    n = q.shape[0]
    for i in range(n):
        if not (np.isfinite(q[i]) and np.isfinite(dq[i]) and np.isfinite(tau[i])):
            return _CODES_FINITE, i, np.nan, 0.0
    for i in range(n):
        if q[i] < q_min[i] - tol:
            return _CODES_POSITION, i, q[i], q_min[i]
        if q[i] > q_max[i] + tol:
            return _CODES_POSITION, i, q[i], q_max[i]
    for i in range(n):
        # Relative slack on rates: the filter works in floating point at these exact bounds.
        slack = tol + 1e-9 * v_max[i]
        if abs(dq[i]) > v_max[i] + slack:
            return _CODES_VELOCITY, i, dq[i], v_max[i]
    for i in range(n):
        accel = (dq[i] - dq_prev[i]) / dt
        if abs(accel) > a_max[i] * (1.0 + 1e-9) + tol:
            return _CODES_ACCELERATION, i, accel, a_max[i]
    for i in range(n):
        if abs(tau[i]) > tau_max[i] + tol:
            return _CODES_EFFORT, i, tau[i], tau_max[i]
    for i in range(positions.shape[0]):
        for b in range(box_center.shape[0]):
            outside_sq, deepest = 0.0, -np.inf
            for a in range(3):
                d = abs(positions[i, a] - box_center[b, a]) - box_half[b, a]
                deepest = max(deepest, d)
                if d > 0.0:
                    outside_sq += d * d
            gap = (np.sqrt(outside_sq) if deepest > 0.0 else deepest) - radii[i]
            current[i, b] = gap
            if gap < -tol and gap < previous[i, b] - tol:
                return _CODES_ZONE, i, gap, 0.0
        for h in range(plane_normal.shape[0]):
            z = box_center.shape[0] + h
            gap = (
                plane_normal[h, 0] * positions[i, 0]
                + plane_normal[h, 1] * positions[i, 1]
                + plane_normal[h, 2] * positions[i, 2]
                - plane_offset[h]
                - radii[i]
            )
            current[i, z] = gap
            if gap < -tol and gap < previous[i, z] - tol:
                return _CODES_ZONE, i, gap, 0.0
    previous[:] = current  # passed: these clearances are the baseline the next command is held to
    return 0, -1, 0.0, 0.0


_CODES_FINITE = _CODES["finite"]
_CODES_POSITION = _CODES["position"]
_CODES_VELOCITY = _CODES["velocity"]
_CODES_ACCELERATION = _CODES["acceleration"]
_CODES_EFFORT = _CODES["effort"]
_CODES_ZONE = _CODES["zone"]
