import contextlib
import math
import multiprocessing
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from dynamical.runtime import (
    ChannelError,
    CommandRing,
    EventRing,
    StateSnapshot,
    StatusBlock,
)
from dynamical.safety.rules import SafetyMode

SPAWN = multiprocessing.get_context("spawn")
N = 7
BURST = 500
"""The torn-read tests' writers wait at the end of every burst of this many writes until the reader
has read that write: the reader reads while each burst is written, on any machine, however busy,
instead of hoping the scheduler interleaves the two processes."""


@pytest.fixture
def segments() -> Iterator[list[Any]]:
    """Channels a test creates; closed and unlinked afterwards."""
    created: list[Any] = []
    yield created
    for channel in created:
        channel.close()
        with contextlib.suppress(FileNotFoundError):
            channel.unlink()


def _run_child(target: Any, *args: Any, timeout: float = 60.0) -> None:
    child = SPAWN.Process(target=target, args=args)
    child.start()
    child.join(timeout)
    assert child.exitcode == 0, f"child exited with {child.exitcode}"


def _status_kwargs(tick: int) -> dict[str, Any]:
    return {
        "tick": tick,
        "t": tick * 1e-3,
        "mode": SafetyMode.BRAKING,
        "estop_category": -1,
        "protective_stop": False,
        "speed_scale": 0.25,
        "separation_m": math.nan,
        "protective_distance_m": 0.8,
        "interventions": 3,
        "last_command_seq": 41,
        "rt_heartbeat": tick,
        "power_on": True,
        "estop_latched_t": math.nan,
        "reason": 12,
    }


# -- children (run in a spawned process: module-level so they can be imported there) ---------- #


def _child_writes_everything(names: dict[str, str], replies: Any) -> None:
    commands = CommandRing.attach(names["commands"], N, capacity=16)
    state = StateSnapshot.attach(names["state"], N)
    events = EventRing.attach(names["events"], N, capacity=32)
    status = StatusBlock.attach(names["status"], N)
    q = np.linspace(-1.0, 1.0, N)
    seqs = [
        commands.push(10.0, q),
        commands.push(10.005, q + 1, dq=np.full(N, 0.5)),
        commands.push(10.010, q + 2, tau=np.full(N, -3.0)),
    ]
    state.write(10.011, 11, q, 2 * q, 3 * q)
    events.append(10.012, 12, 7, 3, 2.5, 2.0, q, np.zeros(N))
    events.append(10.013, 13, 9, -1, math.inf, 1.0, q + 1, q)
    for _ in range(5):
        status.beat()
    estop = status.request_estop(1, 10.014)
    reset = status.request_reset()
    status.request_shutdown()
    replies.put((seqs, estop, reset, status.read_status()))
    for channel in (commands, state, events, status):
        channel.close()


def _child_attaches_and_exits(kind: str, name: str) -> None:
    channel = {"state": StateSnapshot, "commands": CommandRing}[kind].attach(name, N)
    channel.close()


def _child_writes_states(name: str, n: int, ticks: int, ready: Any, seen: Any) -> None:
    state = StateSnapshot.attach(name, n)
    ready.set()
    for tick in range(1, ticks + 1):
        value = np.full(n, float(tick))
        state.write(tick * 1e-3, tick, value, -value, 2 * value)
        if tick % BURST == 0 and not seen.acquire(timeout=60):
            raise SystemExit(3)  # the reader stopped reading
    state.close()


def _child_pushes_commands(name: str, n: int, capacity: int, count: int, ready: Any, seen: Any) -> None:
    ring = CommandRing.attach(name, n, capacity=capacity)
    ready.set()
    for seq in range(1, count + 1):
        value = np.full(n, float(seq))
        ring.push(seq * 1e-3, value, dq=-value, tau=2 * value)
        if seq % BURST == 0 and not seen.acquire(timeout=60):
            raise SystemExit(3)  # the reader stopped reading
    ring.close()


def _child_appends_events(name: str, n: int, capacity: int, count: int, ready: Any) -> None:
    ring = EventRing.attach(name, n, capacity=capacity)
    ready.set()
    for seq in range(1, count + 1):
        value = np.full(n, float(seq))
        ring.append(seq * 1e-3, seq, seq % 50, seq % n, float(seq), -float(seq), value, -value)
    ring.close()


# -- tests ------------------------------------------------------------------------------------ #


