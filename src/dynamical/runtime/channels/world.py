"""WorldState: the simulated world's objects, realtime -> executive."""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from dynamical.runtime.channels.segments import (
    ChannelError,
    Layout,
    MappedSegment,
    SeqLock,
    attach_segment,
    check_size,
    create_segment,
)


@dataclass(frozen=True)
class WorldSample:
    """One consistent publication of the objects; arrays are private copies, rows in the order
    of the ``WorldIndex`` both sides derived (objects; columns of ``touching``: contact bodies)."""

    seq: int
    """Publication number, 1, 2, ... over the life of the segment."""
    t: float
    """s, robot clock (the simulator's time, as in the state snapshot)."""
    tick: int
    """Realtime tick that measured it."""
    stamp: float
    """s, the realtime loop's clock (``time.monotonic`` in the realtime process) at that tick."""
    pos: np.ndarray
    """(k, 3) m, world frame."""
    quat: np.ndarray
    """(k, 4) wxyz."""
    speed: np.ndarray
    """(k,) linear speed, m/s."""
    bottom: np.ndarray
    """(k,) height of each object's lowest point, m."""
    touching: np.ndarray
    """(k, m) bool: contact body j touches object i."""


class WorldState(MappedSegment):
    """Object poses, speeds, bottoms and contacts, published by the realtime process under a
    seqlock at a fraction of its tick rate (perception's ground truth in simulation).

    The header's shape words hold (objects, contact bodies) in place of (joints, capacity), and
    the segment carries the ``WorldIndex`` digest of the lists it was made for: a reader that
    derived other lists from its own model is refused at attach, not given misnamed rows.
    """

    _KIND = "WorldState"

    def __init__(self, shm: SharedMemory, owner: bool, n_objects: int, n_bodies: int) -> None:
        super().__init__(shm, owner)
        self.n_objects = n_objects
        self.n_bodies = n_bodies
        views = self._layout(n_objects, n_bodies).map(shm)
        self._digest = views["digest"]  # (1,) int64, written once at creation
        self._seq = views["seq"]  # (1,) int64: the seqlock's word; publications = word >> 1
        self._lock = SeqLock(self._seq)
        self._ints = views["ints"]  # (1,) int64: tick
        self._floats = views["floats"]  # (2,) float64: t, stamp
        self._pos = views["pos"]  # (k, 3) float64
        self._quat = views["quat"]  # (k, 4) float64
        self._speed = views["speed"]  # (k,) float64
        self._bottom = views["bottom"]  # (k,) float64
        self._touching = views["touching"]  # (k, m) uint8

    @staticmethod
    def _layout(n_objects: int, n_bodies: int) -> Layout:
        layout = Layout()
        layout.add("digest", (1,), np.int64)
        layout.add("seq", (1,), np.int64)
        layout.add("ints", (1,), np.int64)
        layout.add("floats", (2,), np.float64)
        layout.add("pos", (n_objects, 3), np.float64)
        layout.add("quat", (n_objects, 4), np.float64)
        layout.add("speed", (n_objects,), np.float64)
        layout.add("bottom", (n_objects,), np.float64)
        layout.add("touching", (n_objects, n_bodies), np.uint8)
        return layout

    @classmethod
    def create(cls, name: str | None, n_objects: int, n_bodies: int, digest: int) -> WorldState:
        if n_objects < 0 or n_bodies < 0:
            raise ChannelError(f"{cls._KIND} needs n_objects, n_bodies >= 0, got {n_objects}, {n_bodies}")
        shm = create_segment(name, cls._KIND, cls._layout(n_objects, n_bodies), n_objects, n_bodies)
        block = cls(shm, True, n_objects, n_bodies)
        block._digest[0] = digest
        return block

    @classmethod
    def attach(cls, name: str, n_objects: int, n_bodies: int, digest: int) -> WorldState:
        shm, _ = attach_segment(name, cls._KIND, n_objects, n_bodies)
        check_size(shm, cls._KIND, cls._layout(n_objects, n_bodies))
        block = cls(shm, False, n_objects, n_bodies)
        if int(block._digest[0]) != digest:
            got = int(block._digest[0])
            block.close()
            raise ChannelError(
                f"{cls._KIND} {name!r} was published for other object or contact-body lists (digest {got}, "
                f"expected {digest}): the two processes built different worlds"
            )
        return block

    @property
    def digest(self) -> int:
        return int(self._digest[0])

    @property
    def publications(self) -> int:
        """How many publications were completed (0 before the first)."""
        return int(self._seq[0]) >> 1

    def write(
        self,
        t: float,
        tick: int,
        stamp: float,
        pos: np.ndarray,
        quat: np.ndarray,
        speed: np.ndarray,
        bottom: np.ndarray,
        touching: np.ndarray,
    ) -> None:
        """Publish one measurement (realtime side only); shapes as in :class:`WorldSample`."""
        k, m = self.n_objects, self.n_bodies
        if (pos.shape, quat.shape, speed.shape, bottom.shape, touching.shape) != ((k, 3), (k, 4), (k,), (k,), (k, m)):
            raise ValueError(
                f"world arrays have shapes {pos.shape}, {quat.shape}, {speed.shape}, {bottom.shape}, "
                f"{touching.shape}; expected {(k, 3)}, {(k, 4)}, {(k,)}, {(k,)}, {(k, m)}"
            )

        def fill() -> None:
            self._ints[0] = tick
            self._floats[0] = t
            self._floats[1] = stamp
            self._pos[:] = pos
            self._quat[:] = quat
            self._speed[:] = speed
            self._bottom[:] = bottom
            self._touching[:] = touching

        self._lock.write(fill)

    def read(self, max_retries: int = 1000) -> WorldSample | None:
        """The latest consistent publication; None before the first or if every retry collided."""
        return self._lock.read(self._copy, max_retries)

    def _copy(self, word: int) -> WorldSample:
        t, stamp = self._floats.tolist()
        return WorldSample(
            word >> 1,
            t,
            int(self._ints[0]),
            stamp,
            self._pos.copy(),
            self._quat.copy(),
            self._speed.copy(),
            self._bottom.copy(),
            self._touching.astype(bool),
        )
