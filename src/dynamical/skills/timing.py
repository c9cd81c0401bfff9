"""Time-parameterized joint paths: a skill's waypoints timed within the robot's joint limits.

The safety kernel bounds position (with room to brake), speed and acceleration every 1 ms tick.
A skill that asks for more is filtered, and each filtered tick is an intervention; so every
scripted motion is timed here, before it is sent, to stay inside those limits with a margin:

- the geometry: a shape-preserving cubic (PCHIP) through the waypoints, parameterized by
  joint-space arc length. Between two waypoints each joint stays between their two values
  (no overshoot), so a path whose waypoints lie inside the joint ranges lies inside them too;
- the timing: TOPP-RA (``toppra``) finds the fastest speed along that path under per-joint
  velocity and acceleration limits, at rest at both ends;
- the check: the result is sampled at the kernel's tick; where the optimizer's grid let a
  sample exceed a limit (between grid points), time is stretched uniformly until none does.

Every array is (n,) per joint (or (k, n) for k samples), rad, rad/s, rad/s², s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.interpolate import PchipInterpolator

from dynamical.robot.description import RobotDescription

if TYPE_CHECKING:
    from toppra.interpolator import AbstractGeometricPath

POSITION_MARGIN_RAD = 0.02
"""rad every commanded position keeps from its joint's range ends (at most a quarter of the
range): the kernel's position rule keeps room to brake before the end of the range."""
VELOCITY_FRACTION = 0.8
"""Of the profile's speed limit: the kernel scales speed down near people from the full limit."""
ACCELERATION_FRACTION = 0.3
"""Of the profile's acceleration limit. The kernel bounds each 1 ms tick's change of velocity
(a_max·1 ms) on targets it interpolates (cubic Hermite, samples 20 ms apart) from the plan's
positions and velocities, plus a tracking correction. Where TOPP-RA switches from full
acceleration to full deceleration the interpolant and the correction add up to about twice
the plan's acceleration on one tick: at 0.3 the worst tick asks for two thirds of the limit."""
CHECK_PERIOD_S = 0.001
"""s between the samples the limits are checked at: the kernel's tick."""
GRID_STEP = 0.02
"""rad of path length between TOPP-RA's grid points (at least ``MIN_GRID`` points a path)."""
MIN_GRID = 40
MAX_GRID = 200
MAX_STRETCHES = 8
"""Rounds of checking and stretching before a timing is given up (two suffice in practice)."""
_SAME_POINT = 1e-9
"""rad: consecutive waypoints closer than this are one."""


class MotionTimingError(ValueError):
    """A path could not be timed within the limits (the optimizer found no parameterization)."""


@dataclass(frozen=True)
class MotionLimits:
    """What a timed path keeps to, arrays (n,): the joint range shrunk by a margin and fractions
    of the profile's speed and acceleration limits."""

    q_min: np.ndarray
    q_max: np.ndarray
    v_max: np.ndarray
    a_max: np.ndarray

    @classmethod
    def of(
        cls,
        description: RobotDescription,
        *,
        position_margin: float = POSITION_MARGIN_RAD,
        velocity_fraction: float = VELOCITY_FRACTION,
        acceleration_fraction: float = ACCELERATION_FRACTION,
    ) -> MotionLimits:
        q_min, q_max = description.q_min.astype(float), description.q_max.astype(float)
        margin = np.minimum(position_margin, 0.25 * (q_max - q_min))
        return cls(
            q_min=q_min + margin,
            q_max=q_max - margin,
            v_max=description.v_max.astype(float) * velocity_fraction,
            a_max=description.a_max.astype(float) * acceleration_fraction,
        )

    def clip(self, q: np.ndarray) -> np.ndarray:
        """``q`` (..., n) inside the range. A joint resting at the end of its range (the fingers
        and knees of a rest pose) is moved inside too: held at the very end, the kernel's
        position rule acts on the smallest tracking correction outward."""
        return np.clip(q, self.q_min, self.q_max)


