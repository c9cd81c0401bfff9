"""TrajectoryRing: time-stamped trajectory segments, executive -> realtime.

The executive does not have to hit every control tick: each tick it publishes a segment, a few
time-stamped samples (positions and velocities) that reach at least a lookahead ahead of now.
The realtime side takes the newest complete one and interpolates it tick by tick (cubic Hermite,
``safety.trajectory``), so an executive that is late by less than the lookahead costs nothing:
the robot keeps following the plan it was given. Like ``CommandRing``, a slot carries its own
sequence number (0 while being written) and the head names the newest complete slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.segments import (
    Layout,
    MappedSegment,
    attach_segment,
    check_shape,
    check_size,
    create_segment,
    ring_latest,
)

SEGMENT_SAMPLES = 32
"""Most samples one segment holds (a 200 ms lookahead at 20 ms spacing needs 11)."""


@dataclass(frozen=True)
class TrajectorySegment:
    """One segment as published; arrays are private copies."""

    seq: int
    sent: float
    """s, when the executive published it (its clock: the kernel's)."""
    times: np.ndarray
    """(k,) s, strictly increasing sample times."""
    q: np.ndarray
    """(k, n) joint positions at ``times``, rad."""
    dq: np.ndarray
    """(k, n) joint velocities at ``times``, rad/s."""

    @property
    def end(self) -> float:
        """s, the time of the last sample: the robot holds it after, until the watchdog acts."""
        return float(self.times[-1])


class TrajectoryRing(MappedSegment):
    """Trajectory segments from the executive (single writer) to the realtime side."""

    _KIND = "TrajectoryRing"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int, capacity: int, samples: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        self.capacity = capacity
        self.samples = samples
        views = self._layout(n_joints, capacity, samples).map(shm)
        self._head = views["head"]  # (1,) int64, seq of the newest complete segment
        self._slot_seq = views["slot_seq"]  # (capacity,) int64, 0 while the slot is being written
        self._count = views["count"]  # (capacity,) int64, samples in the slot
        self._sent = views["sent"]  # (capacity,) float64
        self._times = views["times"]  # (capacity, samples) float64
        self._q = views["q"]  # (capacity, samples, n) float64
        self._dq = views["dq"]

    @staticmethod
    def _layout(n_joints: int, capacity: int, samples: int) -> Layout:
        layout = Layout()
        layout.add("head", (1,), np.int64)
        layout.add("slot_seq", (capacity,), np.int64)
        layout.add("count", (capacity,), np.int64)
        layout.add("sent", (capacity,), np.float64)
        layout.add("times", (capacity, samples), np.float64)
        layout.add("q", (capacity, samples, n_joints), np.float64)
        layout.add("dq", (capacity, samples, n_joints), np.float64)
        return layout

    @classmethod
    def create(
        cls, name: str | None, n_joints: int, capacity: int = 4, samples: int = SEGMENT_SAMPLES
    ) -> TrajectoryRing:
        check_shape(cls._KIND, n_joints, capacity)
        check_shape(cls._KIND, n_joints, samples)
        shm = create_segment(name, cls._KIND, cls._layout(n_joints, capacity, samples), n_joints, capacity)
        return cls(shm, True, n_joints, capacity, samples)

    @classmethod
    def attach(cls, name: str, n_joints: int, capacity: int = 4, samples: int = SEGMENT_SAMPLES) -> TrajectoryRing:
        shm, _ = attach_segment(name, cls._KIND, n_joints, capacity)
        check_size(shm, cls._KIND, cls._layout(n_joints, capacity, samples))
        return cls(shm, False, n_joints, capacity, samples)

    def push(self, sent: float, times: np.ndarray, q: np.ndarray, dq: np.ndarray) -> int:
        """Publish a segment: ``times`` (k,), ``q`` and ``dq`` (k, n), 1 <= k <= ``samples``.
        Returns its sequence number. Values pass unchecked (the kernel validates them)."""
        k = int(np.shape(times)[0]) if np.ndim(times) == 1 else -1
        n = self.n_joints
        if not 1 <= k <= self.samples:
            raise ValueError(f"a segment has 1 to {self.samples} samples, got times of shape {np.shape(times)}")
        if np.shape(q) != (k, n) or np.shape(dq) != (k, n):
            raise ValueError(f"q and dq must have shape ({k}, {n}), got {np.shape(q)} and {np.shape(dq)}")
        seq = int(self._head[0]) + 1
        i = (seq - 1) % self.capacity
        slot_seq = self._slot_seq
        slot_seq[i] = 0
        self._count[i] = k
        self._sent[i] = sent
        self._times[i, :k] = times
        self._q[i, :k] = q
        self._dq[i, :k] = dq
        slot_seq[i] = seq
        self._head[0] = seq
        return seq

    def last_seq(self) -> int:
        """Sequence number of the newest published segment (0 before the first): one word, for
        the realtime side's once-per-tick check."""
        return int(self._head[0])

    def _copy(self, seq: int) -> TrajectorySegment | None:
        i = (seq - 1) % self.capacity
        slot_seq = self._slot_seq
        if slot_seq[i] != seq:
            return None
        k = int(self._count[i])
        if not 1 <= k <= self.samples:  # only a torn write leaves this; the seq check below decides
            k = 1
        sent = float(self._sent[i])
        times = self._times[i, :k].copy()
        q = self._q[i, :k].copy()
        dq = self._dq[i, :k].copy()
        if slot_seq[i] != seq:  # overwritten while we copied
            return None
        return TrajectorySegment(seq, sent, times, q, dq)

    def latest(self, max_retries: int = 100) -> TrajectorySegment | None:
        """The newest complete segment, or None when none was pushed (see ``CommandRing.latest``)."""
        return ring_latest(self._head, self._copy, max_retries)
