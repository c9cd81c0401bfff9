"""Timing statistics of one periodic loop (one tier).

The loop calls :meth:`TimingRecorder.record` once per tick; it stores into preallocated arrays
only, so it costs a few µs at 1 kHz. :meth:`TimingRecorder.snapshot` does the sorting, on the
reader's side. A recorder created with :meth:`TimingRecorder.create_shared` lives in a
shared-memory segment, so the executive can take snapshots of the realtime process's loop.

The reader does not lock the writer out: a snapshot may be one tick newer in some fields than in
others, which is harmless for statistics, and every stored value is one aligned 8-byte word, so no
single number is ever torn.
"""

from __future__ import annotations

import math
from multiprocessing.shared_memory import SharedMemory

import numpy as np
from pydantic import BaseModel, ConfigDict

from dynamical.runtime.channels import (
    ChannelError,
    Layout,
    MappedSegment,
    attach_segment,
    check_size,
    create_segment,
)
from dynamical.runtime.clock import LATE_FRACTION

_NAME_BYTES = 64
# Lifetime counters, one int64 word each.
_TICKS, _LATE, _OVERRUNS, _MISSED, _PSTOPS, _N_PERIODS = range(6)
# Nearest-rank percentiles as exact fractions, so 99.9 % of 1000 samples is rank 999, not 1000.
_JITTER_RANKS = {"p50": (1, 2), "p99": (99, 100), "p99_9": (999, 1000)}
_WORK_RANKS = {"p50": (1, 2), "p99": (99, 100)}


class TimingSnapshot(BaseModel):
    """Timing of one loop. Percentiles are nearest-rank over the ring window; NaN with no samples."""

    model_config = ConfigDict(frozen=True)

    name: str
    period_s: float
    rate_hz: float
    """Ticks per second achieved over the ring window."""
    ticks: int
    late_ticks: int
    """Ticks that started more than 0.1 period after their deadline (lifetime)."""
    late_fraction: float
    overruns: int
    """Ticks whose work ended more than a period after their deadline (lifetime)."""
    missed: int
    """Deadlines skipped (lifetime), as reported with ``add_missed``."""
    protective_stops: int
    jitter_us: dict[str, float]
    """p50, p99, p99_9, max of |start_k - start_{k-1} - period|, µs."""
    work_us: dict[str, float]
    """p50, p99, max of end - start, µs."""