@dataclass(frozen=True)
class TimeLaw:
    """Where along a path (arc length s, rad) a motion is at time t, with constant path
    acceleration between TOPP-RA's grid points (its own output format, evaluated vectorized).
    Arrays (g,) over the g grid points; ``path`` gives the joints (m,) at s and their first two
    derivatives by s."""

    s: np.ndarray
    sd: np.ndarray
    """ds/dt at each grid point."""
    t: np.ndarray
    """s, when each grid point is passed."""
    sdd: np.ndarray
    """(g-1,) d²s/dt² on each stretch."""
    path: tuple[Any, Any, Any]
    """The path and its first and second derivatives by s: callables (k,) → (k, m)."""

    @classmethod
    def of(cls, s: np.ndarray, sd: np.ndarray, path: tuple[Any, Any, Any]) -> TimeLaw:
        sdd = (sd[1:] ** 2 - sd[:-1] ** 2) / (2.0 * np.diff(s))
        t = np.concatenate([[0.0], np.cumsum(2.0 * np.diff(s) / (sd[1:] + sd[:-1]))])
        return cls(s, sd, t, sdd, path)

    @property
    def duration(self) -> float:
        return float(self.t[-1])

    def __call__(self, ts: np.ndarray | float, order: int = 0) -> np.ndarray:
        """Joint positions (order 0), velocities (1) or accelerations (2), (k, m) at times
        ``ts`` (k,), or (m,) at one time."""
        times = np.atleast_1d(np.asarray(ts, dtype=float))
        i = np.clip(np.searchsorted(self.t, times, side="right") - 1, 0, len(self.sdd) - 1)
        dt = np.clip(times, 0.0, self.duration) - self.t[i]
        s = self.s[i] + self.sd[i] * dt + 0.5 * self.sdd[i] * dt**2
        s = np.clip(s, self.s[0], self.s[-1])
        if order == 0:
            out = self.path[0](s)
        else:
            sd = (self.sd[i] + self.sdd[i] * dt)[:, None]
            out = self.path[1](s) * sd
            if order == 2:
                out = self.path[2](s) * sd**2 + self.path[1](s) * self.sdd[i][:, None]
        return out if np.ndim(ts) else out[0]


