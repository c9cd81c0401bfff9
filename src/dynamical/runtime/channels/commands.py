"""CommandRing: single joint commands, executive -> realtime (the point-command path; the
executive streams trajectory segments through ``trajectory.py``)."""

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
    check_vector,
    create_segment,
    ring_latest,
)

_HAS_DQ = 1
_HAS_TAU = 2


@dataclass(frozen=True)
class CommandSlot:
    """One command as pushed; arrays (n,) are private copies."""

    seq: int
    t: float
    """s, the executive's timestamp of the command."""
    q: np.ndarray
    """Position targets, rad."""
    dq: np.ndarray | None
    """Velocity feed-forward, rad/s, or None when not pushed."""
    tau: np.ndarray | None
    """Effort feed-forward, N·m, or None when not pushed."""


class CommandRing(MappedSegment):
    """Timestamped joint commands from the executive (single writer) to the realtime side.

    Sequence numbers are 1, 2, 3, ... over the life of the segment, so an executive that restarts
    and attaches continues numbering where the dead one stopped.
    """

    _KIND = "CommandRing"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int, capacity: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        self.capacity = capacity
        views = self._layout(n_joints, capacity).map(shm)
        self._head = views["head"]  # (1,) int64, seq of the newest complete slot
        self._slot_seq = views["slot_seq"]  # (capacity,) int64, 0 while the slot is being written
        self._flags = views["flags"]  # (capacity,) int64, _HAS_DQ | _HAS_TAU
        self._t = views["t"]  # (capacity,) float64
        self._q = views["q"]  # (capacity, n) float64
        self._dq = views["dq"]
        self._tau = views["tau"]

    @staticmethod
    def _layout(n_joints: int, capacity: int) -> Layout:
        layout = Layout()
        layout.add("head", (1,), np.int64)
        layout.add("slot_seq", (capacity,), np.int64)
        layout.add("flags", (capacity,), np.int64)
        layout.add("t", (capacity,), np.float64)
        for key in ("q", "dq", "tau"):
            layout.add(key, (capacity, n_joints), np.float64)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int, capacity: int = 64) -> CommandRing:
        check_shape(cls._KIND, n_joints, capacity)
        shm = create_segment(name, cls._KIND, cls._layout(n_joints, capacity), n_joints, capacity)
        return cls(shm, True, n_joints, capacity)

    @classmethod
    def attach(cls, name: str, n_joints: int, capacity: int = 64) -> CommandRing:
        shm, _ = attach_segment(name, cls._KIND, n_joints, capacity)
        check_size(shm, cls._KIND, cls._layout(n_joints, capacity))
        return cls(shm, False, n_joints, capacity)

    def push(self, t: float, q: np.ndarray, dq: np.ndarray | None = None, tau: np.ndarray | None = None) -> int:
        """Publish a command (arrays (n,)); returns its sequence number."""
        n = self.n_joints
        check_vector("q", q, n)
        if dq is not None:
            check_vector("dq", dq, n)
        if tau is not None:
            check_vector("tau", tau, n)
        seq = int(self._head[0]) + 1
        i = (seq - 1) % self.capacity
        slot_seq = self._slot_seq
        slot_seq[i] = 0
        self._t[i] = t
        self._q[i] = q
        flags = 0
        if dq is not None:
            self._dq[i] = dq
            flags |= _HAS_DQ
        if tau is not None:
            self._tau[i] = tau
            flags |= _HAS_TAU
        self._flags[i] = flags
        slot_seq[i] = seq
        self._head[0] = seq
        return seq

    def last_seq(self) -> int:
        """Sequence number of the newest published command (0 before the first)."""
        return int(self._head[0])

    def _copy(self, seq: int) -> CommandSlot | None:
        i = (seq - 1) % self.capacity
        slot_seq = self._slot_seq
        if slot_seq[i] != seq:
            return None
        t = float(self._t[i])
        flags = int(self._flags[i])
        q = self._q[i].copy()
        dq = self._dq[i].copy() if flags & _HAS_DQ else None
        tau = self._tau[i].copy() if flags & _HAS_TAU else None
        if slot_seq[i] != seq:  # overwritten while we copied
            return None
        return CommandSlot(seq, t, q, dq, tau)

    def latest(self, max_retries: int = 100) -> CommandSlot | None:
        """The newest complete command, or None when none was pushed.

        A copy the writer overwrote meanwhile is discarded. If the writer keeps publishing faster
        than we copy, the last consistent (slightly older) copy is returned after ``max_retries``.
        """
        return ring_latest(self._head, self._copy, max_retries)

    def read_since(self, seq: int) -> list[CommandSlot]:
        """Commands newer than ``seq`` still in the ring, oldest first (overwritten ones are skipped)."""
        head = int(self._head[0])
        out: list[CommandSlot] = []
        for s in range(max(seq + 1, head - self.capacity + 1, 1), head + 1):
            slot = self._copy(s)
            if slot is not None:
                out.append(slot)
        return out
