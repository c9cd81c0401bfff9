"""Trajectory segments on the realtime side: checking one as it arrives, then sampling it tick by
tick with cubic Hermite interpolation (the interpolation of ros2_control's joint trajectory
controller between samples that carry positions and velocities).

A segment is a few time-stamped samples (t_k, q_k, dq_k) reaching some 100 ms or more ahead of
the executive's now. Between two samples the position is the cubic that meets both samples'
positions and velocities, so position and velocity are continuous across samples; before the
first sample the first one holds; past the last one the segment has run out, and the kernel's
watchdog counts from there. Both steps are compiled (numba): a new segment arrives every control
tick (every fifth safety tick) and sampling runs on every safety tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np


class IncomingSegment(Protocol):
    """A segment as the trajectory ring delivers it (times on the kernel's clock)."""

    seq: int
    sent: float
    times: np.ndarray
    q: np.ndarray
    dq: np.ndarray


@dataclass(slots=True)
class Segment:
    """A segment the kernel accepted: private copies of its samples."""

    seq: int
    times: np.ndarray
    """(k,) s, strictly increasing."""
    q: np.ndarray
    """(k, n) rad."""
    dq: np.ndarray
    """(k, n) rad/s."""

    @property
    def end(self) -> float:
        return float(self.times[-1])


# What ``check_segment`` found (the first problem, in this order).
SEGMENT_OK, SEGMENT_NON_FINITE, SEGMENT_NOT_INCREASING = 0, 1, 2


@numba.njit(cache=True)
def check_segment(times, q, dq):
    """(problem, index, value) for a segment: times (k,), q and dq (k, n) of matching shapes.

    NON_FINITE: the first non-finite value (index: its joint, -1 for a time; times first, then q
    and dq sample by sample); NOT_INCREASING: sample ``index`` is not later than the one before
    (value: its time). (SEGMENT_OK, -1, 0.0) when the segment is usable."""
    k, n = q.shape
    for s in range(k):
        if not np.isfinite(times[s]):
            return SEGMENT_NON_FINITE, -1, times[s]
        for j in range(n):
            if not np.isfinite(q[s, j]):
                return SEGMENT_NON_FINITE, j, q[s, j]
            if not np.isfinite(dq[s, j]):
                return SEGMENT_NON_FINITE, j, dq[s, j]
        if s > 0 and not times[s] > times[s - 1]:
            return SEGMENT_NOT_INCREASING, s, times[s]
    return SEGMENT_OK, -1, 0.0


@numba.njit(cache=True)
def sample_segment(times, q, dq, t, out_q, out_dq):
    """Fill out_q, out_dq (n,) with the segment's position and velocity at ``t`` (s).

    Cubic Hermite between the two samples around ``t``; the first sample before the segment
    starts. Returns False, leaving the outputs alone, once ``t`` is past the last sample."""
    k, n = q.shape
    if t > times[k - 1]:
        return False
    if t <= times[0] or k == 1:
        for j in range(n):
            out_q[j] = q[0, j]
            out_dq[j] = dq[0, j]
        return True
    i = 0
    while times[i + 1] < t:  # k is a few dozen at most: a linear scan beats a bisection here
        i += 1
    h = times[i + 1] - times[i]
    s = (t - times[i]) / h
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    # d/dt of the basis (d/ds divided by h)
    d00 = (6.0 * s2 - 6.0 * s) / h
    d10 = 3.0 * s2 - 4.0 * s + 1.0
    d01 = (-6.0 * s2 + 6.0 * s) / h
    d11 = 3.0 * s2 - 2.0 * s
    for j in range(n):
        p0, p1, m0, m1 = q[i, j], q[i + 1, j], dq[i, j], dq[i + 1, j]
        out_q[j] = h00 * p0 + h10 * h * m0 + h01 * p1 + h11 * h * m1
        out_dq[j] = d00 * p0 + d10 * m0 + d01 * p1 + d11 * m1
    return True
