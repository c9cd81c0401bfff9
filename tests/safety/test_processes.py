"""The two processes for real: the realtime process ticking at 1 kHz, an executive talking to it
through shared memory only, and what happens when the executive dies."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dynamical.config import load_settings
from dynamical.launch import realtime_process
from dynamical.robot.demo_motion import demo_targets
from dynamical.runtime.bundle import ChannelBundle, ChannelNames
from dynamical.safety.rules import Rule, SafetyMode

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout: float, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.mark.timing
def test_realtime_process_starts_runs_stops_and_restarts(humanoid):
    process = realtime_process(load_settings())
    link = process.start()
    try:
        assert process.alive and process.realtime_status()
        for k in range(100):  # 0.5 s of commands at 200 Hz
            link.send(demo_targets(humanoid, k * 0.005))
            time.sleep(0.005)
        status = link.status()
        assert status.mode == SafetyMode.RUNNING and status.last_command_seq == 100
        timing = process.timing()
        assert timing.ticks > 400 and 800 <= timing.rate_hz <= 1010  # holds beside two busy processes
        assert link.state().q.shape == (humanoid.n_joints,)
        link = process.restart()  # a fresh realtime process, new channels
        assert process.alive and link.status().tick >= 0
    finally:
        process.stop()
    assert not process.alive


@pytest.mark.timing
def test_killing_the_executive_stops_the_robot_and_keeps_the_events(tmp_path: Path):
    info_file = tmp_path / "executive.json"
    script = Path(__file__).with_name("executive_script.py")
    executive = subprocess.Popen(
        [sys.executable, str(script), str(info_file)],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        wait_for(info_file.exists, timeout=60)
        info = json.loads(info_file.read_text())
        names = ChannelNames(**info["names"])
        channels = ChannelBundle.attach(names)
        wait_for(lambda: channels.status.read_status().segment_seq > 100, timeout=10)
        assert channels.status.read_status().mode == SafetyMode.RUNNING

        executive.send_signal(signal.SIGKILL)
        executive.wait(10)
        killed_at = time.monotonic()

        stopped = wait_for(
            lambda: (s := channels.status.read_status()).mode == SafetyMode.PROTECTIVE_STOP and s, timeout=2
        )
        assert time.monotonic() - killed_at < 1.0, "the realtime process stopped the robot on its own"
        assert stopped.protective_stop
        time.sleep(0.3)
        state = channels.state.read()
        assert np.abs(state.dq).max() < 0.05, "the robot is at rest"
        records, lost = channels.events.read_since(0)
        kinds = [Rule(r.rule) for r in records]
        assert lost == 0
        assert {Rule.WATCHDOG_HOLD, Rule.WATCHDOG_DECELERATE, Rule.WATCHDOG_PROTECTIVE_STOP} <= set(kinds)
        assert kinds.index(Rule.WATCHDOG_HOLD) > 0, "events from before the crash are preserved"
        # The orphaned realtime process still answers: it shuts down when asked.
        channels.status.request_shutdown()
        wait_for(lambda: not _pid_alive(info["pid"]), timeout=10)
        assert not Path("/dev/shm", names.events).exists(), "it removed its segments as it left"
        assert Rule(channels.events.read_since(0)[0][-1].rule) == Rule.WATCHDOG_PROTECTIVE_STOP
        channels.close()
    finally:
        if executive.poll() is None:
            executive.kill()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (re-parented, not yet reaped) counts as gone.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"
