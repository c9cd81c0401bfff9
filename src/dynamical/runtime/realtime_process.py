"""The realtime process (tier 0) and the executive's handle on it.

The realtime process holds only the driver (with the simulator, when simulated) and the safety
kernel, ticking at 1 kHz on absolute deadlines, with SCHED_FIFO and a frozen GC when the OS
allows. It creates the shared-memory channels, so they (and the events in them) outlive an
executive that dies; the executive attaches to them. In a simulated world with objects it also
publishes the objects' state at ``world_hz`` (the world channel), whose object and body lists
both processes derive from the same robot and world files. Keep-out zones the executive changes
at run time come through the zone mailbox, taken between two ticks (see ``RealtimeNode``). A new
simulated world is asked for through the world-reset mailbox: the loop re-lays the simulator from
the seed and builds a fresh kernel (same zones) between two ticks, unless an e-stop is latched.
With no commands (or once the executive's trajectory has run out) the kernel's watchdog holds,
brakes and then stops the robot: the realtime process needs nobody to stay safe. An orphaned
realtime process (its executive gone) powers the drives off and exits after a timeout.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import secrets
import time
from multiprocessing.connection import Connection

from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.sim_robot import SimRobot, WorldIndex
from dynamical.robot.world import WorldSpec
from dynamical.runtime.bundle import ChannelBundle, ChannelNames, WorldChannelName
from dynamical.runtime.channels import WorldResetMailbox, unlink_segment
from dynamical.runtime.clock import RealtimeClock
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.lockstep import build_node
from dynamical.runtime.node import RealtimeNode
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
    world_hz: float = 100.0
    """World-state publications per second (rounded to a whole number of safety ticks)."""
    mannequin: tuple[float, float, float] | None = None
    """(x m, y m, yaw rad) where the simulated mannequin stands from the start; None leaves it
    where the world's MJCF puts it."""


def realtime_main(config_json: str, ready: Connection | None = None) -> None:
    """Entry point of the realtime process. Sends on ``ready`` what the OS granted (SCHED_FIFO or
    the fallback) after the first tick, or the error that stopped it from starting."""
    try:
        _realtime_loop(RealtimeConfig.model_validate_json(config_json), ready)
    except Exception as exc:
        if ready is not None and not ready.closed:
            ready.send(("error", f"{type(exc).__name__}: {exc}"))
        raise


def _realtime_loop(config: RealtimeConfig, ready: Connection | None) -> None:
    description = RobotDescription.load(config.robot).with_limit_scales(config.velocity_scale, config.effort_scale)
    world = WorldSpec.load(config.world) if config.world else None
    robot = SimRobot(description, world, timestep=1.0 / config.physics_hz, seed=config.seed)
    if config.mannequin is not None:
        robot.set_mannequin_pose(*config.mannequin)
    channels = ChannelBundle.create(description.n_joints, config.channels)
    period = 1.0 / config.safety_hz
    timing = TimingRecorder.create_shared("safety", period, segment_name=config.timing_segment)
    world_every = max(2, round(config.safety_hz / config.world_hz))
    node = build_node(robot, config.safety, channels, period, world_every=world_every)
    clock = RealtimeClock(period, realtime=config.realtime, priority=config.priority, cpu=config.cpu)
    parent = os.getppid()
    orphaned_since = math.nan
    stops_seen = False
    resets = channels.world_reset
    reset_word = 0 if resets is None else resets.request_word()
    try:
        node.warm_up()
        while not channels.status.shutdown_requested():
            info = clock.wait_next()
            out = node.tick(info.start, info.index, now=clock.now)
            if ready is not None:
                status = clock.realtime_status
                ready.send(("ready", status.message if status else "real-time priority not requested"))
                ready.close()
                ready = None
            timing.record(info.start, info.deadline, clock.now())
            if clock.missed:
                timing.add_missed(clock.missed)
                clock.missed = 0
            stopped = out.mode == SafetyMode.PROTECTIVE_STOP
            if stopped and not stops_seen:
                timing.add_protective_stop()
            stops_seen = stopped
            if resets is not None:
                word = resets.request_word()
                if word != reset_word and not word & 1:  # odd: the executive is writing one now
                    seed = resets.read_seed(word)
                    if seed is not None:  # else a newer request came meanwhile: next tick
                        reset_word = word
                        node = _reset_world(config, robot, node, channels, resets, word >> 1, seed, info.index)
            if os.getppid() != parent:  # the executive died: we were re-parented
                orphaned_since = info.start if math.isnan(orphaned_since) else orphaned_since
                if info.start - orphaned_since > config.orphan_timeout_s:
                    break
    finally:
        node.shutdown()
        clock.close()
        # The segments are this process's: it removes them (an executive still attached keeps
        # its mapping, so it can read the last events and status after we are gone).
        timing.close()
        timing.unlink()
        channels.close()
        channels.unlink()
        robot.close()


