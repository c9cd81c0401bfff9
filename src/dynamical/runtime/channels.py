"""Shared-memory channels between the executive (tier 1) and the realtime process (tier 0).

Every channel is one ``multiprocessing.shared_memory`` segment: a 64-byte header (magic, layout
version, n_joints, capacity, size) followed by numpy arrays, each starting on its own 64-byte
line so that fields written by different processes never share a cache line.

Each field group has exactly one writer, and readers never block it: a reader copies, then checks
a sequence number the writer bumps around its writes (a seqlock, or a per-slot sequence in the
rings) and retries or discards the copy when the writer touched it meanwhile. This relies on the
writer's stores becoming visible in program order, which x86-64 guarantees (TSO); every write here
is a separate numpy call, so the compiler cannot reorder them either. Weakly ordered CPUs (ARM)
would need explicit fences, which pure Python cannot issue.

Timestamps are float64 seconds of ``time.monotonic()``, which is one clock for every process on
the machine. Values pass through unchanged, NaN and infinities included: rejecting them is the
safety kernel's job, not the channel's.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any, ClassVar

import numpy as np
from pydantic import TypeAdapter

from dynamical.safety.audit import LimitAudit
from dynamical.safety.config import BoxZone, HalfSpaceZone, Zone
from dynamical.safety.rules import SafetyMode

LAYOUT_VERSION = 2
"""Bumped whenever a segment's byte layout changes; attach refuses another version.
2: the StatusBlock gained the driver audit group; the WorldState channel."""

_HEADER_WORDS = 8
_LINE = 64  # bytes; x86-64 cache line, also keeps every 8-byte word aligned
_YIELD_EVERY = 16  # failed read attempts between sched_yield calls, so a preempted writer can finish

_MAGIC_TAGS: dict[str, bytes] = {
    "CommandRing": b"DYNCMDR\x01",
    "StateSnapshot": b"DYNSTAT\x01",
    "StatusBlock": b"DYNSTSB\x01",
    "EventRing": b"DYNEVTR\x01",
    "TimingRecorder": b"DYNTIMR\x01",
    "WorldState": b"DYNWRLD\x01",
    "ZoneMailbox": b"DYNZONE\x01",
}
_MAGICS: dict[str, int] = {kind: int.from_bytes(tag, "little", signed=True) for kind, tag in _MAGIC_TAGS.items()}
_KIND_OF_MAGIC: dict[int, str] = {magic: kind for kind, magic in _MAGICS.items()}


class ChannelError(ValueError):
    """A segment is missing, belongs to another channel kind, or has another layout."""


# --------------------------------------------------------------------------------------------- #
# Segments: creation, attachment, layout. Also used by ``timing.py``.
# --------------------------------------------------------------------------------------------- #


class Layout:
    """Byte offsets of the arrays a channel maps into its segment, after the header."""

    def __init__(self) -> None:
        self.size = _HEADER_WORDS * 8
        self._fields: list[tuple[str, int, tuple[int, ...], np.dtype]] = []

    def add(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        dt = np.dtype(dtype)
        offset = -(-self.size // _LINE) * _LINE
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
    header = np.ndarray((_HEADER_WORDS,), np.int64, buffer=shm.buf)
    header[1:5] = (LAYOUT_VERSION, n_joints, capacity, layout.size)
    # The magic goes last: an attacher racing the creation sees "not a channel" rather than half a header.
    header[0] = _MAGICS[kind]
    del header
    return shm


def read_header(shm: SharedMemory) -> tuple[int, int, int, int, int]:
    """(magic, version, n_joints, capacity, size) of a segment."""
    header = np.ndarray((_HEADER_WORDS,), np.int64, buffer=shm.buf)
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
        if shm.size < _HEADER_WORDS * 8:
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


def _check_shape(what: str, n_joints: int, capacity: int) -> None:
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
        # Every numpy view exports the buffer; unmapping while one exists raises BufferError.
        for key in [k for k, v in vars(self).items() if isinstance(v, np.ndarray)]:
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


def _vector(what: str, value: Any, n: int) -> None:
    if np.shape(value) != (n,):
        raise ValueError(f"{what} has shape {np.shape(value)}, expected ({n},)")


# --------------------------------------------------------------------------------------------- #
# CommandRing: executive -> realtime joint commands
# --------------------------------------------------------------------------------------------- #

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
        _check_shape(cls._KIND, n_joints, capacity)
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
        _vector("q", q, n)
        if dq is not None:
            _vector("dq", dq, n)
        if tau is not None:
            _vector("tau", tau, n)
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
        candidate: CommandSlot | None = None
        for attempt in range(max_retries):
            head = int(self._head[0])
            if head == 0:
                return None
            slot = self._copy(head)
            if slot is not None:
                if int(self._head[0]) == head:
                    return slot
                candidate = slot
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return candidate

    def read_since(self, seq: int) -> list[CommandSlot]:
        """Commands newer than ``seq`` still in the ring, oldest first (overwritten ones are skipped)."""
        head = int(self._head[0])
        out: list[CommandSlot] = []
        for s in range(max(seq + 1, head - self.capacity + 1, 1), head + 1):
            slot = self._copy(s)
            if slot is not None:
                out.append(slot)
        return out


# --------------------------------------------------------------------------------------------- #
# StateSnapshot: realtime -> executive joint state
# --------------------------------------------------------------------------------------------- #


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
        _check_shape(cls._KIND, n_joints, 1)
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
        _vector("q", q, n)
        _vector("dq", dq, n)
        _vector("tau", tau, n)
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
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return None


# --------------------------------------------------------------------------------------------- #
# StatusBlock: safety status (realtime-written) and requests (executive-written)
# --------------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class StatusSample:
    """One consistent copy of the realtime-written safety status."""

    tick: int
    t: float
    """s, when the realtime side wrote it."""
    mode: SafetyMode
    estop_category: int
    """-1 when no e-stop is latched, else stop category 0, 1 or 2."""
    protective_stop: bool
    speed_scale: float
    """0..1, the factor speed and separation monitoring applies."""
    separation_m: float
    """Distance to the nearest person, m; NaN when nobody is seen."""
    protective_distance_m: float
    """Separation below which the robot must be stopped, m."""
    interventions: int
    """Commands the kernel changed or refused, lifetime count."""
    last_command_seq: int
    """CommandRing seq of the last command the kernel consumed."""
    rt_heartbeat: int
    power_on: bool
    estop_latched_t: float
    """s, when the current e-stop latched; NaN when none."""
    reason: int
    """Rule code of the latest intervention or stop; 0 for none."""


# Word indices of the realtime group.
_RT_INTS = (
    "tick",
    "mode",
    "estop_category",
    "protective_stop",
    "interventions",
    "last_command_seq",
    "rt_heartbeat",
    "power_on",
    "reason",
)
_RT_FLOATS = ("t", "speed_scale", "separation_m", "protective_distance_m", "estop_latched_t")
# Word indices of the executive group.
_EX_HEARTBEAT, _EX_ESTOP_CATEGORY, _EX_ESTOP_SEQ, _EX_RESET_SEQ, _EX_SHUTDOWN = range(5)


class StatusBlock(MappedSegment):
    """Safety status (written by the realtime side) and requests (written by the executive).

    The two groups live on separate cache lines and each has one writer. The realtime group is a
    seqlock; the executive's words are single aligned 8-byte stores, except the e-stop request,
    whose category and time are guarded by its own sequence word.
    """

    _KIND = "StatusBlock"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        views = self._layout().map(shm)
        self._rt_seq = views["rt_seq"]  # (1,) int64 seqlock
        self._rt_ints = views["rt_ints"]  # (len(_RT_INTS),) int64
        self._rt_floats = views["rt_floats"]  # (len(_RT_FLOATS),) float64
        self._ex_ints = views["ex_ints"]  # (5,) int64
        self._ex_estop_t = views["ex_estop_t"]  # (1,) float64
        self._audit_seq = views["audit_seq"]  # (1,) int64 seqlock of the audit group
        self._audit = views["audit"]  # (6,) int64, LimitAudit's fields in order

    @staticmethod
    def _layout() -> Layout:
        layout = Layout()
        layout.add("rt_seq", (1,), np.int64)
        layout.add("rt_ints", (len(_RT_INTS),), np.int64)
        layout.add("rt_floats", (len(_RT_FLOATS),), np.float64)
        layout.add("ex_ints", (5,), np.int64)
        layout.add("ex_estop_t", (1,), np.float64)
        # Realtime-written too, but only every audit batch: a group of its own keeps the 1 kHz
        # status write as small as it was.
        layout.add("audit_seq", (1,), np.int64)
        layout.add("audit", (6,), np.int64)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int) -> StatusBlock:
        _check_shape(cls._KIND, n_joints, 1)
        shm = create_segment(name, cls._KIND, cls._layout(), n_joints, 1)
        block = cls(shm, True, n_joints)
        block._ex_ints[_EX_ESTOP_CATEGORY] = -1
        block._ex_estop_t[0] = math.nan
        return block

    @classmethod
    def attach(cls, name: str, n_joints: int) -> StatusBlock:
        shm, _ = attach_segment(name, cls._KIND, n_joints, 1)
        check_size(shm, cls._KIND, cls._layout())
        return cls(shm, False, n_joints)

    # -- realtime group ------------------------------------------------------------------------ #

    def write_status(
        self,
        *,
        tick: int,
        t: float,
        mode: SafetyMode | int,
        estop_category: int,
        protective_stop: bool,
        speed_scale: float,
        separation_m: float,
        protective_distance_m: float,
        interventions: int,
        last_command_seq: int,
        rt_heartbeat: int,
        power_on: bool,
        estop_latched_t: float,
        reason: int,
    ) -> None:
        """Publish the status (realtime side only)."""
        seq = self._rt_seq
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._rt_ints[:] = (
            tick,
            mode,
            estop_category,
            protective_stop,
            interventions,
            last_command_seq,
            rt_heartbeat,
            power_on,
            reason,
        )
        self._rt_floats[:] = (t, speed_scale, separation_m, protective_distance_m, estop_latched_t)
        seq[0] = s + 1

    def read_status(self, max_retries: int = 1000) -> StatusSample | None:
        """The latest consistent status; None before the realtime side first wrote one."""
        seq = self._rt_seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                ints = self._rt_ints.tolist()
                floats = self._rt_floats.tolist()
                if int(seq[0]) == s:
                    tick, mode, category, pstop, interventions, last_cmd, beat, power, reason = ints
                    t, scale, separation, protective, latched_t = floats
                    return StatusSample(
                        tick=tick,
                        t=t,
                        mode=SafetyMode(mode),
                        estop_category=category,
                        protective_stop=bool(pstop),
                        speed_scale=scale,
                        separation_m=separation,
                        protective_distance_m=protective,
                        interventions=interventions,
                        last_command_seq=last_cmd,
                        rt_heartbeat=beat,
                        power_on=bool(power),
                        estop_latched_t=latched_t,
                        reason=reason,
                    )
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return None

    def write_audit(self, audit: LimitAudit) -> None:
        """Publish the running audit of the commands the driver received (realtime side only)."""
        seq = self._audit_seq
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._audit[:] = (
            audit.commands,
            audit.non_finite,
            audit.position,
            audit.velocity,
            audit.acceleration,
            audit.effort,
        )
        seq[0] = s + 1

    def read_audit(self, max_retries: int = 1000) -> LimitAudit | None:
        """The latest consistent driver audit; None before the realtime side published one."""
        seq = self._audit_seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                values = self._audit.tolist()
                if int(seq[0]) == s:
                    return LimitAudit(*values)
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return None

    # -- executive group ----------------------------------------------------------------------- #

    def beat(self) -> int:
        """Increment the executive heartbeat (once per control tick); returns the new count."""
        words = self._ex_ints
        beat = int(words[_EX_HEARTBEAT]) + 1
        words[_EX_HEARTBEAT] = beat
        return beat

    def read_heartbeat(self) -> int:
        return int(self._ex_ints[_EX_HEARTBEAT])

    def request_estop(self, category: int, t: float) -> int:
        """Ask the realtime side for an e-stop of ``category`` (0, 1 or 2) at time ``t`` (s).

        Returns the request number (1, 2, ...); the realtime side acts on a change of it.
        """
        if category not in (0, 1, 2):
            raise ValueError(f"e-stop category must be 0, 1 or 2, got {category!r}")
        words = self._ex_ints
        # The stored word counts twice per request: odd while category and time are being written.
        s = (int(words[_EX_ESTOP_SEQ]) + 1) | 1
        words[_EX_ESTOP_SEQ] = s
        words[_EX_ESTOP_CATEGORY] = category
        self._ex_estop_t[0] = t
        words[_EX_ESTOP_SEQ] = s + 1
        return (s + 1) >> 1

    def pending_estop(self, max_retries: int = 1000) -> tuple[int, int, float]:
        """(request number, category, t) of the latest e-stop request; (0, -1, nan) before any."""
        words = self._ex_ints
        s = 0
        category = -1
        t = math.nan
        for attempt in range(max_retries):
            s = int(words[_EX_ESTOP_SEQ])
            category = int(words[_EX_ESTOP_CATEGORY])
            t = float(self._ex_estop_t[0])
            if not s & 1 and int(words[_EX_ESTOP_SEQ]) == s:
                break
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        # An odd word after all retries (a writer died mid-request) reads as the previous request.
        return s >> 1, category, t

    def request_reset(self) -> int:
        """Ask for an explicit reset; returns the new reset request number."""
        words = self._ex_ints
        seq = int(words[_EX_RESET_SEQ]) + 1
        words[_EX_RESET_SEQ] = seq
        return seq

    def reset_seq(self) -> int:
        return int(self._ex_ints[_EX_RESET_SEQ])

    def request_shutdown(self) -> None:
        self._ex_ints[_EX_SHUTDOWN] = 1

    def shutdown_requested(self) -> bool:
        return bool(self._ex_ints[_EX_SHUTDOWN])


# --------------------------------------------------------------------------------------------- #
# EventRing: safety events, realtime -> executive
# --------------------------------------------------------------------------------------------- #


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
        _check_shape(cls._KIND, n_joints, capacity)
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
        _vector("cmd_before", cmd_before, n)
        _vector("cmd_after", cmd_after, n)
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


# --------------------------------------------------------------------------------------------- #
# WorldState: the simulated world's objects, realtime -> executive
# --------------------------------------------------------------------------------------------- #


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
        self._seq = views["seq"]  # (1,) int64: odd while a write is in progress, 0 before the first
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
        seq = self._seq
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._ints[0] = tick
        self._floats[0] = t
        self._floats[1] = stamp
        self._pos[:] = pos
        self._quat[:] = quat
        self._speed[:] = speed
        self._bottom[:] = bottom
        self._touching[:] = touching
        seq[0] = s + 1

    def read(self, max_retries: int = 1000) -> WorldSample | None:
        """The latest consistent publication; None before the first or if every retry collided."""
        seq = self._seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                tick = int(self._ints[0])
                t, stamp = self._floats.tolist()
                pos = self._pos.copy()
                quat = self._quat.copy()
                speed = self._speed.copy()
                bottom = self._bottom.copy()
                touching = self._touching.astype(bool)
                if int(seq[0]) == s:
                    return WorldSample(s >> 1, t, tick, stamp, pos, quat, speed, bottom, touching)
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return None


# --------------------------------------------------------------------------------------------- #
# ZoneMailbox: keep-out zones, executive -> realtime, with the realtime side's answer
# --------------------------------------------------------------------------------------------- #

ZONE_PAYLOAD_BYTES = 64 * 1024
"""Default room for one zone list as JSON: 256 zones (the kernel's most) with names of 100+ bytes."""
ZONE_REASON_BYTES = 1024
"""Room for the realtime side's reason when it refuses a list (longer ones are cut)."""

_ZONE_LIST: TypeAdapter[list[BoxZone | HalfSpaceZone]] = TypeAdapter(list[Zone])

_ACK_APPLIED, _ACK_REFUSED = 1, 2


def encode_zones(zones: list[BoxZone | HalfSpaceZone]) -> bytes:
    """The JSON the mailbox carries for ``zones``; TypeError for anything that is not a zone
    (the realtime side validates the values: a zone built with ``model_construct`` gets there)."""
    if isinstance(zones, (str, bytes)) or not isinstance(zones, list):
        raise TypeError(f"zones must be a list of BoxZone or HalfSpaceZone, not {type(zones).__name__}")
    for zone in zones:
        if not isinstance(zone, (BoxZone, HalfSpaceZone)):
            raise TypeError(f"not a keep-out zone: {zone!r}")
    # warnings=False: a zone whose fields were assigned wrong types still serialises, and the
    # realtime side refuses it with the validator's message rather than this side warning.
    return _ZONE_LIST.dump_json(zones, warnings=False)


def decode_zones(payload: bytes) -> list[BoxZone | HalfSpaceZone]:
    """The zones in a mailbox payload; pydantic's ValidationError (a ValueError) when invalid."""
    return _ZONE_LIST.validate_json(payload)


@dataclass(frozen=True)
class ZoneAnswer:
    """The realtime side's answer to one zone list."""

    request: int
    """The request it answers (``ZoneMailbox.post``'s number)."""
    applied: bool
    """True: the kernel took the list, in force from the tick after ``tick``; False: refused, the
    zones in force unchanged."""
    tick: int
    """The tick that took or refused the list."""
    reason: str
    """Why it was refused ("ValueError: ..."); empty when applied."""


class ZoneMailbox(MappedSegment):
    """The complete keep-out zone list from the executive, and the realtime side's answer.

    The executive writes a list (JSON) under a seqlock whose word also numbers the requests: the
    realtime node compares that one word once per tick, and parses only when it changed. The
    answer is a seqlock group of its own on another cache line, written by the realtime side only.
    A newer list posted before the node took the previous one replaces it: only the newest is
    answered (the node applies whole lists, so an intermediate one has nothing left to say).

    The header's capacity word holds the payload size in bytes.
    """

    _KIND = "ZoneMailbox"

    def __init__(self, shm: SharedMemory, owner: bool, n_joints: int, capacity: int) -> None:
        super().__init__(shm, owner)
        self.n_joints = n_joints
        self.capacity = capacity
        views = self._layout(capacity).map(shm)
        self._req_seq = views["req_seq"]  # (1,) int64: odd while a list is being written; request = seq >> 1
        self._req_len = views["req_len"]  # (1,) int64, payload bytes
        self._payload = views["payload"]  # (capacity,) uint8, JSON
        self._ack_seq = views["ack_seq"]  # (1,) int64 seqlock of the answer
        self._ack_ints = views["ack_ints"]  # (4,) int64: request, _ACK_APPLIED or _ACK_REFUSED, tick, reason bytes
        self._ack_reason = views["ack_reason"]  # (ZONE_REASON_BYTES,) uint8, UTF-8

    @staticmethod
    def _layout(capacity: int) -> Layout:
        layout = Layout()
        layout.add("req_seq", (1,), np.int64)
        layout.add("req_len", (1,), np.int64)
        layout.add("payload", (capacity,), np.uint8)
        layout.add("ack_seq", (1,), np.int64)
        layout.add("ack_ints", (4,), np.int64)
        layout.add("ack_reason", (ZONE_REASON_BYTES,), np.uint8)
        return layout

    @classmethod
    def create(cls, name: str | None, n_joints: int, capacity: int = ZONE_PAYLOAD_BYTES) -> ZoneMailbox:
        _check_shape(cls._KIND, n_joints, capacity)
        shm = create_segment(name, cls._KIND, cls._layout(capacity), n_joints, capacity)
        return cls(shm, True, n_joints, capacity)

    @classmethod
    def attach(cls, name: str, n_joints: int, capacity: int | None = None) -> ZoneMailbox:
        """``capacity`` None takes the creator's payload size."""
        shm, got = attach_segment(name, cls._KIND, n_joints, capacity)
        check_size(shm, cls._KIND, cls._layout(got))
        return cls(shm, False, n_joints, got)

    # -- executive side ------------------------------------------------------------------------ #

    def post(self, zones: list[BoxZone | HalfSpaceZone]) -> int:
        """Hand the complete zone list to the realtime side; returns the request number (1, 2, ...)
        its answer will carry. ValueError when the list does not fit (nothing is written)."""
        return self.post_payload(encode_zones(zones))

    def post_payload(self, payload: bytes) -> int:
        """Hand ``payload`` (JSON of a zone list) to the realtime side as it is; see ``post``."""
        n = len(payload)
        if n > self.capacity:
            raise ValueError(
                f"the zone list is {n} bytes of JSON; the zone mailbox holds {self.capacity}; "
                "the zones in force are unchanged"
            )
        seq = self._req_seq
        # "| 1" makes the in-progress value odd even if a previous writer died mid-write.
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._req_len[0] = n
        self._payload[:n] = np.frombuffer(payload, np.uint8)
        seq[0] = s + 1
        return (s + 1) >> 1

    def answer(self, max_retries: int = 1000) -> ZoneAnswer | None:
        """The realtime side's latest answer; None before its first (or if every retry collided)."""
        seq = self._ack_seq
        for attempt in range(max_retries):
            s = int(seq[0])
            if s == 0:
                return None
            if not s & 1:
                request, status, tick, n = self._ack_ints.tolist()
                reason = self._ack_reason[: max(0, min(n, ZONE_REASON_BYTES))].tobytes()
                if int(seq[0]) == s:
                    return ZoneAnswer(request, status == _ACK_APPLIED, tick, reason.decode("utf-8", "replace"))
            if attempt % _YIELD_EVERY == _YIELD_EVERY - 1:
                os.sched_yield()
        return None

    # -- realtime side ------------------------------------------------------------------------- #

    def request_word(self) -> int:
        """The request sequence word, for the once-per-tick check: it changes with every post,
        odd while one is being written. ``word >> 1`` is the request number."""
        return int(self._req_seq[0])

    def read_payload(self, word: int) -> bytes | None:
        """A copy of the payload posted as ``word`` (even); None when a newer post is being or
        was written meanwhile (read the word again next tick). ChannelError for a length word
        that no writer of this class leaves."""
        n = int(self._req_len[0])
        if not 0 <= n <= self.capacity:
            if int(self._req_seq[0]) != word:
                return None
            raise ChannelError(f"the zone mailbox records a payload of {n} bytes; it holds {self.capacity}")
        payload = self._payload[:n].tobytes()
        if int(self._req_seq[0]) != word:
            return None
        return payload

    def acknowledge(self, request: int, applied: bool, tick: int, reason: str = "") -> None:
        """Answer ``request`` at ``tick``: applied (staged for the next tick) or refused for ``reason``."""
        data = reason.encode("utf-8", "replace")[:ZONE_REASON_BYTES]  # a cut character decodes as U+FFFD
        seq = self._ack_seq
        s = (int(seq[0]) + 1) | 1
        seq[0] = s
        self._ack_reason[: len(data)] = np.frombuffer(data, np.uint8)
        self._ack_ints[:] = (request, _ACK_APPLIED if applied else _ACK_REFUSED, tick, len(data))
        seq[0] = s + 1