def test_a_child_process_writes_what_the_parent_reads(segments: list[Any]) -> None:
    commands = CommandRing.create(None, N, capacity=16)
    state = StateSnapshot.create(None, N)
    events = EventRing.create(None, N, capacity=32)
    status = StatusBlock.create(None, N)
    segments += [commands, state, events, status]
    status.write_status(**_status_kwargs(5))
    names = {"commands": commands.name, "state": state.name, "events": events.name, "status": status.name}
    replies = SPAWN.Queue()
    _run_child(_child_writes_everything, names, replies)
    seqs, estop, reset, child_saw = replies.get(timeout=10)

    q = np.linspace(-1.0, 1.0, N)
    assert seqs == [1, 2, 3]
    slots = commands.read_since(0)
    assert [s.seq for s in slots] == [1, 2, 3]
    assert [s.t for s in slots] == [10.0, 10.005, 10.010]
    np.testing.assert_array_equal(slots[1].q, q + 1)
    np.testing.assert_array_equal(slots[1].dq, np.full(N, 0.5))
    assert slots[0].dq is None and slots[0].tau is None and slots[1].tau is None
    latest = commands.latest()
    assert latest is not None and latest.seq == 3
    np.testing.assert_array_equal(latest.tau, np.full(N, -3.0))
    assert commands.read_since(2)[0].seq == 3

    sample = state.read()
    assert sample is not None and (sample.t, sample.tick) == (10.011, 11)
    np.testing.assert_array_equal(sample.dq, 2 * q)
    np.testing.assert_array_equal(sample.tau, 3 * q)

    records, lost = events.read_since(0)
    assert lost == 0
    assert [(r.seq, r.tick, r.rule, r.joint) for r in records] == [(1, 12, 7, 3), (2, 13, 9, -1)]
    assert (records[0].value, records[0].limit, records[1].value) == (2.5, 2.0, math.inf)
    np.testing.assert_array_equal(records[1].cmd_before, q + 1)
    np.testing.assert_array_equal(records[1].cmd_after, q)

    assert status.read_heartbeat() == 5
    assert estop == 1
    seq, category, t = status.pending_estop()
    assert (seq, category, t) == (1, 1, 10.014)
    assert reset == status.reset_seq() == 1
    assert status.shutdown_requested()
    # The child saw what the parent wrote, NaN and enum included.
    assert child_saw.tick == 5 and child_saw.mode is SafetyMode.BRAKING and child_saw.reason == 12
    assert math.isnan(child_saw.separation_m) and child_saw.power_on and not child_saw.protective_stop


@pytest.mark.timing
def test_state_reads_are_never_torn(segments: list[Any]) -> None:
    n = 512  # long copies widen the window a torn read would need
    state = StateSnapshot.create(None, n)
    segments.append(state)
    ready, burst_read = SPAWN.Event(), SPAWN.Semaphore(0)
    ticks = 200_000
    child = SPAWN.Process(target=_child_writes_states, args=(state.name, n, ticks, ready, burst_read))
    child.start()
    assert ready.wait(30)
    reads, seen, acknowledged = 0, set(), 0
    while child.is_alive() or reads < 2000:
        for _ in range(200):
            sample = state.read()
            if sample is None:
                continue
            reads += 1
            tick = sample.tick
            assert sample.t == tick * 1e-3
            assert np.all(sample.q == tick), f"torn q at tick {tick}: {np.unique(sample.q)}"
            assert np.all(sample.dq == -tick) and np.all(sample.tau == 2 * tick)
            seen.add(tick)
            if tick % BURST == 0 and tick > acknowledged:
                acknowledged = tick
                burst_read.release()
    child.join(30)
    assert child.exitcode == 0
    assert reads >= 2000
    # Every burst's last write was read while the writer waited, so the reads spanned the whole stream.
    assert {t for t in seen if t % BURST == 0} == set(range(BURST, ticks + 1, BURST))
    final = state.read()
    assert final is not None and final.tick == 200_000


@pytest.mark.timing
def test_command_latest_is_never_torn(segments: list[Any]) -> None:
    n, capacity = 512, 2  # a tiny ring makes the writer overwrite slots under the reader
    ring = CommandRing.create(None, n, capacity=capacity)
    segments.append(ring)
    ready, burst_read = SPAWN.Event(), SPAWN.Semaphore(0)
    count = 100_000
    child = SPAWN.Process(target=_child_pushes_commands, args=(ring.name, n, capacity, count, ready, burst_read))
    child.start()
    assert ready.wait(30)
    reads, previous, seen, acknowledged = 0, 0, set(), 0
    while child.is_alive() or reads < 2000:
        for _ in range(200):
            slot = ring.latest()
            if slot is None:
                continue
            reads += 1
            assert slot.seq >= previous
            previous = slot.seq
            assert slot.t == slot.seq * 1e-3
            assert np.all(slot.q == slot.seq), f"torn q at seq {slot.seq}: {np.unique(slot.q)}"
            assert slot.dq is not None and np.all(slot.dq == -slot.seq)
            assert slot.tau is not None and np.all(slot.tau == 2 * slot.seq)
            seen.add(slot.seq)
            # read_since has no newer head to retry on: only the per-slot sequence protects it.
            for older in ring.read_since(slot.seq - capacity):
                assert np.all(older.q == older.seq), f"torn q at seq {older.seq}: {np.unique(older.q)}"
                assert older.t == older.seq * 1e-3 and np.all(older.tau == 2 * older.seq)
            if slot.seq % BURST == 0 and slot.seq > acknowledged:
                acknowledged = slot.seq
                burst_read.release()
    child.join(30)
    assert child.exitcode == 0
    # Every burst's last write was read while the writer waited, so the reads spanned the whole stream.
    assert {s for s in seen if s % BURST == 0} == set(range(BURST, count + 1, BURST))
    assert ring.latest().seq == ring.last_seq() == count


