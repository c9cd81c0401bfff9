"""WorldResetMailbox: "lay out a new simulated world from this seed", executive -> realtime, with
the realtime side's answer.

The realtime process owns the simulator, so only it can replace the world. The executive posts a
seed under a seqlock whose word also numbers the requests; the realtime loop compares that word
once per tick and, when it changed, builds the new world between two ticks and answers on a
seqlock group of its own (another cache line, written by the realtime side only).
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.mailbox import AnsweredMailbox
from dynamical.runtime.channels.segments import (
    Layout,
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


class WorldResetMailbox(AnsweredMailbox):
    """One seed request and its answer. A newer request posted before the realtime side took the
    previous one replaces it: only the newest is answered."""

    _KIND = "WorldResetMailbox"
    _REASON_BYTES = RESET_REASON_BYTES

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int) -> None:
        super().__init__(shm, owner, self._layout())
        self.n_joints = n_joints
        self._req_seed: np.ndarray  # (1,) int64

    @classmethod
    def _layout(cls) -> Layout:
        return cls._mailbox_layout([("req_seed", (1,), np.int64)])

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

        def fill() -> None:
            self._req_seed[0] = seed

        return self._post(fill)

    def answer(self, max_retries: int = 1000) -> WorldResetAnswer | None:
        """The realtime side's latest answer; None before its first."""
        got = self._answer(max_retries)
        return None if got is None else WorldResetAnswer(got.request, bool(got.status), got.tick, got.reason)

    # -- realtime side ------------------------------------------------------------------------- #

    def read_seed(self, word: int) -> int | None:
        """The seed posted as ``word`` (even); None when a newer post came meanwhile."""
        seed = int(self._req_seed[0])
        return seed if self._still(word) else None

    def acknowledge(self, request: int, done: bool, tick: int, reason: str = "") -> None:
        self._acknowledge(request, int(done), tick, reason)
