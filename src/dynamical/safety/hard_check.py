"""The independent hard-limit check, run on every command after the filter.

Written apart from the filter on purpose: it shares no code with ``limits.py``, ``zones.py`` or
the QP, and it computes forward kinematics on its own chain with its own buffers (never the
filter's results). A command it rejects is replaced by a hold of the last command that passed,
and the kernel raises an event.

Kinematics and checks run in one compiled call, with the check's data as one object (a
StructRef): handing numba ~20 separate arrays every tick cost more than the checks themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np
from numba.core import types
from numba.experimental import structref

from dynamical.safety.chain import forward
from dynamical.safety.config import BoxZone, HalfSpaceZone
from dynamical.safety.kinematics import PointKinematics
from dynamical.safety.rules import Rule
from dynamical.safety.zone_events import ZONE_POINT_STRIDE, zone_and_point, zone_event_index

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
    """Joint index; for a zone violation ``zone_events.zone_event_index(zone, point)``; -1 when
    not applicable."""
    value: float
    limit: float


@dataclass(frozen=True)
class StagedZones:
    """Zones as the check's arrays, built ahead of ``HardLimitCheck.apply_zones``."""

    zones: list[BoxZone | HalfSpaceZone]
    box_center: np.ndarray
    box_half: np.ndarray
    plane_normal: np.ndarray
    plane_offset: np.ndarray
    counts: np.ndarray


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
        capacity: int | None = None,
    ) -> None:
        """capacity: the most zones ``apply_zones`` may bring (default: as many as ``zones``)."""
        self.limits = tuple(np.array(a, dtype=float) for a in (q_min, q_max, v_max, a_max, tau_max))
        self.points = points
        self.radii = np.asarray(points.radii, dtype=float)
        self._shape = self.limits[0].shape
        self.dt, self.tol = dt, tolerance
        # Zones live in arrays of a fixed capacity (boxes and half-spaces apart, each up to the
        # capacity), so that new zones are copied in place between ticks (``apply_zones``).
        self.capacity = len(zones) if capacity is None else capacity
        cap = self.capacity
        self.box_center, self.box_half = np.zeros((cap, 3)), np.zeros((cap, 3))
        self.plane_normal, self.plane_offset = np.zeros((cap, 3)), np.zeros(cap)
        self.counts = np.zeros(2, dtype=np.int64)  # active (boxes, half-spaces)
        # Clearances (k, 2·capacity: box b in column b, half-space h in column capacity + h) at the
        # last command that passed. A point that is already inside a zone (the robot was started
        # there, or the zone was added around it) may move out, never deeper.
        self._previous = np.full((len(self.radii), 2 * cap), np.inf)
        self._current = np.zeros_like(self._previous)
        self.zones: list[BoxZone | HalfSpaceZone] = []
        self._assign(self.stage_zones(zones))
        chain = points.chain
        self._workspace = _check_workspace(
            self.limits, dt, tolerance, self.radii, self.box_center, self.box_half, self.plane_normal,
            self.plane_offset, self.counts, self._previous, self._current, chain.arrays, chain.frames, chain.axes,
            chain.positions, chain.jacobians,
        )  # fmt: skip

    def stage_zones(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> StagedZones:
        """This check's own arrays for zones (allocated here, outside the loop), for ``apply_zones``."""
        if len(zones) > self.capacity:
            raise ValueError(f"{len(zones)} keep-out zones exceed the capacity of {self.capacity}")
        cap = self.capacity
        staged = StagedZones(
            list(zones), np.zeros((cap, 3)), np.zeros((cap, 3)), np.zeros((cap, 3)), np.zeros(cap),
            np.zeros(2, dtype=np.int64),
        )  # fmt: skip
        for zone in zones:
            if isinstance(zone, BoxZone):
                b = staged.counts[0]
                staged.box_center[b], staged.box_half[b] = zone.center, zone.half_size
                staged.counts[0] += 1
            elif isinstance(zone, HalfSpaceZone):
                h = staged.counts[1]
                staged.plane_normal[h], staged.plane_offset[h] = zone.normal, zone.offset
                staged.counts[1] += 1
            else:
                raise TypeError(f"not a keep-out zone: {zone!r}")
        return staged

    def apply_zones(self, staged: StagedZones, q: np.ndarray) -> None:
        """Check against staged's zones from now on; their baseline clearances are those at q
        (n,), the last command that passed. In place: no allocation, the workspace unchanged;
        one compiled call (it runs inside a tick)."""
        _load(
            self._workspace, staged.box_center, staged.box_half, staged.plane_normal, staged.plane_offset,
            staged.counts, q,
        )  # fmt: skip
        self.zones = staged.zones

    def rebaseline(self, q: np.ndarray) -> None:
        """Take the clearances at q (n,) as those of the last command that passed: the pose the
        kernel starts from (or resumes from after a reset) becomes the reference, so a point
        found inside a zone may move out but never deeper (with no baseline every command
        would be refused, and the robot held there for good)."""
        _baseline(self._workspace, q)

    def _assign(self, staged: StagedZones) -> None:
        np.copyto(self.box_center, staged.box_center)
        np.copyto(self.box_half, staged.box_half)
        np.copyto(self.plane_normal, staged.plane_normal)
        np.copyto(self.plane_offset, staged.plane_offset)
        np.copyto(self.counts, staged.counts)
        self._previous[:] = np.inf
        self.zones = staged.zones

    def warm_up(self, q: np.ndarray) -> None:
        """Run one check and one baseline at q (n,) at rest, leaving no trace: loads the compiled
        code."""
        saved = self._previous.copy()
        zeros = np.zeros_like(q)
        self.check(q, zeros, zeros, zeros)
        # What apply_zones runs, inside the loop: here with the same zones again.
        same = (self.box_center, self.box_half, self.plane_normal, self.plane_offset, self.counts)
        _load(self._workspace, *(a.copy() for a in same), q)
        self._previous[:] = saved

    def check(self, q: np.ndarray, dq: np.ndarray, tau: np.ndarray, dq_prev: np.ndarray) -> Violation | None:
        """The first violated limit, or None when the command is within every limit."""
        shape = self._shape
        if q.shape != shape or dq.shape != shape or tau.shape != shape:
            return Violation(Rule.BAD_SHAPE, -1, float("nan"), float(shape[0]))
        return self.violation(*check_command(self._workspace, q, dq, tau, dq_prev))

    @property
    def workspace(self) -> _CheckWorkspace:
        """This check's compiled data, for ``check_command`` run inside a larger compiled step."""
        return self._workspace

    def violation(self, code: int, index: int, value: float, limit: float) -> Violation | None:
        """``check_command``'s result as a Violation, None when the command passed. A zone
        violation's index comes as column * stride + point (boxes' columns first, then the
        capacity's planes): it leaves as the zone's place in the zone list (``zone_events``)."""
        if code == 0:
            return None
        if code == _CODES_ZONE:
            column, point = zone_and_point(index)
            boxes = [z for z, zone in enumerate(self.zones) if isinstance(zone, BoxZone)]
            planes = [z for z, zone in enumerate(self.zones) if not isinstance(zone, BoxZone)]
            listed = boxes[column] if column < len(boxes) else planes[column - self.capacity]
            index = zone_event_index(listed, point)
        return Violation(Rule(code), index, value, limit)


@structref.register
class _CheckWorkspaceType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(kind)) for name, kind in fields)


