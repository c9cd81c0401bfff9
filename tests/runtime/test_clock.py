import gc
import itertools
import logging
import os
import threading
import time
import warnings

import pytest

from dynamical.runtime import (
    Clock,
    LockstepClock,
    RealtimeClock,
    RealtimeStatus,
    TickInfo,
    enter_realtime,
    leave_realtime,
)
from dynamical.runtime import clock as clock_module
from dynamical.runtime.clock import elevate_thread, renice

PERIOD = 1e-3


def _run(clock: RealtimeClock, n: int, stall_at: int | None = None, stall_s: float = 0.0) -> list[TickInfo]:
    ticks = []
    try:
        for _ in range(n):
            tick = clock.wait_next()
            ticks.append(tick)
            # The first tick at or after stall_at: on a busy machine that very deadline may be missed.
            if stall_at is not None and tick.index >= stall_at:
                time.sleep(stall_s)
                stall_at = None
    finally:
        clock.close()
    return ticks


@pytest.mark.timing
def test_realtime_clock_keeps_the_rate_on_absolute_deadlines() -> None:
    clock = RealtimeClock(PERIOD)
    ticks = _run(clock, 300)
    t0 = ticks[0].deadline
    assert clock.t0 == t0
    indices = [tick.index for tick in ticks]
    assert all(b > a for a, b in itertools.pairwise(indices))
    for tick in ticks:
        assert tick.deadline == t0 + tick.index * PERIOD
        assert tick.start >= tick.deadline
        assert tick.late == (tick.start - tick.deadline > 0.1 * PERIOD)
    # A busy machine may make a tick late or skip deadlines, but every skipped one is counted and the
    # ticks stay on the grid: lateness does not add up (a relative sleep would drift by every delay).
    assert clock.missed == indices[-1] + 1 - len(ticks)
    lateness = sorted(tick.start - tick.deadline for tick in ticks)
    assert lateness[len(lateness) // 2] < 5 * PERIOD  # the median tick starts near its deadline
    mean_period = (ticks[-1].start - ticks[0].start) / (indices[-1] - indices[0])
    assert mean_period == pytest.approx(PERIOD, rel=0.1)
    assert clock.realtime_status is not None


@pytest.mark.timing
def test_realtime_clock_skips_a_stall_without_drifting() -> None:
    clock = RealtimeClock(PERIOD, realtime=False)
    stall_s = 20e-3
    ticks = _run(clock, 60, stall_at=20, stall_s=stall_s)
    t0 = ticks[0].deadline
    indices = [tick.index for tick in ticks]
    assert all(b > a for a, b in itertools.pairwise(indices))
    for tick in ticks:
        assert tick.deadline == t0 + tick.index * PERIOD
        assert tick.late == (tick.start - tick.deadline > 0.1 * PERIOD)
    # Every deadline up to the last either ran or was counted as missed, none twice.
    assert clock.missed == indices[-1] + 1 - len(ticks)
    stalled = next(i for i in indices if i >= 20)
    after_stall = indices[indices.index(stalled) + 1]
    assert after_stall >= stalled + 20
    assert clock.missed >= after_stall - stalled - 1 >= 19
    # Back on the original grid afterwards: not a stall's worth behind it (a relative sleep would be).
    lateness = sorted(t.start - t.deadline for t in ticks if t.index > after_stall)
    assert lateness[len(lateness) // 2] < stall_s / 2


class _FakeTime:
    """A monotonic clock that moves only when slept on or read (1 µs per read)."""

    def __init__(self) -> None:
        self.t = 100.0

    def monotonic(self) -> float:
        self.t += 1e-6
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def test_realtime_clock_counts_missed_and_late_ticks_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeTime()
    monkeypatch.setattr(clock_module, "time", fake)
    clock = RealtimeClock(PERIOD, realtime=False)
    first = [clock.wait_next() for _ in range(4)]  # ticks 0..3
    fake.t += 5.5 * PERIOD  # the loop body stalls 5.5 periods after tick 3
    stalled = clock.wait_next()
    recovered = clock.wait_next()
    t0 = first[0].deadline
    assert [t.index for t in first] == [0, 1, 2, 3]
    assert not any(t.late for t in first)
    # Deadlines 4..7 passed during the stall: skipped, not run back to back; 8 runs late.
    assert (stalled.index, stalled.deadline, stalled.late) == (8, t0 + 8 * PERIOD, True)
    assert clock.missed == 4
    assert (recovered.index, recovered.deadline, recovered.late) == (9, t0 + 9 * PERIOD, False)
    assert recovered.start >= recovered.deadline


def test_lockstep_clock_is_exact_and_deterministic() -> None:
    runs = []
    for _ in range(2):
        clock = LockstepClock(5e-3, start=2.0)
        assert clock.now() == 2.0
        ticks = [clock.wait_next() for _ in range(1000)]
        assert clock.now() == ticks[-1].deadline
        clock.close()
        runs.append(ticks)
    assert runs[0] == runs[1]
    for k, tick in enumerate(runs[0]):
        assert tick == TickInfo(k, 2.0 + k * 5e-3, 2.0 + k * 5e-3, False)
    assert isinstance(LockstepClock(1e-3), Clock)
    assert isinstance(RealtimeClock(1e-3, realtime=False), Clock)


def test_clocks_refuse_a_non_positive_period() -> None:
    with pytest.raises(ValueError, match="period"):
        RealtimeClock(0.0)
    with pytest.raises(ValueError, match="period"):
        LockstepClock(-1e-3)


def test_enter_realtime_reports_what_it_got() -> None:
    gc_was_enabled = gc.isenabled()
    affinity = os.sched_getaffinity(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # refused or not depends on the machine
        status = enter_realtime(priority=10, cpu=0)
    try:
        assert isinstance(status, RealtimeStatus)
        assert status.sched_fifo == (os.sched_getscheduler(0) == os.SCHED_FIFO)
        assert status.gc_frozen and not gc.isenabled()
        assert status.cpu_affinity == ((0,) if os.sched_getaffinity(0) == {0} else None)
    finally:
        leave_realtime()
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
    assert gc.isenabled() == gc_was_enabled
    assert os.sched_getaffinity(0) == affinity


def test_enter_realtime_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, "dynamical.runtime"):
        warnings.simplefilter("always")
        try:
            status = enter_realtime()
        finally:
            leave_realtime()
    runtime_warnings = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(runtime_warnings) == 1
    text = str(runtime_warnings[0].message)
    assert "real-time priority was refused" in text and "timing will be worse" in text
    assert not status.sched_fifo and status.gc_frozen
    assert status.message == text
    assert [r.name for r in caplog.records if "refused" in r.getMessage()] == ["dynamical.runtime"]
    assert gc.isenabled()


def _in_a_thread(call):  # type: ignore[no-untyped-def]
    """``call()`` on a new thread; returns its result and that thread's scheduler and niceness."""
    out: dict[str, object] = {}

    def body() -> None:
        out["result"] = call()
        out["policy"] = os.sched_getscheduler(0)
        out["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return out["result"], out["policy"], out["nice"]


def test_elevate_thread_changes_only_the_calling_thread() -> None:
    gc_was_enabled = gc.isenabled()
    message, policy, _ = _in_a_thread(lambda: elevate_thread(priority=5))
    assert (message == "SCHED_FIFO priority 5") == (policy == os.SCHED_FIFO)
    assert os.sched_getscheduler(0) == os.SCHED_OTHER, "the caller's thread only"
    assert gc.isenabled() == gc_was_enabled, "no GC freeze: the process serves other work"
    with pytest.raises(ValueError, match="1..99"):
        elevate_thread(priority=0)


def test_elevate_thread_falls_back_to_niceness_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with caplog.at_level(logging.WARNING, "dynamical.runtime"):
        message, _, nice = _in_a_thread(lambda: elevate_thread(nice=-3))
    assert "SCHED_FIFO priority 40 refused" in message
    if message.startswith("nice -3"):
        assert nice == -3
    else:  # not even niceness: it stays as it was, and says so
        assert message.startswith("normal priority")
    assert any("a busy machine can delay its ticks" in r.getMessage() for r in caplog.records)


def test_renice_reaches_the_threads_started_after_it() -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def renice_then_start_one():  # type: ignore[no-untyped-def]
        message = renice(-2)
        _, _, child_nice = _in_a_thread(lambda: None)
        return message, child_nice

    (message, child_nice), _, own_nice = _in_a_thread(renice_then_start_one)
    if message == "nice -2":
        assert own_nice == -2 and child_nice == -2
    else:
        assert "refused" in message
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine, "not the caller's thread"


def test_run_for_calls_the_step_every_tick_for_the_duration():
    from dynamical.runtime.clock import run_for

    seen = []
    last = run_for(LockstepClock(0.005), 0.1, lambda elapsed, info: seen.append((elapsed, info.index)))
    assert [index for _, index in seen] == list(range(20))
    assert seen[-1][0] == pytest.approx(0.095) and last == pytest.approx(0.095)
