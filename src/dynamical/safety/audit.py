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
    description: RobotDescription,
    q: np.ndarray,
    dq: np.ndarray,
    tau: np.ndarray,
    dt: float,
    dq_before: np.ndarray | None = None,
) -> LimitAudit:
    """Count the commands among ``q``, ``dq``, ``tau`` (N, n), sent every ``dt`` s starting from
    rest, that break a position, velocity, acceleration or effort limit. ``dq_before`` (n,) is
    the velocity commanded just before the first row when the stream does not start from rest
    (one batch of a longer stream)."""
    d = description
    finite = np.isfinite(q).all(axis=1) & np.isfinite(dq).all(axis=1) & np.isfinite(tau).all(axis=1)
    position = ((q < d.q_min - _EPS) | (q > d.q_max + _EPS)).any(axis=1)
    velocity = (np.abs(dq) > d.v_max * (1 + 1e-9) + _EPS).any(axis=1)
    before = np.zeros((1, d.n_joints)) if dq_before is None else np.reshape(dq_before, (1, d.n_joints))
    accel = np.diff(np.vstack([before, dq]), axis=0) / dt
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


class StreamAudit:
    """``audit_commands`` over a stream as it is sent, in batches: the totals always equal one
    audit of the whole stream so far, up to the commands still buffered.

    :meth:`add` only copies a command into a preallocated buffer (a few µs, cheap enough for the
    1 kHz loop); every ``batch`` commands the buffer is audited at once, with the last velocity
    of the previous batch carried over for the acceleration check."""

    def __init__(self, description: RobotDescription, dt: float, batch: int = 10) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.description = description
        self.dt = float(dt)
        n = description.n_joints
        self._q = np.zeros((batch, n))
        self._dq = np.zeros((batch, n))
        self._tau = np.zeros((batch, n))
        self._dq_before = np.zeros(n)
        self._count = 0
        self._totals = np.zeros(6, dtype=np.int64)  # commands, non_finite, position, velocity, acceleration, effort

    @property
    def pending(self) -> int:
        """Commands added but not audited yet."""
        return self._count

    def add(self, q: np.ndarray, dq: np.ndarray | None, tau: np.ndarray | None) -> bool:
        """Record one command (arrays (n,); a missing dq or tau counts as zero, which is what a
        driver applies). Returns True when this call audited a full batch."""
        i = self._count
        self._q[i] = q
        if dq is None:
            self._dq[i] = 0.0
        else:
            self._dq[i] = dq
        if tau is None:
            self._tau[i] = 0.0
        else:
            self._tau[i] = tau
        self._count = i + 1
        if self._count == len(self._q):
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Audit the buffered commands now."""
        k = self._count
        if not k:
            return
        audit = audit_commands(self.description, self._q[:k], self._dq[:k], self._tau[:k], self.dt, self._dq_before)
        self._totals += (
            audit.commands,
            audit.non_finite,
            audit.position,
            audit.velocity,
            audit.acceleration,
            audit.effort,
        )
        self._dq_before[:] = self._dq[k - 1]
        self._count = 0

    @property
    def totals(self) -> LimitAudit:
        """Everything audited so far (buffered commands not included)."""
        return LimitAudit(*(int(x) for x in self._totals))
