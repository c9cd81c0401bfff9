"""EventRing: safety events, realtime -> executive."""

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
)


def event_dtype(n_joints: int) -> np.dtype:
    """The record layout of one event in shared memory (aligned, 48 + 16 n bytes)."""
    return np.dtype(
        [
            ("seq", np.int64),
            ("t", np.float64),
            ("tick", np.int64),
            ("rule", np.int32),
            ("joint", np.int32),
            ("value", np.float64),
            ("limit", np.float64),
            ("cmd_before", np.float64, (n_joints,)),
            ("cmd_after", np.float64, (n_joints,)),
        ],
        align=True,
    )


@dataclass(frozen=True)
class EventRecord:
    """One safety intervention; arrays (n,) are private copies."""

    seq: int
    t: float
    """s, when the kernel intervened."""
    tick: int
    rule: int
    """Rule code (defined by the safety kernel)."""
    joint: int
    """Joint index the rule concerns, -1 when it concerns none in particular."""
    value: float
    """The offending value, in the rule's unit."""
    limit: float
    """The limit it broke, same unit."""
    cmd_before: np.ndarray
    """(n,) the command as received."""
    cmd_after: np.ndarray
    """(n,) the command as sent to the driver."""


class EventRing(MappedSegment):
    """Safety events, appended wait-free by the realtime side; the oldest is overwritten when full.

    The ring lives in the segment the realtime process owns, so an executive that restarts after a
    crash attaches and reads what happened while it was gone.
    """

    _KIND = "EventRing"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int, capacity: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        self.capacity = capacity
        views = self._layout(n_joints, capacity).map(shm)
        self._head = views["head"]  # (1,) int64, seq of the newest complete record
        self._records = views["records"]  # (capacity,) event_dtype(n)
        # Field views of the structured array: element stores on them cost what plain arrays do.
        records = self._records
        self._f_seq = records["seq"]  # 0 while the record is being written
        self._f_t = records["t"]
        self._f_tick = records["tick"]
        self._f_rule = records["rule"]
        self._f_joint = records["joint"]
        self._f_value = records["value"]
        self._f_limit = records["limit"]
        self._f_before = records["cmd_before"]
        self._f_after = records["cmd_after"]

    @staticmethod
    def _layout(n_joints: int, capacity: int) -> Layout:
        layout = Layout()
        layout.add("head", (1,), np.int64)
        layout.add("records", (capacity,), event_dtype(n_joints))
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int, capacity: int = 4096) -> EventRing:
        check_shape(cls._KIND, n_joints, capacity)
        shm = create_segment(name, cls._KIND, cls._layout(n_joints, capacity), n_joints, capacity)
        return cls(shm, True, n_joints, capacity)

    @classmethod
    def attach(cls, name: str, n_joints: int, capacity: int = 4096) -> EventRing:
        shm, _ = attach_segment(name, cls._KIND, n_joints, capacity)
        check_size(shm, cls._KIND, cls._layout(n_joints, capacity))
        return cls(shm, False, n_joints, capacity)

    def append(
        self,
        t: float,
        tick: int,
        rule: int,
        joint: int,
        value: float,
        limit: float,
        cmd_before: np.ndarray,
        cmd_after: np.ndarray,
    ) -> int:
        """Record an event (commands (n,)); returns its sequence number (1, 2, ...)."""
        n = self.n_joints
        check_vector("cmd_before", cmd_before, n)
        check_vector("cmd_after", cmd_after, n)
        seq = int(self._head[0]) + 1
        i = (seq - 1) % self.capacity
        f_seq = self._f_seq
        f_seq[i] = 0
        self._f_t[i] = t
        self._f_tick[i] = tick
        self._f_rule[i] = rule
        self._f_joint[i] = joint
        self._f_value[i] = value
        self._f_limit[i] = limit
        self._f_before[i] = cmd_before
        self._f_after[i] = cmd_after
        f_seq[i] = seq
        self._head[0] = seq
        return seq

    def last_seq(self) -> int:
        """Sequence number of the newest event (0 before the first)."""
        return int(self._head[0])

    def read_since(self, seq: int) -> tuple[list[EventRecord], int]:
        """Events with a sequence number above ``seq``, oldest first, and how many were lost.

        Lost counts the events between ``seq`` and the last one returned that were overwritten
        before they could be read. Pass the last returned ``seq`` next time: summed over calls,
        returned plus lost equals every event appended, each counted once.
        """
        head = int(self._head[0])
        seq = max(seq, 0)
        if head <= seq:
            return [], 0
        want = np.arange(max(seq + 1, head - self.capacity + 1), head + 1, dtype=np.int64)
        idx = (want - 1) % self.capacity
        f_seq = self._f_seq
        before = f_seq[idx]
        rows = self._records[idx]  # fancy indexing copies
        after = f_seq[idx]
        ok = (before == want) & (after == want)
        if not ok.any():
            # The writer lapped the whole window while we copied; the next call counts the loss.
            return [], 0
        rows = rows[ok]
        seqs = rows["seq"].tolist()
        ts = rows["t"].tolist()
        ticks = rows["tick"].tolist()
        rules = rows["rule"].tolist()
        joints = rows["joint"].tolist()
        values = rows["value"].tolist()
        limits = rows["limit"].tolist()
        before_cmds = rows["cmd_before"]
        after_cmds = rows["cmd_after"]
        records = [
            EventRecord(
                seq=seqs[k],
                t=ts[k],
                tick=ticks[k],
                rule=rules[k],
                joint=joints[k],
                value=values[k],
                limit=limits[k],
                cmd_before=before_cmds[k],
                cmd_after=after_cmds[k],
            )
            for k in range(len(seqs))
        ]
        lost = seqs[-1] - seq - len(records)
        return records, lost
