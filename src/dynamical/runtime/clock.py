"""Clocks that pace the tiers.

:class:`RealtimeClock` paces the realtime process on the wall clock; :class:`LockstepClock` paces
tests and demos in simulated time. Both satisfy :class:`Clock`, so a loop written against it runs
unchanged under either.

Deadlines are absolute (``t0 + k * period``): scheduling "now + period" accumulates every
wake-up delay and drifts to ~90 % of the rate at 1 kHz (see FIELD_NOTES).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

LATE_FRACTION = 0.1
"""A tick is late when it starts more than this fraction of a period after its deadline."""

logger = logging.getLogger("dynamical.runtime")


@dataclass(frozen=True)
class TickInfo:
    """One tick as the clock released it."""

    index: int
    """k in ``deadline = t0 + k * period``; skipped deadlines leave gaps."""
    deadline: float
    """s, when the tick was due, in the clock's time."""
    start: float
    """s, when the clock released the tick."""
    late: bool
    """start - deadline > LATE_FRACTION * period."""


@runtime_checkable
class Clock(Protocol):
    """A scheduler a periodic loop blocks on."""

    period: float
    """s"""
    missed: int
    """Deadlines skipped because the loop fell a whole period or more behind."""

    def now(self) -> float:
        """s, this clock's time."""
        ...

    def wait_next(self) -> TickInfo:
        """Block until the next tick's deadline and describe the tick."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class RealtimeStatus:
    """What :func:`enter_realtime` obtained."""

    sched_fifo: bool
    gc_frozen: bool
    cpu_affinity: tuple[int, ...] | None
    """The CPUs the thread is pinned to, or None when it was not pinned."""
    message: str


# What enter_realtime changed, so leave_realtime can undo exactly that.
_saved_affinity: set[int] | None = None
_gc_was_enabled: bool | None = None


def enter_realtime(priority: int = 80, cpu: int | None = None) -> RealtimeStatus:
    """Give the calling thread SCHED_FIFO ``priority``, freeze and disable the GC, pin it to ``cpu``.

    Whatever is refused (no CAP_SYS_NICE, no rtprio limit, a CPU outside the allowed set) falls
    back to normal scheduling with one RuntimeWarning and a log line; the loop still runs.
    """
    global _saved_affinity, _gc_was_enabled
    if not 1 <= priority <= 99:
        raise ValueError(f"SCHED_FIFO priority must be 1..99, got {priority}")
    refused: list[str] = []
    notes: list[str] = []

    sched_fifo = False
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_FIFO"):
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
            sched_fifo = True
            notes.append(f"SCHED_FIFO priority {priority}")
        except OSError as exc:  # PermissionError is an OSError
            refused.append(f"SCHED_FIFO priority {priority} refused ({exc})")
    else:
        refused.append("SCHED_FIFO is not available on this platform")

    affinity: tuple[int, ...] | None = None
    if cpu is not None:
        try:
            previous = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})
            if _saved_affinity is None:
                _saved_affinity = previous
            affinity = tuple(sorted(os.sched_getaffinity(0)))
            notes.append(f"pinned to CPU {cpu}")
        except (OSError, AttributeError) as exc:
            refused.append(f"pinning to CPU {cpu} refused ({exc})")

    # Collect once now, then never again in the loop: a collection of a large heap pauses for ms.
    if _gc_was_enabled is None:
        _gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    notes.append("gc frozen and disabled")

    message = "; ".join(notes)
    if refused:
        message = (
            "real-time priority was refused: "
            + "; ".join(refused)
            + ". The loop runs with normal scheduling and its timing will be worse (p99 jitter near 1 ms "
            "instead of tens of µs at 1 kHz). Grant CAP_SYS_NICE or an rtprio limit (ulimit -r) to fix. " + message
        )
        logger.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
    else:
        logger.info("entered real time: %s", message)
    return RealtimeStatus(sched_fifo=sched_fifo, gc_frozen=True, cpu_affinity=affinity, message=message)


def elevate_thread(priority: int = 40, nice: int = -10) -> str:
    """Give the calling thread SCHED_FIFO ``priority`` — and nothing else: no GC freeze, no
    pinning, for a thread that shares its process with ordinary work (the executive's control
    loop beside the agent link). Refused, it asks for niceness ``nice`` instead, refused again
    it stays as it is; a warning says which. Returns what it obtained, in words."""
    if not 1 <= priority <= 99:
        raise ValueError(f"SCHED_FIFO priority must be 1..99, got {priority}")
    refused: list[str] = []
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_FIFO"):
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
            return f"SCHED_FIFO priority {priority}"
        except OSError as exc:
            refused.append(f"SCHED_FIFO priority {priority} refused ({exc})")
    refusal = _set_nice(nice)
    if refusal is None:
        message = f"nice {nice} ({'; '.join(refused)})"
    else:
        message = "normal priority: " + "; ".join([*refused, refusal])
    logger.warning("control thread: %s; a busy machine can delay its ticks", message)
    return message


def _set_nice(nice: int) -> str | None:
    """Give the calling thread niceness ``nice``; None when granted, else why not."""
    if not hasattr(os, "setpriority"):
        return "no priority control on this platform"
    try:
        # On Linux the "process" of setpriority is the thread whose id is given.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError as exc:
        return f"nice {nice} refused ({exc})"
    return None


def renice(nice: int = -10) -> str:
    """Give the calling thread, and every thread it starts from now on, niceness ``nice``: for a
    process whose threads share one lock (the GIL) with a real-time thread, so that none of them
    sits preempted by ordinary load while holding it. Refused, it warns. Returns what it got."""
    refusal = _set_nice(nice)
    if refusal is None:
        return f"nice {nice}"
    message = f"niceness unchanged: {refusal}; ordinary load can delay this process's threads"
    logger.warning(message)
    return message


def leave_realtime() -> None:
    """Undo :func:`enter_realtime` for the calling thread: SCHED_OTHER, GC back, affinity restored."""
    global _saved_affinity, _gc_was_enabled
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_OTHER"):
        try:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        except OSError as exc:
            logger.warning("could not return to SCHED_OTHER: %s", exc)
    if _saved_affinity is not None:
        try:
            os.sched_setaffinity(0, _saved_affinity)
        except OSError as exc:
            logger.warning("could not restore CPU affinity: %s", exc)
        _saved_affinity = None
    gc.unfreeze()
    if _gc_was_enabled is None or _gc_was_enabled:
        gc.enable()
    _gc_was_enabled = None


class RealtimeClock:
    """Wall-clock ticks at absolute deadlines ``t0 + k * period`` on ``time.monotonic()``.

    ``t0`` is the time of the first :meth:`wait_next`, which returns at once as tick 0. Each later
    call sleeps until ``spin_s`` before the deadline, then spins: ``time.sleep`` wakes up tens to
    hundreds of µs late, spinning does not. When the loop is a whole period or more behind, the
    passed deadlines are skipped and counted in :attr:`missed` instead of being run back to back.
    """

    def __init__(
        self,
        period: float,
        spin_s: float = 200e-6,
        realtime: bool = True,
        cpu: int | None = None,
        priority: int = 80,
    ) -> None:
        if not period > 0:
            raise ValueError(f"period must be > 0 s, got {period}")
        if not spin_s >= 0:
            raise ValueError(f"spin_s must be >= 0 s, got {spin_s}")
        self.period = float(period)
        self.spin_s = float(spin_s)
        self.missed = 0
        self.realtime_status: RealtimeStatus | None = None
        self._realtime = realtime
        self._cpu = cpu
        self._priority = priority
        self._entered = False
        self._t0: float | None = None
        self._index = -1

    @property
    def t0(self) -> float | None:
        """s, the deadline of tick 0; None before the first tick."""
        return self._t0

    def now(self) -> float:
        return time.monotonic()

    def wait_next(self) -> TickInfo:
        if self._t0 is None:
            if self._realtime and not self._entered:
                self.realtime_status = enter_realtime(self._priority, self._cpu)
                self._entered = True
            start = time.monotonic()
            self._t0 = start
            self._index = 0
            return TickInfo(0, start, start, False)
        period = self.period
        t0 = self._t0
        index = self._index + 1
        now = time.monotonic()
        latest_due = int((now - t0) / period)
        if latest_due > index:
            self.missed += latest_due - index
            index = latest_due
        deadline = t0 + index * period
        remaining = deadline - now
        if remaining > self.spin_s:
            time.sleep(remaining - self.spin_s)
        while time.monotonic() < deadline:
            pass
        start = time.monotonic()
        self._index = index
        return TickInfo(index, deadline, start, start - deadline > LATE_FRACTION * period)

    def close(self) -> None:
        """Leave real time if this clock entered it."""
        if self._entered:
            leave_realtime()
            self._entered = False


class LockstepClock:
    """Simulated time: every :meth:`wait_next` returns at once, exactly one period later.

    Tick k has deadline ``start + k * period``; it is never late and never misses.
    """

    def __init__(self, period: float, start: float = 0.0) -> None:
        if not period > 0:
            raise ValueError(f"period must be > 0 s, got {period}")
        self.period = float(period)
        self.missed = 0
        self._start = float(start)
        self._index = -1

    def now(self) -> float:
        """s, the deadline of the current tick (``start`` before the first)."""
        return self._start + max(self._index, 0) * self.period

    def wait_next(self) -> TickInfo:
        self._index += 1
        deadline = self._start + self._index * self.period
        return TickInfo(self._index, deadline, deadline, False)

    def close(self) -> None:
        """Nothing to release: simulated time holds no OS resources."""


def run_for(clock: Clock, seconds: float, step: Callable[[float, TickInfo], None]) -> float:
    """Call ``step(elapsed, tick)`` at every tick of ``clock`` for ``seconds``; returns the elapsed
    time of the last tick run. The executive's control loop, in the CLI and the benchmarks."""
    start = None
    elapsed = 0.0
    while True:
        info = clock.wait_next()
        start = info.start if start is None else start
        if info.start - start >= seconds:
            return elapsed
        elapsed = info.start - start
        step(elapsed, info)
