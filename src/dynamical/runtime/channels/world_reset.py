"""WorldResetMailbox: "lay out a new simulated world from this seed", executive -> realtime, with
the realtime side's answer.

The realtime process owns the simulator, so only it can replace the world. The executive posts a
seed under a seqlock whose word also numbers the requests; the realtime loop compares that word
once per tick and, when it changed, builds the new world between two ticks and answers on a
seqlock group of its own (another cache line, written by the realtime side only).
"""

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
    create_segment,
)

RESET_REASON_BYTES = 1024
"""Room for the realtime side's reason when it refuses a reset (longer ones are cut)."""


@dataclass(frozen=True)
class WorldResetAnswer:
    """The realtime side's answer to one reset request."""

    request: int
    done: bool
    """True: the new world is in place (and published on the world channel) from ``tick`` on."""
    tick: int
    reason: str
    """Why it was refused; empty when done."""


class WorldResetMailbox(MappedSegment):
    """One seed request and its answer. A newer request posted before the realtime side took the
    previous one replaces it: only the newest is answered."""

    _KIND = "WorldResetMailbox"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        views = self._layout().map(shm)
        self._req_seq = views["req_seq"]  # (1,) int64: odd while written; request = seq >> 1
        self._req_seed = views["req_seed"]  # (1,) int64
        self._ack_seq = views["ack_seq"]  # (1,) int64 seqlock of the answer
        self._ack_ints = views["ack_ints"]  # (4,) int64: request, done, tick, reason bytes
        self._ack_reason = views["ack_reason"]  # (RESET_REASON_BYTES,) uint8, UTF-8

    @staticmethod
    def _layout() -> Layout:
        layout = Layout()
        layout.add("req_seq", (1,), np.int64)
        layout.add("req_seed", (1,), np.int64)
        layout.add("ack_seq", (1,), np.int64)
        layout.add("ack_ints", (4,), np.int64)
        layout.add("ack_reason", (RESET_REASON_BYTES,), np.uint8)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int) -> WorldResetMailbox:
        check_shape(cls._KIND, n_joints, 1)
        shm = create_segment(name, cls._KIND, cls._layout(), n_joints, 1)
        return cls(shm, True, n_joints)

    @classmethod
    def attach(cls, name: str, n_joints: int) -> WorldResetMailbox:
        shm, _ = attach_segment(name, cls._KIND, n_joints, 1)
        check_size(shm, cls._KIND, cls._layout())
        return cls(shm, False, n_joints)

    # -- executive side ------------------------------------------------------------------------ #

    def post(self, seed: int) -> int:
        """Ask for a new world drawn from ``seed`` (>= 0); returns the request number (1, 2, ...)."""
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        seq = self._req_seq
        s = (int(seq[0]) + 1) | 1  # odd while written, even if a previous writer died mid-write
        seq[0] = s
        self._req_seed[0] = seed
        seq[0] = s + 1
        return (s + 1) >> 1

    def answer(self, max_retries: int = 1000) -> WorldResetAnswer | None:
        """The realtime side's latest answer; None before its first."""
        seq = self._ack_seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                request, done, tick, n = self._ack_ints.tolist()
                reason = self._ack_reason[: max(0, min(n, RESET_REASON_BYTES))].tobytes()
                if int(seq[0]) == s:
                    return WorldResetAnswer(request, bool(done), tick, reason.decode("utf-8", "replace"))
            if attempt % YIELD_EVERY == YIELD_EVERY - 1:
                os.sched_yield()
        return None

    # -- realtime side ------------------------------------------------------------------------- #

    def request_word(self) -> int:
        """The request word, for the once-per-tick check (odd while one is being written)."""
        return int(self._req_seq[0])

    def read_seed(self, word: int) -> int | None:
        """The seed posted as ``word`` (even); None when a newer post came meanwhile."""
        seed = int(self._req_seed[0])
        return seed if int(self._req_seq[0]) == word else None

    def acknowledge(self, request: int, done: bool, tick: int, reason: str = "") -> None:
        data = reason.encode("utf-8", "replace")[:RESET_REASON_BYTES]
        seq = self._ack_seq
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._ack_reason[: len(data)] = np.frombuffer(data, np.uint8)
        self._ack_ints[:] = (request, int(done), tick, len(data))
        seq[0] = s + 1