def _nearest_rank(sorted_values: np.ndarray, ranks: dict[str, tuple[int, int]]) -> dict[str, float]:
    n = len(sorted_values)
    out: dict[str, float] = {}
    for key, (num, den) in ranks.items():
        out[key] = float(sorted_values[max(1, -(-num * n // den)) - 1]) if n else math.nan
    out["max"] = float(sorted_values[-1]) if n else math.nan
    return out


class TimingRecorder(MappedSegment):
    """Per-tick timing of one loop: a ring of the last ``capacity`` samples plus lifetime counters.

    One writer per recorder: the writer keeps its counters in Python ints and stores them through,
    so ``record`` never reads shared memory back.
    """

    _KIND = "TimingRecorder"

    def __init__(self, name: str, period: float, capacity: int = 1 << 16) -> None:
        self._init(None, True, name, period, capacity)

    def _init(self, shm: SharedMemory | None, owner: bool, name: str, period: float, capacity: int) -> None:
        if not period > 0:
            raise ValueError(f"period must be > 0 s, got {period}")
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2, got {capacity}")
        super().__init__(shm, owner)
        self._name = name
        self.period = float(period)
        self.capacity = capacity
        if shm is None:
            views = {
                "name": np.zeros(_NAME_BYTES, np.uint8),
                "params": np.zeros(1, np.float64),
                "counters": np.zeros(6, np.int64),
                "last_start": np.zeros(1, np.float64),
                "periods": np.zeros(capacity, np.float64),
                "work": np.zeros(capacity, np.float64),
            }
        else:
            views = self._layout(capacity).map(shm)
        self._counters = views["counters"]  # (6,) int64
        self._last_start_w = views["last_start"]  # (1,) float64
        self._periods = views["periods"]  # (capacity,) float64, s
        self._work = views["work"]  # (capacity,) float64, s
        # The writer's copies; an attached recorder resumes from what the segment holds.
        counters = self._counters.tolist()
        self._ticks = counters[_TICKS]
        self._late = counters[_LATE]
        self._overruns = counters[_OVERRUNS]
        self._n_periods = counters[_N_PERIODS]
        self._last_start = float(self._last_start_w[0])
        self._late_after = LATE_FRACTION * self.period

    @staticmethod
    def _layout(capacity: int) -> Layout:
        layout = Layout()
        layout.add("name", (_NAME_BYTES,), np.uint8)
        layout.add("params", (1,), np.float64)
        layout.add("counters", (6,), np.int64)
        layout.add("last_start", (1,), np.float64)
        layout.add("periods", (capacity,), np.float64)
        layout.add("work", (capacity,), np.float64)
        return layout

    @classmethod
    def create_shared(
        cls, name: str, period: float, capacity: int = 1 << 16, segment_name: str | None = None
    ) -> TimingRecorder:
        """A recorder in a new shared-memory segment (``segment_name`` None picks a free name)."""
        encoded = name.encode()
        if len(encoded) > _NAME_BYTES:
            raise ValueError(f"recorder name is {len(encoded)} bytes in UTF-8; at most {_NAME_BYTES}")
        if capacity < 2:
            raise ValueError(f"capacity must be >= 2, got {capacity}")
        layout = cls._layout(capacity)
        shm = create_segment(segment_name, cls._KIND, layout, 0, capacity)
        views = layout.map(shm)
        views["name"][: len(encoded)] = np.frombuffer(encoded, np.uint8)
        views["params"][0] = period
        del views
        recorder = cls.__new__(cls)
        recorder._init(shm, True, name, period, capacity)
        return recorder

    @classmethod
    def attach_shared(
        cls, segment_name: str, period: float | None = None, capacity: int | None = None
    ) -> TimingRecorder:
        """Map a shared recorder; its name, period and capacity come from the segment.

        A given ``period`` or ``capacity`` must match the segment's, else ChannelError.
        """
        shm, got_capacity = attach_segment(segment_name, cls._KIND, 0, capacity)
        layout = cls._layout(got_capacity)
        check_size(shm, cls._KIND, layout)
        views = layout.map(shm)
        name = bytes(views["name"]).rstrip(b"\0").decode()
        got_period = float(views["params"][0])
        del views
        if period is not None and got_period != period:
            shm.close()
            raise ChannelError(
                f"TimingRecorder {segment_name!r} has period {got_period} s; attach asked for {period} s"
            )
        recorder = cls.__new__(cls)
        recorder._init(shm, False, name, got_period, got_capacity)
        return recorder

    @property
    def shared(self) -> bool:
        return self._shm is not None

    @property
    def name(self) -> str:
        """The loop's name, e.g. "safety"."""
        return self._name

    @property
    def segment_name(self) -> str:
        """The shared-memory segment name another process passes to ``attach_shared``."""
        return MappedSegment.name.fget(self)  # type: ignore[attr-defined]

    def record(self, start: float, deadline: float, end: float) -> None:
        """One tick: when its work began, when it was due, when its work ended (s, one clock)."""
        counters = self._counters
        ticks = self._ticks
        capacity = self.capacity
        if ticks:
            n = self._n_periods
            self._periods[n % capacity] = start - self._last_start
            n += 1
            self._n_periods = n
            counters[_N_PERIODS] = n
        self._work[ticks % capacity] = end - start
        self._last_start = start
        self._last_start_w[0] = start
        if start - deadline > self._late_after:
            self._late += 1
            counters[_LATE] = self._late
        if end - deadline > self.period:
            self._overruns += 1
            counters[_OVERRUNS] = self._overruns
        ticks += 1
        self._ticks = ticks
        # Last, so a reader that sees the new tick count also sees that tick's samples.
        counters[_TICKS] = ticks

    def add_missed(self, k: int = 1) -> None:
        """Count ``k`` skipped deadlines (a clock's ``missed`` delta)."""
        self._counters[_MISSED] += k

    def add_protective_stop(self) -> None:
        self._counters[_PSTOPS] += 1

    def snapshot(self) -> TimingSnapshot:
        counters = self._counters.tolist()
        ticks = counters[_TICKS]
        n_periods = min(counters[_N_PERIODS], self.capacity)
        n_work = min(ticks, self.capacity)
        # Until the ring wraps, only the first n slots hold samples.
        periods = self._periods[:n_periods].copy()
        work = np.sort(self._work[:n_work])
        jitter = np.sort(np.abs(periods - self.period))
        total = float(periods.sum())
        return TimingSnapshot(
            name=self._name,
            period_s=self.period,
            rate_hz=n_periods / total if n_periods and total > 0 else math.nan,
            ticks=ticks,
            late_ticks=counters[_LATE],
            late_fraction=counters[_LATE] / ticks if ticks else 0.0,
            overruns=counters[_OVERRUNS],
            missed=counters[_MISSED],
            protective_stops=counters[_PSTOPS],
            jitter_us=_nearest_rank(jitter * 1e6, _JITTER_RANKS),
            work_us=_nearest_rank(work * 1e6, _WORK_RANKS),
        )
