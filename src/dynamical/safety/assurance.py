"""Runtime assurance (Simplex): a braking controller that can always stop, and the set it guards.

The recoverable set: states from which braking every joint at its deceleration stops it inside
its range, and every monitored point's approach to a keep-out zone can be absorbed by the
assumed Cartesian deceleration. The filter's output must stay in that set; when it would not
(or the filter has no solution) the braking controller takes over, and hands back only after
the filter's output has stayed in a shrunken set (distances divided by a margin) for a number
of consecutive ticks.
"""

from __future__ import annotations

import numba
import numpy as np

from dynamical.safety.limits import stopping_distance


@numba.njit(cache=True)
def braking_step(
    q_ref: np.ndarray, v_prev: np.ndarray, q_min: np.ndarray, q_max: np.ndarray, a_max: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """One tick of braking at full deceleration from (q_ref, v_prev): (q, v), each (n,)."""
    n = q_ref.shape[0]
    q, v = np.empty(n), np.empty(n)
    for i in range(n):
        step = a_max[i] * dt
        v[i] = v_prev[i] - min(max(v_prev[i], -step), step)
        q[i] = min(max(q_ref[i] + v[i] * dt, q_min[i]), q_max[i])
    return q, v


@numba.njit(cache=True)
def recoverable(
    q: np.ndarray,
    v: np.ndarray,
    q_min: np.ndarray,
    q_max: np.ndarray,
    a_max: np.ndarray,
    dt: float,
    approach: np.ndarray,
    zone_room: np.ndarray,
    cartesian_deceleration: float,
    margin: float,
) -> tuple[bool, bool]:
    """Whether braking from (q, v) (n,) stays inside joint ranges and out of zones: plainly, and
    with every distance divided by ``margin`` ≥ 1 (the hand-back test).

    approach (m,): the points' speeds toward each zone face (positive = closing);
    zone_room (m,): the clearance left there.
    """
    ok, ok_margin = True, True
    for i in range(q.shape[0]):
        travel = stopping_distance(v[i], a_max[i], dt)
        room_up, room_down = q_max[i] - q[i], q[i] - q_min[i]
        if travel > room_up + 1e-12 or -travel > room_down + 1e-12:
            return False, False
        if travel * margin > room_up or -travel * margin > room_down:
            ok_margin = False
    for r in range(approach.shape[0]):
        closing = max(approach[r], 0.0)
        absorbable_sq = 2.0 * cartesian_deceleration * max(zone_room[r], 0.0)
        if closing * closing > absorbable_sq + 1e-9:
            return False, False
        if closing * closing * margin > absorbable_sq:
            ok_margin = False
    return ok, ok_margin


class Supervisor:
    """Chooses between the filter (nominal) and the braking controller, with hysteresis."""

    def __init__(self, handback_ticks: int) -> None:
        self.handback_ticks = handback_ticks
        self.braking = False
        self._safe_streak = 0

    def update(self, nominal_safe: bool, nominal_safe_with_margin: bool) -> tuple[bool, bool]:
        """Advance one tick. Returns (use_braking, changed)."""
        before = self.braking
        if not self.braking:
            if not nominal_safe:
                self.braking, self._safe_streak = True, 0
        else:
            self._safe_streak = self._safe_streak + 1 if nominal_safe_with_margin else 0
            if self._safe_streak >= self.handback_ticks:
                self.braking = False
        return self.braking, self.braking != before

    def force(self) -> None:
        """Engage braking now (e-stop, watchdog, separation); hand-back needs a fresh safe streak."""
        self.braking, self._safe_streak = True, 0
