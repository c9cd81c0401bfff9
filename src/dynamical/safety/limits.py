"""Joint limits as bounds on the next tick's joint velocity.

The filter decides a joint velocity v (n,) for the next tick; the command it sends is
q = q_ref + v·dt with velocity feed-forward v. Every joint limit becomes an interval on v:
speed, acceleration (from the previous safe velocity), position with room to brake
(after this tick the joint must still be able to stop inside its range at its deceleration),
and effort (the torque the drive is asked for: kept where it fits the others; where it cannot,
the drive's own torque clamp acts).

The arithmetic is compiled with numba: at 1 kHz, per-element numpy calls cost more than the
work (about 1 µs each), and the kernel has a 100 µs budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.safety.rules import Rule

_VELOCITY, _ACCELERATION, _POSITION, _EFFORT = (
    int(Rule.VELOCITY_LIMIT),
    int(Rule.ACCELERATION_LIMIT),
    int(Rule.POSITION_LIMIT),
    int(Rule.EFFORT_LIMIT),
)


@dataclass(frozen=True)
class JointLimits:
    """Per-joint limits, arrays (n,), SI units; the deceleration used to brake is a_max."""

    q_min: np.ndarray
    q_max: np.ndarray
    v_max: np.ndarray
    a_max: np.ndarray
    tau_max: np.ndarray
    kp: np.ndarray
    kv: np.ndarray

    @classmethod
    def of(cls, description: RobotDescription) -> JointLimits:
        return cls(
            q_min=description.q_min.astype(float),
            q_max=description.q_max.astype(float),
            v_max=description.v_max.astype(float),
            a_max=description.a_max.astype(float),
            tau_max=description.tau_max.astype(float),
            kp=description.kp.astype(float),
            kv=description.kv.astype(float),
        )


@numba.njit(cache=True)
def braking_room_speed(room: float, a_max: float, dt: float) -> float:
    """Largest speed from which one tick of motion, then braking at a_max, covers ≤ room.

    Braking tick by tick covers v²/(2a) + v·dt/2 (``stopping_distance``); with this tick's own
    v·dt that is v²/(2a) + 1.5·v·dt ≤ room.
    """
    c = 1.5 * dt
    return a_max * (np.sqrt(c * c + 2.0 * max(room, 0.0) / a_max) - c)


@numba.njit(cache=True)
def stopping_distance(v: float, a_max: float, dt: float) -> float:
    """Signed distance covered while braking tick by tick from v at a_max."""
    return v * (abs(v) / (2.0 * a_max) + 0.5 * dt)


@numba.njit(cache=True)
def joint_bounds(
    q_ref: np.ndarray,
    v_prev: np.ndarray,
    q_meas: np.ndarray,
    dq_meas: np.ndarray,
    tau_ff: np.ndarray,
    q_min: np.ndarray,
    q_max: np.ndarray,
    v_max: np.ndarray,
    a_max: np.ndarray,
    tau_max: np.ndarray,
    kp: np.ndarray,
    kv: np.ndarray,
    dt: float,
    speed_scale: float,
    lower: np.ndarray,
    upper: np.ndarray,
    lower_rule: np.ndarray,
    upper_rule: np.ndarray,
) -> bool:
    """Fill lower/upper (n,) on v and the rule setting each side; False when some joint has no
    velocity that keeps its position, speed and acceleration limits together."""
    feasible = True
    for i in range(q_ref.shape[0]):
        v_lim = v_max[i] * speed_scale
        hi, hi_rule = v_lim, _VELOCITY
        lo, lo_rule = -v_lim, _VELOCITY
        accel_hi = v_prev[i] + a_max[i] * dt
        accel_lo = v_prev[i] - a_max[i] * dt
        if accel_hi < hi:
            hi, hi_rule = accel_hi, _ACCELERATION
        if accel_lo > lo:
            lo, lo_rule = accel_lo, _ACCELERATION
        room_hi = braking_room_speed(q_max[i] - q_ref[i], a_max[i], dt)
        room_lo = -braking_room_speed(q_ref[i] - q_min[i], a_max[i], dt)
        if room_hi < hi:
            hi, hi_rule = room_hi, _POSITION
        if room_lo > lo:
            lo, lo_rule = room_lo, _POSITION
        if lo > hi:
            feasible = False
        # Drive torque for target q_ref + v·dt with feed-forward v:
        # kp·(q_ref + v·dt - q) - kv·dq + kv·v + tau_ff, linear in v.
        base = kp[i] * (q_ref[i] - q_meas[i]) - kv[i] * dq_meas[i] + tau_ff[i]
        gain = kp[i] * dt + kv[i]
        if gain > 0.0:
            effort_lo = (-tau_max[i] - base) / gain
            effort_hi = (tau_max[i] - base) / gain
            if max(lo, effort_lo) <= min(hi, effort_hi):
                if effort_lo > lo:
                    lo, lo_rule = effort_lo, _EFFORT
                if effort_hi < hi:
                    hi, hi_rule = effort_hi, _EFFORT
        lower[i], upper[i] = lo, hi
        lower_rule[i], upper_rule[i] = lo_rule, hi_rule
    return feasible
