"""StateSnapshot: the measured joint state, realtime -> executive."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.segments import (
    Layout,
    MappedSegment,
    SeqLock,
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
        self._lock = SeqLock(views["seq"])
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

        def fill() -> None:
            self._tick[0] = tick
            self._time[0] = t
            self._q[:] = q
            self._dq[:] = dq
            self._tau[:] = tau

        self._lock.write(fill)

    def read(self, max_retries: int = 1000) -> StateSample | None:
        """The latest consistent state; None before the first write or if every retry collided."""
        return self._lock.read(
            lambda _: StateSample(
                float(self._time[0]), int(self._tick[0]), self._q.copy(), self._dq.copy(), self._tau.copy()
            ),
            max_retries,
        )
