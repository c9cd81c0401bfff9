"""An after-the-fact audit of the commands a driver received: how many broke a joint limit.

It shares no code with the kernel's checks, so an evaluation or a test can count what reached
the driver instead of trusting the kernel's own account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynamical.robot.description import RobotDescription

_EPS = 1e-9


@dataclass(frozen=True)
class LimitAudit:
    commands: int
    non_finite: int
    position: int
    velocity: int
    acceleration: int
    effort: int

    @property
    def violations(self) -> int:
        return self.non_finite + self.position + self.velocity + self.acceleration + self.effort


def audit_commands(
    description: RobotDescription, q: np.ndarray, dq: np.ndarray, tau: np.ndarray, dt: float
) -> LimitAudit:
    """Count the commands among ``q``, ``dq``, ``tau`` (N, n), sent every ``dt`` s starting from
    rest, that break a position, velocity, acceleration or effort limit."""
    d = description
    finite = np.isfinite(q).all(axis=1) & np.isfinite(dq).all(axis=1) & np.isfinite(tau).all(axis=1)
    position = ((q < d.q_min - _EPS) | (q > d.q_max + _EPS)).any(axis=1)
    velocity = (np.abs(dq) > d.v_max * (1 + 1e-9) + _EPS).any(axis=1)
    accel = np.diff(np.vstack([np.zeros((1, d.n_joints)), dq]), axis=0) / dt
    acceleration = (np.abs(accel) > d.a_max * (1 + 1e-6)).any(axis=1)
    effort = (np.abs(tau) > d.tau_max + _EPS).any(axis=1)
    return LimitAudit(
        commands=len(q),
        non_finite=int((~finite).sum()),
        position=int((finite & position).sum()),
        velocity=int((finite & velocity).sum()),
        acceleration=int((finite & acceleration).sum()),
        effort=int((finite & effort).sum()),
    )