@dataclass(frozen=True)
class TimedPath:
    """A motion from ``start`` through ``waypoints`` (k, n), at rest at both ends, lasting
    ``duration`` s. ``target``, ``velocity`` and ``acceleration`` take t in s from the start;
    before 0 they give the start, after ``duration`` the end (at rest)."""

    start: np.ndarray
    waypoints: np.ndarray
    duration: float
    joints: np.ndarray
    """Indices of the joints that move; the others keep their start value throughout."""
    law: TimeLaw | None = field(repr=False)
    """The moving joints' motion (None: nothing moves)."""
    stretch: float = 1.0
    """Uniform time scaling (≥ 1) applied to ``law``: slower, within the same limits."""

    @property
    def end(self) -> np.ndarray:
        return self.waypoints[-1].copy()

    def target(self, t: float) -> np.ndarray:
        """Joint positions (n,) at ``t``."""
        if t >= self.duration:
            return self.end
        q = self.start.copy()
        if self.law is not None:
            q[self.joints] = self.law(self._law_time(t))
        return q

    def velocity(self, t: float) -> np.ndarray:
        """Joint velocities (n,) at ``t``."""
        v = np.zeros_like(self.start)
        if self.law is not None and 0.0 < t < self.duration:
            v[self.joints] = self.law(self._law_time(t), 1) / self.stretch
        return v

    def acceleration(self, t: float) -> np.ndarray:
        """Joint accelerations (n,) at ``t``."""
        a = np.zeros_like(self.start)
        if self.law is not None and 0.0 < t < self.duration:
            a[self.joints] = self.law(self._law_time(t), 2) / self.stretch**2
        return a

    def sample(self, period: float = CHECK_PERIOD_S) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(t (m,), q (m, n), v (m, n), a (m, n)) every ``period`` s from 0, and at ``duration``."""
        ts = np.append(np.arange(0.0, self.duration, period), self.duration)
        n = self.start.shape[0]
        q = np.tile(self.start, (ts.shape[0], 1))
        v, a = np.zeros((ts.shape[0], n)), np.zeros((ts.shape[0], n))
        if self.law is not None:
            law_ts = np.minimum(ts / self.stretch, self.law.duration)
            q[:, self.joints] = self.law(law_ts)
            v[:, self.joints] = self.law(law_ts, 1) / self.stretch
            a[:, self.joints] = self.law(law_ts, 2) / self.stretch**2
            q[-1], v[-1], a[-1] = self.waypoints[-1], 0.0, 0.0
        return ts, q, v, a

    @property
    def peak_speed(self) -> float:
        """rad/s, the fastest any joint moves on this path."""
        return 0.0 if self.law is None else float(np.abs(self.sample()[2]).max())

    def _law_time(self, t: float) -> float:
        assert self.law is not None
        return min(max(t, 0.0) / self.stretch, self.law.duration)


def time_path(
    start: np.ndarray,
    waypoints: np.ndarray,
    limits: MotionLimits,
    *,
    max_speed: float | None = None,
    min_duration: float = 0.0,
) -> TimedPath:
    """The fastest motion from ``start`` (n,) through every one of ``waypoints`` (k, n) that keeps
    ``limits`` (and every joint at most ``max_speed`` rad/s), at rest at both ends, lasting at
    least ``min_duration`` s. Waypoints are clipped into the limits' range first; ``start`` may
    lie outside it (the path then moves inward). Raises MotionTimingError when the optimizer
    fails."""
    start = np.asarray(start, dtype=float)
    points = limits.clip(np.atleast_2d(np.asarray(waypoints, dtype=float)))
    path = np.vstack([start[None, :], points])
    keep = np.concatenate([[True], np.linalg.norm(np.diff(path, axis=0), axis=1) > _SAME_POINT])
    path = path[keep]
    joints = np.flatnonzero(np.ptp(path, axis=0) > _SAME_POINT)
    if len(path) < 2 or joints.size == 0:
        return TimedPath(start, points, float(min_duration), joints, None)
    v_lim = limits.v_max[joints] if max_speed is None else np.minimum(limits.v_max[joints], max_speed)
    a_lim = limits.a_max[joints]
    law = _optimal_law(path[:, joints], v_lim, a_lim)
    optimal = law.duration
    # Stretch time until every sample keeps the limits: speed scales with 1/k, acceleration 1/k².
    # Checked twice as often as the kernel ticks (its ticks are among the samples), and again
    # after each stretch: the samples move with it, and the acceleration jumps where TOPP-RA
    # switches and at the waypoints.
    stretch = 1.0
    for _ in range(MAX_STRETCHES):
        law_ts = np.arange(0.0, optimal * stretch, CHECK_PERIOD_S / 2) / stretch
        excess = max(
            float(np.max(np.abs(law(law_ts, 1)) / v_lim)) / stretch,
            float(np.sqrt(np.max(np.abs(law(law_ts, 2)) / a_lim))) / stretch,
        )
        if excess <= 1.0:
            break
        stretch *= excess * (1.0 + 1e-6)
    else:
        raise MotionTimingError(f"the timing of a {len(path)}-point path kept exceeding the limits")
    duration = optimal * stretch
    if duration < min_duration:
        stretch *= min_duration / duration
        duration = float(min_duration)
    return TimedPath(start, points, duration, joints, law, stretch)


def _optimal_law(path: np.ndarray, v_lim: np.ndarray, a_lim: np.ndarray) -> TimeLaw:
    """TOPP-RA's time law along the PCHIP through ``path`` (k, m) under symmetric limits (m,)."""
    # Imported here: toppra loads matplotlib (~2 s), which only planning needs.
    import toppra
    import toppra.algorithm
    import toppra.constraint

    logging.getLogger("toppra").setLevel(logging.WARNING)
    geometric = _pchip_path(path)
    length = float(geometric.path_interval[1])
    count = int(np.clip(np.ceil(length / GRID_STEP), MIN_GRID, MAX_GRID))
    knots = geometric.waypoints[0]
    grid = np.unique(np.concatenate([np.linspace(0.0, length, count + 1), knots]))
    # Grid points a hair apart make the optimizer's steps ill-conditioned: merge them.
    grid = grid[np.concatenate([[True], np.diff(grid) > 1e-6 * length])]
    grid[-1] = length
    constraints = [
        toppra.constraint.JointVelocityConstraint(np.column_stack([-v_lim, v_lim])),
        toppra.constraint.JointAccelerationConstraint(
            np.column_stack([-a_lim, a_lim]),
            discretization_scheme=toppra.constraint.DiscretizationType.Interpolation,
        ),
    ]
    solver = toppra.algorithm.TOPPRA(constraints, geometric, gridpoints=grid)
    solver.compute_parameterization(0.0, 0.0)
    result = solver.problem_data
    if result.return_code != toppra.algorithm.ParameterizationReturnCode.Ok or result.sd_vec is None:
        raise MotionTimingError(f"no timing within the limits along a {length:.3f} rad path of {len(path)} points")
    sd = np.maximum(np.asarray(result.sd_vec, dtype=float), 0.0)
    return TimeLaw.of(np.asarray(result.gridpoints, dtype=float), sd, geometric.derivatives)


def _pchip_path(path: np.ndarray) -> AbstractGeometricPath:
    """The shape-preserving cubic through ``path`` (k, m) by arc length, as a toppra path."""
    from toppra.interpolator import AbstractGeometricPath

    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])

    class PchipPath(AbstractGeometricPath):
        def __init__(self) -> None:
            spline = PchipInterpolator(s, path, axis=0)
            self.derivatives = (spline, spline.derivative(1), spline.derivative(2))

        def __call__(self, path_positions: float | np.ndarray, order: int = 0) -> np.ndarray:
            return self.derivatives[order](np.clip(path_positions, s[0], s[-1]))

        @property
        def dof(self) -> int:
            return path.shape[1]

        @property
        def path_interval(self) -> np.ndarray:
            return np.array([s[0], s[-1]])

        @property
        def waypoints(self) -> tuple[np.ndarray, np.ndarray]:
            return s, path

    return PchipPath()
