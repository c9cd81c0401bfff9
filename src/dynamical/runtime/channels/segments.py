"""Shared-memory segments: creation, attachment, layout and the seqlock conventions every
channel follows (see the package docstring). Also used by ``timing.py``."""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any, ClassVar, TypeVar

import numpy as np

LAYOUT_VERSION = 3
"""Bumped whenever a segment's byte layout changes; attach refuses another version.
2: the StatusBlock gained the driver audit group; the WorldState channel.
3: the TrajectoryRing and the WorldResetMailbox; the StatusBlock gained the stop cause and the
lookahead left."""

HEADER_WORDS = 8
LINE = 64  # bytes; x86-64 cache line, also keeps every 8-byte word aligned
YIELD_EVERY = 16  # failed read attempts between sched_yield calls, so a preempted writer can finish

T = TypeVar("T")

_MAGIC_TAGS: dict[str, bytes] = {
    "CommandRing": b"DYNCMDR\x01",
    "StateSnapshot": b"DYNSTAT\x01",
    "StatusBlock": b"DYNSTSB\x01",
    "EventRing": b"DYNEVTR\x01",
    "TimingRecorder": b"DYNTIMR\x01",
    "WorldState": b"DYNWRLD\x01",
    "ZoneMailbox": b"DYNZONE\x01",
    "TrajectoryRing": b"DYNTRAJ\x01",
    "WorldResetMailbox": b"DYNWRST\x01",
}
_MAGICS: dict[str, int] = {kind: int.from_bytes(tag, "little", signed=True) for kind, tag in _MAGIC_TAGS.items()}
_KIND_OF_MAGIC: dict[int, str] = {magic: kind for kind, magic in _MAGICS.items()}


class ChannelError(ValueError):
    """A segment is missing, belongs to another channel kind, or has another layout."""


