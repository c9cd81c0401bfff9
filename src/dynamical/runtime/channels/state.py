"""StateSnapshot: the measured joint state, realtime -> executive."""

from __future__ import annotations

import os
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.segments import (
    YIELD_EVERY,
    Layout,
    MappedSegment,
    attach_segment,
    check_shape,
    check_size,
    check_vector,
    create_segment,
)


@dataclass(frozen=True)
class StateSample:
    """One consistent joint state; arrays (n,) are private copies."""

    t: float
    """s, robot clock."""
    tick: int
    """Realtime tick that measured it."""
    q: np.ndarray
    """rad."""
    dq: np.ndarray
    """rad/s."""
    tau: np.ndarray
    """N·m."""


class StateSnapshot(MappedSegment):
    """The latest joint state, written by the realtime side under a seqlock."""

    _KIND = "StateSnapshot"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        views = self._layout(n_joints).map(shm)
        self._seq = views["seq"]  # (1,) int64: odd while a write is in progress, 0 before the first
        self._tick = views["tick"]  # (1,) int64
        self._time = views["t"]  # (1,) float64
        self._q = views["q"]  # (n,) float64
        self._dq = views["dq"]
        self._tau = views["tau"]

    @staticmethod
    def _layout(n_joints: int) -> Layout:
        layout = Layout()
        layout.add("seq", (1,), np.int64)
        layout.add("tick", (1,), np.int64)
        layout.add("t", (1,), np.float64)
        for key in ("q", "dq", "tau"):
            layout.add(key, (n_joints,), np.float64)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int) -> StateSnapshot:
        check_shape(cls._KIND, n_joints, 1)
        shm = create_segment(name, cls._KIND, cls._layout(n_joints), n_joints, 1)
        return cls(shm, True, n_joints)

    @classmethod
    def attach(cls, name: str, n_joints: int) -> StateSnapshot:
        shm, _ = attach_segment(name, cls._KIND, n_joints, 1)
        check_size(shm, cls._KIND, cls._layout(n_joints))
        return cls(shm, False, n_joints)

    def write(self, t: float, tick: int, q: np.ndarray, dq: np.ndarray, tau: np.ndarray) -> None:
        """Publish a state (arrays (n,))."""
        n = self.n_joints
        check_vector("q", q, n)
        check_vector("dq", dq, n)
        check_vector("tau", tau, n)
        seq = self._seq
        # "| 1" makes the in-progress value odd even if a previous writer died mid-write.
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._tick[0] = tick
        self._time[0] = t
        self._q[:] = q
        self._dq[:] = dq
        self._tau[:] = tau
        seq[0] = s + 1

    def read(self, max_retries: int = 1000) -> StateSample | None:
        """The latest consistent state; None before the first write or if every retry collided."""
        seq = self._seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                tick = int(self._tick[0])
                t = float(self._time[0])
                q = self._q.copy()
                dq = self._dq.copy()
                tau = self._tau.copy()
                if int(seq[0]) == s:
                    return StateSample(t, tick, q, dq, tau)
            if attempt % YIELD_EVERY == YIELD_EVERY - 1:
                os.sched_yield()
        return None