class _CheckWorkspace(structref.StructRefProxy):
    """The check's limits, zones, clearances and chain (its own buffers), for ``check_command``."""


_FIELDS = (
    "limits",  # (q_min, q_max, v_max, a_max, tau_max), each (n,)
    "dt",
    "tol",
    "radii",  # (k,)
    "box_center",  # (capacity, 3)
    "box_half",  # (capacity, 3)
    "plane_normal",  # (capacity, 3)
    "plane_offset",  # (capacity,)
    "counts",  # (2,) the active boxes and half-spaces: rows 0 .. count-1 of the arrays above
    "previous",  # (k, 2·capacity) clearances at the last command that passed
    "current",  # (k, 2·capacity) scratch
    "chain",  # the check's own Chain: arrays, frames, axes, positions, jacobians
    "frames",
    "axes",
    "positions",
    "jacobians",
)
structref.define_proxy(_CheckWorkspace, _CheckWorkspaceType, list(_FIELDS))


@numba.njit(cache=True)
def _check_workspace(
    limits, dt, tol, radii, box_center, box_half, plane_normal, plane_offset, counts, previous, current, chain,
    frames, axes, positions, jacobians,
):  # fmt: skip
    return _CheckWorkspace(
        limits, dt, tol, radii, box_center, box_half, plane_normal, plane_offset, counts, previous, current, chain,
        frames, axes, positions, jacobians,
    )  # fmt: skip