def test_event_reads_under_a_fast_writer_account_for_every_event(segments: list[Any]) -> None:
    n, capacity, count = 16, 64, 100_000
    ring = EventRing.create(None, n, capacity=capacity)
    segments.append(ring)
    ready = SPAWN.Event()
    child = SPAWN.Process(target=_child_appends_events, args=(ring.name, n, capacity, count, ready))
    child.start()
    assert ready.wait(30)
    cursor, returned, lost_total = 0, 0, 0
    while True:
        done = not child.is_alive()
        records, lost = ring.read_since(cursor)
        for record in records:
            assert record.seq > cursor
            assert (record.t, record.tick, record.value) == (record.seq * 1e-3, record.seq, record.seq)
            assert np.all(record.cmd_before == record.seq) and np.all(record.cmd_after == -record.seq)
            cursor = record.seq
        returned += len(records)
        lost_total += lost
        if done and ring.last_seq() == cursor:
            break
    child.join(30)
    assert child.exitcode == 0
    assert cursor == count
    assert returned + lost_total == count
    assert returned > capacity


def test_event_ring_wraparound_reports_exact_losses(segments: list[Any]) -> None:
    ring = EventRing.create(None, 2, capacity=8)
    segments.append(ring)
    assert ring.read_since(0) == ([], 0)
    for k in range(1, 21):
        assert ring.append(k * 0.1, k, 1, 0, float(k), 0.0, np.full(2, k), np.zeros(2)) == k
    records, lost = ring.read_since(0)
    assert [r.seq for r in records] == list(range(13, 21))
    assert lost == 12
    assert ring.read_since(10)[1] == 2
    records, lost = ring.read_since(15)
    assert [r.seq for r in records] == [16, 17, 18, 19, 20] and lost == 0
    assert ring.read_since(20) == ([], 0)
    for k in range(21, 31):
        ring.append(k * 0.1, k, 1, 0, float(k), 0.0, np.full(2, k), np.zeros(2))
    records, lost = ring.read_since(20)
    assert [r.seq for r in records] == list(range(23, 31)) and lost == 2
    assert records[0].cmd_before.tolist() == [23.0, 23.0]