def _reset_world(
    config: RealtimeConfig,
    robot: SimRobot,
    node: RealtimeNode,
    channels: ChannelBundle,
    mailbox: WorldResetMailbox,
    request: int,
    seed: int,
    tick: int,
) -> RealtimeNode:
    """Between two ticks: the simulator re-laid from ``seed`` (robot at rest, objects drawn anew,
    the mannequin where it stood) under a fresh node and kernel with the same zones; answers the
    request. Refused with an e-stop latched: a new world must not be a way around one. Returns the
    node to tick from then on (the old one when refused)."""
    kernel = node.kernel
    if kernel.estop.category >= 0:
        mailbox.acknowledge(request, False, tick, "an emergency stop is latched: reset it before resetting the world")
        return node
    try:
        zones = list(kernel.zones.zones)
        robot.reset(seed)
        if config.mannequin is not None:
            robot.set_mannequin_pose(*config.mannequin)
        fresh = build_node(robot, config.safety, channels, node.kernel.dt, world_every=node.world_every)
        fresh.kernel.set_zones(zones)
        fresh.warm_up()
        fresh.ticks = node.ticks  # the heartbeat goes on
    except Exception as exc:  # the loop goes on with what it had; the executive gets the reason
        mailbox.acknowledge(request, False, tick, f"{type(exc).__name__}: {exc}")
        return node
    mailbox.acknowledge(request, True, tick)
    return fresh


class RealtimeProcess:
    """Starts, stops and restarts the realtime process; gives the executive its link."""

    def __init__(
        self,
        config_without_names: dict,
        n_joints: int,
        startup_timeout_s: float = 60.0,
        world_index: WorldIndex | None = None,
    ) -> None:
        """``world_index``: the objects and contact bodies the world channel carries; derived here
        from the configured robot and world when None and the config names a world."""
        token = secrets.token_hex(4)
        self.token = token
        """Every segment of this robot is named ``de_<token>_...``."""
        world = config_without_names.get("world")
        if world_index is None and world:
            world_index = WorldIndex.build(RobotDescription.load(config_without_names["robot"]), WorldSpec.load(world))
        self.world_index = world_index
        self.names = ChannelNames(
            commands=f"de_{token}_cmd",
            state=f"de_{token}_state",
            status=f"de_{token}_status",
            events=f"de_{token}_events",
            n_joints=n_joints,
            world=None if world_index is None else WorldChannelName.for_index(world_index, f"de_{token}_world"),
            zones=f"de_{token}_zones",
            trajectory=f"de_{token}_traj",
            world_reset=f"de_{token}_reset" if world else None,
        )
        self.timing_segment = f"de_{token}_timing"
        self.config = RealtimeConfig(**config_without_names, channels=self.names, timing_segment=self.timing_segment)
        self.startup_timeout_s = startup_timeout_s
        self.process: multiprocessing.process.BaseProcess | None = None
        self.channels: ChannelBundle | None = None
        self.link: ExecutiveLink | None = None
        self._timing: TimingRecorder | None = None
        self._granted = ""

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    @property
    def exitcode(self) -> int | None:
        """The realtime process's exit code once it has ended (negative: killed by that signal)."""
        return None if self.process is None else self.process.exitcode

    def segment_names(self) -> list[str]:
        """Every shared-memory segment this robot's realtime process creates."""
        names = [
            self.names.commands,
            self.names.state,
            self.names.status,
            self.names.events,
            self.names.trajectory,
            self.timing_segment,
        ]
        if self.names.world is not None:
            names.append(self.names.world.name)
        if self.names.zones is not None:
            names.append(self.names.zones)
        if self.names.world_reset is not None:
            names.append(self.names.world_reset)
        return names

    def start(self) -> ExecutiveLink:
        """Spawn the realtime process and wait for its first tick; returns the executive's link."""
        context = multiprocessing.get_context("spawn")
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=realtime_main,
            args=(self.config.model_dump_json(), send),
            name="dynamical-realtime",
            daemon=False,
        )
        self.process.start()
        send.close()
        if not receive.poll(self.startup_timeout_s):
            self.stop()
            raise TimeoutError(f"the realtime process did not start within {self.startup_timeout_s} s")
        try:
            kind, message = receive.recv()
        except EOFError:
            self.stop(1.0)  # removes whatever segments it had made
            raise RuntimeError(f"the realtime process exited at start (code {self.exitcode})") from None
        if kind != "ready":
            self.stop()
            raise RuntimeError(f"the realtime process failed to start: {message}")
        self._granted = message
        self.channels = ChannelBundle.attach(self.names)
        self._timing = TimingRecorder.attach_shared(self.timing_segment)
        self.link = ExecutiveLink(self.channels, now=time.monotonic)
        return self.link

    def realtime_status(self) -> str:
        """What the OS granted the realtime process, as it reported at start."""
        return self._granted

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
        # The realtime process removed its segments as it left; we only let go of our mappings.
        # One that was killed (or crashed in a way its ``finally`` never ran) left them behind:
        # remove those, so that nothing outlives the robot in /dev/shm.
        if self._timing is not None:
            self._timing.close()
            self._timing = None
        if self.channels is not None:
            self.channels.close()
            self.channels = None
        if self.process is not None and self.process.exitcode != 0:
            for name in self.segment_names():
                unlink_segment(name)

    def restart(self) -> ExecutiveLink:
        self.stop()
        return self.start()

    def __enter__(self) -> RealtimeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