# The gap helpers take whole arrays and row indices: a row view (positions[i]) costs a reference
# count in and out, which over points × zones every tick shows in the kernel's timing.


@numba.njit(cache=True)
def _box_gap(positions, i, center, half, b, radius):
    """Signed clearance of point i's sphere to box b: the distance outside, minus the depth inside."""
    outside_sq, deepest = 0.0, -np.inf
    for a in range(3):
        d = abs(positions[i, a] - center[b, a]) - half[b, a]
        deepest = max(deepest, d)
        if d > 0.0:
            outside_sq += d * d
    return (np.sqrt(outside_sq) if deepest > 0.0 else deepest) - radius


@numba.njit(cache=True)
def _plane_gap(positions, i, normal, offset, h, radius):
    p = positions
    return normal[h, 0] * p[i, 0] + normal[h, 1] * p[i, 1] + normal[h, 2] * p[i, 2] - offset[h] - radius


@numba.njit(cache=True)
def _load(ws, box_center, box_half, plane_normal, plane_offset, counts, q):
    """New zones into ws's arrays (same shapes), with their baseline clearances at q (n,)."""
    ws.box_center[:, :] = box_center
    ws.box_half[:, :] = box_half
    ws.plane_normal[:, :] = plane_normal
    ws.plane_offset[:] = plane_offset
    ws.counts[:] = counts
    ws.previous[:, :] = np.inf
    _baseline(ws, q)


@numba.njit(cache=True)
def _baseline(ws, q):
    """The clearances at q (n,) as the baseline for the next command (after new zones)."""
    boxes, planes = ws.counts[0], ws.counts[1]
    if boxes + planes == 0:
        return
    forward(q, ws.chain, ws.frames, ws.axes, ws.positions, ws.jacobians, False)
    positions, radii, previous, cap = ws.positions, ws.radii, ws.previous, ws.box_center.shape[0]
    for i in range(positions.shape[0]):
        for b in range(boxes):
            previous[i, b] = _box_gap(positions, i, ws.box_center, ws.box_half, b, radii[i])
        for h in range(planes):
            previous[i, cap + h] = _plane_gap(positions, i, ws.plane_normal, ws.plane_offset, h, radii[i])


@numba.njit(cache=True)
def check_command(ws, q, dq, tau, dq_prev):
    """The first limit q, dq, tau (n,) violate (dq_prev (n,): the last command's velocity), as
    (rule code, index, value, limit); code 0 when none. ws: a HardLimitCheck's ``workspace``."""
    q_min, q_max, v_max, a_max, tau_max = ws.limits
    dt, tol, radii, previous, current = ws.dt, ws.tol, ws.radii, ws.previous, ws.current
    box_center, box_half, plane_normal, plane_offset = ws.box_center, ws.box_half, ws.plane_normal, ws.plane_offset
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
    boxes, planes, cap = ws.counts[0], ws.counts[1], box_center.shape[0]
    if boxes + planes > 0:
        # Only now that q is known finite; without zones nothing below reads the positions.
        forward(q, ws.chain, ws.frames, ws.axes, ws.positions, ws.jacobians, False)
    positions = ws.positions
    for i in range(positions.shape[0]):
        for b in range(boxes):
            gap = _box_gap(positions, i, box_center, box_half, b, radii[i])
            current[i, b] = gap
            if gap < -tol and gap < previous[i, b] - tol:
                return _CODES_ZONE, b * _STRIDE + i, gap, 0.0
        for h in range(planes):
            z = cap + h
            gap = _plane_gap(positions, i, plane_normal, plane_offset, h, radii[i])
            current[i, z] = gap
            if gap < -tol and gap < previous[i, z] - tol:
                return _CODES_ZONE, z * _STRIDE + i, gap, 0.0
    # Passed: these clearances are the baseline the next command is held to (the active zones'
    # columns only: the rest of the capacity is never read, and copying it costs cache misses).
    for i in range(positions.shape[0]):
        for b in range(boxes):
            previous[i, b] = current[i, b]
        for h in range(planes):
            previous[i, cap + h] = current[i, cap + h]
    return 0, -1, 0.0, 0.0


_CODES_FINITE = _CODES["finite"]
_CODES_POSITION = _CODES["position"]
_CODES_VELOCITY = _CODES["velocity"]
_CODES_ACCELERATION = _CODES["acceleration"]
_CODES_EFFORT = _CODES["effort"]
_CODES_ZONE = _CODES["zone"]
_STRIDE = ZONE_POINT_STRIDE
