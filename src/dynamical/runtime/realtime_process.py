"""The realtime process (tier 0) and the executive's handle on it.

The realtime process holds only the driver (with the simulator, when simulated) and the safety
kernel, ticking at 1 kHz on absolute deadlines, with SCHED_FIFO and a frozen GC when the OS
allows. It creates the shared-memory channels, so they (and the events in them) outlive an
executive that dies; the executive attaches to them. With no commands the kernel's watchdog holds,
brakes and then stops the robot: the realtime process needs nobody to stay safe. An orphaned
realtime process (its executive gone) powers the drives off and exits after a timeout.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import secrets
import time

from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.sim_robot import SimRobot
from dynamical.robot.world import WorldSpec
from dynamical.runtime.bundle import ChannelBundle, ChannelNames
from dynamical.runtime.channels import ChannelError
from dynamical.runtime.clock import RealtimeClock
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.lockstep import build_node
from dynamical.runtime.timing import TimingRecorder, TimingSnapshot
from dynamical.safety.config import SafetyConfig
from dynamical.safety.rules import SafetyMode


class RealtimeConfig(BaseModel):
    """Everything the realtime process needs; crosses the process boundary as JSON."""

    robot: str
    world: str | None
    seed: int = 0
    physics_hz: float = 1000.0
    safety_hz: float = 1000.0
    velocity_scale: float = 1.0
    effort_scale: float = 1.0
    safety: SafetyConfig = SafetyConfig()
    channels: ChannelNames
    timing_segment: str
    realtime: bool = True
    priority: int = 80
    cpu: int | None = None
    orphan_timeout_s: float = 10.0


def realtime_main(config_json: str) -> None:
    """Entry point of the realtime process."""
    config = RealtimeConfig.model_validate_json(config_json)
    description = RobotDescription.load(config.robot).with_limit_scales(config.velocity_scale, config.effort_scale)
    world = WorldSpec.load(config.world) if config.world else None
    robot = SimRobot(description, world, timestep=1.0 / config.physics_hz, seed=config.seed)
    channels = ChannelBundle.create(description.n_joints, config.channels)
    period = 1.0 / config.safety_hz
    timing = TimingRecorder.create_shared("safety", period, segment_name=config.timing_segment)
    node = build_node(robot, config.safety, channels, period)
    clock = RealtimeClock(period, realtime=config.realtime, priority=config.priority, cpu=config.cpu)
    parent = os.getppid()
    orphaned_since = math.nan
    stops_seen = False
    try:
        node.warm_up()
        while not channels.status.shutdown_requested():
            info = clock.wait_next()
            out = node.tick(info.start, info.index, now=clock.now)
            timing.record(info.start, info.deadline, clock.now())
            if clock.missed:
                timing.add_missed(clock.missed)
                clock.missed = 0
            stopped = out.mode == SafetyMode.PROTECTIVE_STOP
            if stopped and not stops_seen:
                timing.add_protective_stop()
            stops_seen = stopped
            if os.getppid() != parent:  # the executive died: we were re-parented
                orphaned_since = info.start if math.isnan(orphaned_since) else orphaned_since
                if info.start - orphaned_since > config.orphan_timeout_s:
                    break
    finally:
        robot.set_power(False)  # leaving: the holding brakes keep the robot where it stopped
        clock.close()
        timing.close()
        channels.close()
        robot.close()


class RealtimeProcess:
    """Starts, stops and restarts the realtime process; gives the executive its link."""

    def __init__(self, config_without_names: dict, n_joints: int, startup_timeout_s: float = 60.0) -> None:
        token = secrets.token_hex(4)
        self.names = ChannelNames(
            commands=f"de_{token}_cmd",
            state=f"de_{token}_state",
            status=f"de_{token}_status",
            events=f"de_{token}_events",
            n_joints=n_joints,
        )
        self.timing_segment = f"de_{token}_timing"
        self.config = RealtimeConfig(**config_without_names, channels=self.names, timing_segment=self.timing_segment)
        self.startup_timeout_s = startup_timeout_s
        self.process: multiprocessing.process.BaseProcess | None = None
        self.channels: ChannelBundle | None = None
        self.link: ExecutiveLink | None = None
        self._timing: TimingRecorder | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def start(self) -> ExecutiveLink:
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=realtime_main, args=(self.config.model_dump_json(),), name="dynamical-realtime", daemon=False
        )
        self.process.start()
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if not self.process.is_alive():
                raise RuntimeError(f"the realtime process exited at start (code {self.process.exitcode})")
            with contextlib.suppress(ChannelError):  # not created yet: the process is still loading
                self.channels = ChannelBundle.attach(self.names)
                self._timing = TimingRecorder.attach_shared(self.timing_segment)
                status = self.channels.status.read_status()
                if status is not None and status.rt_heartbeat > 0:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("the realtime process did not start ticking in time")
            time.sleep(0.01)
        self.link = ExecutiveLink(self.channels, now=time.monotonic)
        return self.link

    def timing(self) -> TimingSnapshot:
        if self._timing is None:
            raise RuntimeError("the realtime process has not started")
        return self._timing.snapshot()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the realtime process to power off and exit; kill it if it does not."""
        if self.channels is not None:
            self.channels.status.request_shutdown()
        if self.process is not None:
            self.process.join(timeout_s)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        if self._timing is not None:
            self._timing.close()
            with contextlib.suppress(FileNotFoundError):
                self._timing.unlink()
            self._timing = None
        if self.channels is not None:
            self.channels.close()
            with contextlib.suppress(FileNotFoundError):
                self.channels.unlink()
            self.channels = None

    def restart(self) -> ExecutiveLink:
        self.stop()
        return self.start()

    def __enter__(self) -> RealtimeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
