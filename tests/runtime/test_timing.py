import math
import multiprocessing

import pytest

from dynamical.runtime import ChannelError, CommandRing, TimingRecorder, TimingSnapshot

PERIOD = 1e-3
SPAWN = multiprocessing.get_context("spawn")


def _synthetic(recorder: TimingRecorder) -> None:
    """1001 ticks with known jitter, lateness and work (built in integer µs)."""
    jitters = {100 + 40 * j: (j if j % 2 else -j) for j in range(1, 21)}  # 20 samples off by 1..20 µs
    late = {k: 150 for k in range(200, 207)}  # 7 ticks late, well inside their period
    late.update({950: 600, 970: 600, 990: 600})  # 3 more late ticks whose work spills over
    start_us = 0
    for k in range(1001):
        if k:
            start_us += 1000 + jitters.get(k, 0)
        start = start_us * 1e-6
        work = k / 2 * 1e-6  # 0 .. 500 µs
        recorder.record(start, start - late.get(k, 0) * 1e-6, start + work)
    recorder.add_missed(4)
    recorder.add_missed(1)
    recorder.add_protective_stop()
    recorder.add_protective_stop()


def _check_synthetic(snap: TimingSnapshot) -> None:
    assert (snap.name, snap.period_s) == ("safety", PERIOD)
    assert (snap.ticks, snap.late_ticks, snap.overruns, snap.missed, snap.protective_stops) == (1001, 10, 3, 5, 2)
    assert snap.late_fraction == 10 / 1001
    # 1000 period samples summing to 1 s - 10 µs (odd offsets add 100 µs, even ones remove 110).
    assert snap.rate_hz == pytest.approx(1000 / 0.99999, rel=1e-9)
    # |jitter|: 980 zeros then 1..20 µs; nearest rank 500 -> 0, 990 -> 10, 999 -> 19.
    assert snap.jitter_us == pytest.approx({"p50": 0.0, "p99": 10.0, "p99_9": 19.0, "max": 20.0}, abs=1e-6)
    # work: 0, 0.5, ..., 500 µs over 1001 ticks; nearest rank 501 -> 250, 991 -> 495.
    assert snap.work_us == pytest.approx({"p50": 250.0, "p99": 495.0, "max": 500.0}, abs=1e-6)


def _child_records(segment_name: str) -> None:
    recorder = TimingRecorder.attach_shared(segment_name, period=PERIOD)
    _synthetic(recorder)
    recorder.close()


def test_synthetic_sequence_gives_exact_counts_and_percentiles() -> None:
    recorder = TimingRecorder("safety", PERIOD)
    _synthetic(recorder)
    _check_synthetic(recorder.snapshot())
    assert not recorder.shared


def test_statistics_cover_the_ring_window_and_counters_the_lifetime() -> None:
    recorder = TimingRecorder("control", 5e-3, capacity=8)
    start = 0.0
    for k in range(20):
        if k:
            start += 20e-3 if k == 5 else 5e-3  # one 15 ms hiccup, early on
        recorder.record(start, start, start + (4e-3 if k < 10 else 1e-3))
    snap = recorder.snapshot()
    assert (snap.ticks, snap.late_ticks, snap.overruns) == (20, 0, 0)
    assert snap.rate_hz == pytest.approx(200.0)  # the hiccup has left the 8-sample window
    assert snap.jitter_us["max"] == pytest.approx(0.0, abs=1e-6)
    assert snap.work_us == pytest.approx({"p50": 1000.0, "p99": 1000.0, "max": 1000.0})


def test_an_empty_recorder_reports_no_samples() -> None:
    snap = TimingRecorder("idle", PERIOD).snapshot()
    assert (snap.ticks, snap.late_ticks, snap.late_fraction) == (0, 0, 0.0)
    assert math.isnan(snap.rate_hz)
    assert all(math.isnan(v) for v in [*snap.jitter_us.values(), *snap.work_us.values()])
    assert set(snap.jitter_us) == {"p50", "p99", "p99_9", "max"} and set(snap.work_us) == {"p50", "p99", "max"}


def test_shared_recorder_written_by_another_process() -> None:
    recorder = TimingRecorder.create_shared("safety", PERIOD, capacity=4096)
    try:
        assert recorder.shared and recorder.name == "safety"
        child = SPAWN.Process(target=_child_records, args=(recorder.segment_name,))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        _check_synthetic(recorder.snapshot())
        reader = TimingRecorder.attach_shared(recorder.segment_name)
        assert (reader.name, reader.period, reader.capacity) == ("safety", PERIOD, 4096)
        assert reader.snapshot() == recorder.snapshot()
        reader.close()
        with pytest.raises(ChannelError, match="has period 0.001 s; attach asked for 0.005 s"):
            TimingRecorder.attach_shared(recorder.segment_name, period=5e-3)
        with pytest.raises(ChannelError, match="created with capacity 4096; attach asked for 8"):
            TimingRecorder.attach_shared(recorder.segment_name, capacity=8)
    finally:
        recorder.close()
        recorder.unlink()


def test_attach_shared_refuses_other_segments() -> None:
    ring = CommandRing.create(None, 3)
    try:
        with pytest.raises(ChannelError, match="is a CommandRing, not a TimingRecorder"):
            TimingRecorder.attach_shared(ring.name)
    finally:
        ring.close()
        ring.unlink()
    with pytest.raises(ValueError, match="period"):
        TimingRecorder("bad", 0.0)