class Layout:
    """Byte offsets of the arrays a channel maps into its segment, after the header."""

    def __init__(self) -> None:
        self.size = HEADER_WORDS * 8
        self._fields: list[tuple[str, int, tuple[int, ...], np.dtype]] = []

    def add(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        dt = np.dtype(dtype)
        offset = -(-self.size // LINE) * LINE
        self._fields.append((name, offset, shape, dt))
        self.size = offset + math.prod(shape) * dt.itemsize

    def map(self, shm: SharedMemory) -> dict[str, np.ndarray]:
        """Numpy views of every field into ``shm``; they must be dropped before ``shm.close()``."""
        buf = shm.buf
        assert buf is not None
        return {name: np.ndarray(shape, dt, buffer=buf, offset=offset) for name, offset, shape, dt in self._fields}


_tracker_lock = threading.Lock()


@contextmanager
def _untracked() -> Iterator[None]:
    # CPython < 3.13 registers every SharedMemory it opens with the resource tracker, which unlinks
    # the segment when the process exits even if it only attached (bpo-39959). Unregistering after
    # the attach is not enough: a spawned child shares its parent's tracker, whose registry is a
    # set, so the child's unregister would erase the creator's registration and the creator's own
    # unlink would later make the tracker print a KeyError traceback. Skipping the registration of
    # this one attach, on this thread, leaves every other registration intact.
    with _tracker_lock:
        original: Callable[[str, str], None] = resource_tracker.register
        me = threading.get_ident()

        def register(name: str, rtype: str) -> None:
            if rtype == "shared_memory" and threading.get_ident() == me:
                return
            original(name, rtype)

        resource_tracker.register = register  # type: ignore[assignment]
        try:
            yield
        finally:
            resource_tracker.register = original  # type: ignore[assignment]


def _open_existing(name: str) -> SharedMemory:
    if sys.version_info >= (3, 13):
        return SharedMemory(name=name, track=False)  # type: ignore[call-arg]
    with _untracked():
        return SharedMemory(name=name)


def unlink_segment(name: str) -> bool:
    """Remove the segment ``name`` if it exists (what its dead creator left behind); True when
    one was removed."""
    try:
        shm = _open_existing(name)
    except FileNotFoundError:
        return False
    try:
        if sys.version_info < (3, 13):
            # SharedMemory.unlink unregisters the name; this attach never registered it.
            resource_tracker.register(shm._name, "shared_memory")  # type: ignore[attr-defined]
        shm.unlink()
    except FileNotFoundError:  # removed by someone else meanwhile
        return False
    finally:
        shm.close()
    return True


def create_segment(name: str | None, kind: str, layout: Layout, n_joints: int, capacity: int) -> SharedMemory:
    """Create a zeroed segment for ``kind`` and write its header; ``name`` None picks a free name."""
    try:
        shm = SharedMemory(name=name, create=True, size=layout.size)
    except FileExistsError:
        raise ChannelError(
            f"a shared-memory segment named {name!r} already exists; attach to it or pick another name"
        ) from None
    header = np.ndarray((HEADER_WORDS,), np.int64, buffer=shm.buf)
    header[1:5] = (LAYOUT_VERSION, n_joints, capacity, layout.size)
    # The magic goes last: an attacher racing the creation sees "not a channel" rather than half a header.
    header[0] = _MAGICS[kind]
    del header
    return shm


def read_header(shm: SharedMemory) -> tuple[int, int, int, int, int]:
    """(magic, version, n_joints, capacity, size) of a segment."""
    header = np.ndarray((HEADER_WORDS,), np.int64, buffer=shm.buf)
    values = tuple(int(v) for v in header[:5])
    del header
    return values  # type: ignore[return-value]


def attach_segment(name: str, kind: str, n_joints: int, capacity: int | None) -> tuple[SharedMemory, int]:
    """Map the existing segment ``name`` and check that it is a ``kind`` of this shape.

    ``capacity`` None accepts whatever the segment holds. Returns the segment and its capacity;
    the caller checks the size against its layout with :func:`check_size`.
    """
    try:
        shm = _open_existing(name)
    except FileNotFoundError:
        raise ChannelError(
            f"no shared-memory segment named {name!r}: the process that creates the {kind} "
            "is not running or has removed it"
        ) from None
    try:
        if shm.size < HEADER_WORDS * 8:
            raise ChannelError(f"segment {name!r} ({shm.size} bytes) is too small to be a {kind}")
        magic, version, got_joints, got_capacity, _size = read_header(shm)
        if magic != _MAGICS[kind]:
            other = _KIND_OF_MAGIC.get(magic)
            what = f"a {other}" if other else "not a dynamical channel"
            raise ChannelError(f"segment {name!r} is {what}, not a {kind}")
        if version != LAYOUT_VERSION:
            raise ChannelError(
                f"{kind} {name!r} has layout version {version}; this code reads version {LAYOUT_VERSION}"
            )
        if got_joints != n_joints:
            raise ChannelError(f"{kind} {name!r} was created for {got_joints} joints; attach asked for {n_joints}")
        if capacity is not None and got_capacity != capacity:
            raise ChannelError(f"{kind} {name!r} was created with capacity {got_capacity}; attach asked for {capacity}")
    except BaseException:
        shm.close()
        raise
    return shm, got_capacity


def check_size(shm: SharedMemory, kind: str, layout: Layout) -> None:
    """Refuse a segment whose header promises a layout larger than the segment."""
    size = read_header(shm)[4]
    if size != layout.size or shm.size < layout.size:
        name, actual = shm.name, shm.size
        shm.close()
        raise ChannelError(
            f"{kind} {name!r} is {actual} bytes with a recorded layout of {size}; expected {layout.size}"
        )


def check_shape(what: str, n_joints: int, capacity: int) -> None:
    if n_joints < 1:
        raise ChannelError(f"{what} needs n_joints >= 1, got {n_joints}")
    if capacity < 1:
        raise ChannelError(f"{what} needs capacity >= 1, got {capacity}")


class MappedSegment:
    """Owns a segment and the numpy views into it; the base of every channel.

    The creator (``owner``) keeps the resource-tracker registration, so the segment is removed if
    it dies without ``unlink()``; attachers never register, so their exit leaves it alone.
    """

    _KIND: ClassVar[str]

    def __init__(self, shm: SharedMemory | None, owner: bool) -> None:
        self._shm = shm
        self._owner = owner
        self._closed = False

    @property
    def name(self) -> str:
        """The segment name another process passes to ``attach``."""
        if self._shm is None:
            raise ChannelError(f"this {self._KIND} is not in shared memory")
        return self._shm.name

    def close(self) -> None:
        """Unmap this process's view; the segment lives on for the others. Idempotent."""
        if self._closed:
            return
        self._closed = True
        # Every numpy view exports the buffer; unmapping while one exists raises BufferError. A
        # seqlock holds a view too: dropped with them, so that use after close is refused rather
        # than reading unmapped memory.
        for key in [k for k, v in vars(self).items() if isinstance(v, (np.ndarray, SeqLock))]:
            delattr(self, key)
        if self._shm is not None:
            self._shm.close()

    def unlink(self) -> None:
        """Destroy the segment (its name disappears; existing mappings stay valid until closed)."""
        if self._shm is None:
            return
        if not self._owner and sys.version_info < (3, 13):
            # SharedMemory.unlink unregisters the name; an attacher never registered it.
            resource_tracker.register(self._shm._name, "shared_memory")  # type: ignore[attr-defined]
        self._shm.unlink()

    def __getattr__(self, key: str) -> Any:
        # Only reached for missing attributes: after close() the views are gone.
        if key.startswith("_") and self.__dict__.get("_closed"):
            raise ChannelError(f"{type(self).__name__} is closed")
        raise AttributeError(key)

    def __del__(self) -> None:
        # Drop the views before SharedMemory.__del__ tries to unmap under them.
        with suppress(Exception):  # at interpreter shutdown nothing useful is left to do
            self.close()

    def __enter__(self) -> MappedSegment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SeqLock:
    """One seqlock word (a (1,) int64 view): odd while its single writer writes, 0 before the
    first write, even and larger after each. Readers copy, then check the word did not move.

    ``write`` leaves the word odd even if a previous writer died mid-write ("| 1"), so a reader
    never takes a half-written group for a complete one."""

    __slots__ = ("word",)

    def __init__(self, word: np.ndarray) -> None:
        self.word = word

    def write(self, fill: Callable[[], None]) -> int:
        """Run ``fill`` (the writer's stores) inside the lock; returns the new (even) word."""
        word = self.word
        s = (int(word[0]) + 1) | 1
        word[0] = s
        fill()
        word[0] = s + 1
        return s + 1

    def read(self, copy: Callable[[int], T], max_retries: int = 1000) -> T | None:
        """``copy(word)``'s result from a moment no write was under way; None before the first
        write, or when every one of ``max_retries`` attempts collided with a write."""
        word = self.word
        for attempt in range(max_retries):
            s = int(word[0])
            if s == 0:
                return None
            if not s & 1:
                value = copy(s)
                if int(word[0]) == s:
                    return value
            if attempt % YIELD_EVERY == YIELD_EVERY - 1:
                os.sched_yield()  # a preempted writer gets the core to finish
        return None


def ring_latest(head: np.ndarray, copy: Callable[[int], T | None], max_retries: int = 100) -> T | None:
    """The newest complete slot of a ring whose ``head`` (1,) names it and whose ``copy(seq)``
    gives None for a slot overwritten (or being written) meanwhile; None when nothing was pushed.
    If the writer keeps publishing faster than we copy, the last consistent (slightly older)
    copy is returned after ``max_retries``."""
    candidate: T | None = None
    for attempt in range(max_retries):
        seq = int(head[0])
        if seq == 0:
            return None
        value = copy(seq)
        if value is not None:
            if int(head[0]) == seq:
                return value
            candidate = value
        if attempt % YIELD_EVERY == YIELD_EVERY - 1:
            os.sched_yield()
    return candidate


def check_vector(what: str, value: Any, n: int) -> None:
    if np.shape(value) != (n,):
        raise ValueError(f"{what} has shape {np.shape(value)}, expected ({n},)")