def test_a_segment_survives_a_process_that_only_attached(segments: list[Any]) -> None:
    state = StateSnapshot.create(None, N)
    segments.append(state)
    state.write(1.0, 1, np.ones(N), np.zeros(N), np.zeros(N))
    # A spawned child shares this process's resource tracker ...
    _run_child(_child_attaches_and_exits, "state", state.name)
    # ... an unrelated interpreter has its own, which unlinks what it registered when it exits.
    script = (
        "import numpy as np\n"
        "from dynamical.runtime import StateSnapshot\n"
        f"s = StateSnapshot.attach({state.name!r}, {N})\n"
        f"s.write(2.0, 2, np.full({N}, 2.0), np.zeros({N}), np.zeros({N}))\n"
        "s.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr and "Traceback" not in done.stderr
    again = StateSnapshot.attach(state.name, N)  # by name: the segment still exists
    segments.append(again)
    sample = again.read()
    assert sample is not None and sample.tick == 2
    np.testing.assert_array_equal(sample.q, np.full(N, 2.0))


def test_attach_refuses_a_mismatched_segment_clearly(segments: list[Any]) -> None:
    ring = CommandRing.create(None, N, capacity=16)
    segments.append(ring)
    with pytest.raises(ChannelError, match=rf"created for {N} joints; attach asked for {N + 1}"):
        CommandRing.attach(ring.name, N + 1, capacity=16)
    with pytest.raises(ChannelError, match="created with capacity 16; attach asked for 64"):
        CommandRing.attach(ring.name, N)
    with pytest.raises(ChannelError, match="is a CommandRing, not a StateSnapshot"):
        StateSnapshot.attach(ring.name, N)
    with pytest.raises(ChannelError, match="no shared-memory segment named 'dyn_test_missing'"):
        EventRing.attach("dyn_test_missing", N)
    with pytest.raises(ChannelError, match="already exists"):
        CommandRing.create(ring.name, N)
    assert isinstance(ChannelError("x"), ValueError)


def test_non_finite_values_pass_through_unchanged(segments: list[Any]) -> None:
    ring = CommandRing.create(None, 4)
    state = StateSnapshot.create(None, 4)
    segments += [ring, state]
    q = np.array([np.nan, np.inf, -np.inf, 1.0])
    ring.push(math.nan, q, dq=q[::-1].copy(), tau=q)
    slot = ring.latest()
    assert slot is not None and math.isnan(slot.t)
    np.testing.assert_array_equal(slot.q, q)  # NaN == NaN for assert_array_equal
    np.testing.assert_array_equal(slot.dq, q[::-1])
    state.write(0.0, 1, q, q, q)
    np.testing.assert_array_equal(state.read().q, q)


def test_command_ring_numbering_continues_after_the_writer_restarts(segments: list[Any]) -> None:
    ring = CommandRing.create(None, N, capacity=4)
    segments.append(ring)
    assert ring.latest() is None and ring.read_since(0) == []
    for _ in range(3):
        ring.push(0.0, np.zeros(N))
    restarted = CommandRing.attach(ring.name, N, capacity=4)
    segments.append(restarted)
    assert restarted.push(1.0, np.ones(N)) == 4
    assert restarted.push(2.0, np.ones(N)) == 5
    assert [s.seq for s in ring.read_since(0)] == [2, 3, 4, 5]  # seq 1 was overwritten
    assert ring.latest().seq == 5


def test_bad_shapes_and_values_are_refused(segments: list[Any]) -> None:
    ring = CommandRing.create(None, N)
    events = EventRing.create(None, N, capacity=4)
    status = StatusBlock.create(None, N)
    state = StateSnapshot.create(None, N)
    segments += [ring, events, status, state]
    with pytest.raises(ValueError, match=rf"q has shape \(3,\), expected \({N},\)"):
        ring.push(0.0, np.zeros(3))
    with pytest.raises(ValueError, match="tau has shape"):
        ring.push(0.0, np.zeros(N), tau=np.zeros((N, 1)))
    with pytest.raises(ValueError, match="cmd_after has shape"):
        events.append(0.0, 0, 1, -1, 0.0, 0.0, np.zeros(N), 1.0)
    with pytest.raises(ValueError, match="dq has shape"):
        state.write(0.0, 0, np.zeros(N), np.zeros(N + 1), np.zeros(N))
    assert state.read() is None  # the refused write left no half-written state
    with pytest.raises(ValueError, match="category must be 0, 1 or 2"):
        status.request_estop(3, 0.0)
    assert ring.last_seq() == 0 and events.last_seq() == 0
    with pytest.raises(ChannelError, match="n_joints >= 1"):
        CommandRing.create(None, 0)


def test_status_block_groups(segments: list[Any]) -> None:
    status = StatusBlock.create(None, N)
    segments.append(status)
    assert status.read_status() is None
    seq, category, t = status.pending_estop()
    assert (seq, category) == (0, -1) and math.isnan(t)
    assert (status.read_heartbeat(), status.reset_seq(), status.shutdown_requested()) == (0, 0, False)
    status.write_status(**_status_kwargs(1))
    status.write_status(**{**_status_kwargs(2), "mode": SafetyMode.ESTOP, "estop_category": 0, "estop_latched_t": 0.5})
    sample = status.read_status()
    assert sample is not None
    assert (sample.tick, sample.t, sample.mode, sample.estop_category, sample.estop_latched_t) == (
        2,
        2e-3,
        SafetyMode.ESTOP,
        0,
        0.5,
    )
    assert (sample.speed_scale, sample.protective_distance_m, sample.last_command_seq) == (0.25, 0.8, 41)
    assert [status.request_estop(c, 1.0 + c) for c in (2, 0)] == [1, 2]
    assert status.pending_estop() == (2, 0, 1.0)
    assert [status.beat() for _ in range(3)] == [1, 2, 3]
    assert [status.request_reset() for _ in range(2)] == [1, 2]


def test_closed_channels_refuse_use_and_unlink_removes_the_segment() -> None:
    state = StateSnapshot.create(None, N)
    name = state.name
    reader = StateSnapshot.attach(name, N)
    reader.close()
    reader.close()  # idempotent
    with pytest.raises(ChannelError, match="closed"):
        reader.read()
    state.write(0.0, 1, np.zeros(N), np.zeros(N), np.zeros(N))  # the creator's mapping is unaffected
    state.close()
    state.unlink()
    with pytest.raises(ChannelError, match="no shared-memory segment"):
        StateSnapshot.attach(name, N)
