"""Lock-step: tier 0 and tier 1 in one process under simulated time, deterministic for a seed.

For tests and demos. The components are the ones the realtime process runs (the same node,
kernel, driver and shared-memory channels); only the clock is simulated, so a run is faster than
real time and repeats bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mujoco
import numpy as np

from dynamical.robot.camera_rig import CameraRig
from dynamical.robot.description import RobotDescription
from dynamical.robot.point_kinematics import MujocoPointKinematics
from dynamical.robot.protocol import CameraFrame, JointCommand
from dynamical.robot.randomization import DomainRandomization
from dynamical.robot.sim_robot import SimObserver, SimRobot, WorldIndex
from dynamical.robot.world import WorldSpec
from dynamical.runtime.bundle import ChannelBundle, WorldChannelName
from dynamical.runtime.clock import LockstepClock
from dynamical.runtime.link import ExecutiveLink
from dynamical.runtime.node import WORLD_EVERY, RealtimeNode
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.kernel import KernelOutput, SafetyKernel

Controller = Callable[[float, ExecutiveLink], None]
"""Called at every control tick with the time (s) and the link: the executive's work."""


def build_node(
    robot: SimRobot, safety: SafetyConfig, channels: ChannelBundle, safety_dt: float, world_every: int = WORLD_EVERY
) -> RealtimeNode:
    """The tier-0 node for a simulated robot: its kernel gets two kinematics instances (the
    filter's and the independent check's) on the simulator's own model, so frames agree.
    ``world_every``: safety ticks between two world-state publications."""
    description = robot.description
    kernel = SafetyKernel(
        description,
        safety,
        MujocoPointKinematics(robot.model, description),
        MujocoPointKinematics(robot.model, description),
        channels.events,
        safety_dt,
    )
    substeps = round(safety_dt / robot.timestep)
    return RealtimeNode(robot, kernel, channels, physics_substeps=substeps, world_every=world_every)


class LockstepRuntime:
    def __init__(
        self,
        description: RobotDescription,
        world: WorldSpec | None,
        safety: SafetyConfig,
        *,
        seed: int = 0,
        physics_hz: float = 1000.0,
        safety_hz: float = 1000.0,
        control_hz: float = 200.0,
    ) -> None:
        # The simulated robot stays private: the executive's only way to it is the link, and the
        # world (mannequin, objects) is observed and moved through the methods below.
        self.description = description
        self._robot = SimRobot(description, world, timestep=1.0 / physics_hz, seed=seed)
        self._robot.received = []
        # The world channel too, as the realtime process has it: a ChannelWorldModel reads a
        # lock-step robot exactly as it reads a realtime one.
        world_channel = (
            None if world is None else WorldChannelName.for_index(WorldIndex.of(self._robot.model, description, world))
        )
        self.channels = ChannelBundle.create(description.n_joints, world=world_channel)
        self._node = build_node(self._robot, safety, self.channels, 1.0 / safety_hz)
        self.clock = LockstepClock(1.0 / safety_hz)
        self.link = ExecutiveLink(self.channels, now=self.clock.now)
        self.control_every = round(safety_hz / control_hz)
        self.outputs: list[KernelOutput] = []

    @property
    def control_period(self) -> float:
        """s between two controller calls."""
        return self.control_every * self.clock.period

    @property
    def kernel(self) -> SafetyKernel:
        return self._node.kernel

    @property
    def received(self) -> list[tuple[float, JointCommand, bool]]:
        """Every command the driver received: (time s, command, power on)."""
        return list(self._robot.received or [])

    @property
    def time(self) -> float:
        return self._robot.time

    def set_zones(self, zones: Sequence[BoxZone | HalfSpaceZone]) -> None:
        """Replace the kernel's keep-out zones (config's included): they take effect at the next
        safety tick, between two ticks as in the realtime process. See ``SafetyKernel.set_zones``."""
        self._node.kernel.set_zones(zones)

    def set_mannequin_pose(self, x: float, y: float, yaw: float = 0.0) -> None:
        self._robot.set_mannequin_pose(x, y, yaw)

    def body_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._robot.body_pose(name)

    def site_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._robot.site_pose(name)

    def read_camera(self, name: str, width: int = 320, height: int = 240) -> CameraFrame:
        """What camera ``name`` sees now (rendering reads the simulation; it commands nothing)."""
        return self._robot.read_camera(name, width, height)

    def camera_rig(self, names: Sequence[str], width: int, height: int) -> CameraRig:
        """Small, fast images of cameras ``names`` (recording, learned policies): see ``CameraRig``."""
        return CameraRig(self._robot.model, self._robot.data, names, width, height)

    def randomize(self, randomization: DomainRandomization, rng: np.random.Generator) -> dict[str, Any]:
        """Perturb the simulated world's physics and looks before the first step; what was drawn."""
        robot = self._robot
        objects = list(robot.world.objects) if robot.world is not None else []
        drawn = randomization.apply(robot.model, objects, robot.camera_names, rng)
        mujoco.mj_forward(robot.model, robot.data)
        return drawn

    def observer(self) -> SimObserver:
        """Read-only ground truth of the simulated world, for world models and evaluation."""
        return SimObserver(self._robot)

    def persons(self) -> np.ndarray:
        """(m, 7) what the tier-0 person sensor sees now."""
        return self._node.persons()

    def warm_up(self) -> None:
        self._node.warm_up()

    def run(
        self,
        seconds: float,
        controller: Controller | None = None,
        on_tick: Callable[[float, KernelOutput], None] | None = None,
    ) -> None:
        """Advance ``seconds`` of simulated time; ``controller`` runs at the control rate
        before the safety tick of the same instant, as the executive would."""
        for _ in range(round(seconds / self.clock.period)):
            info = self.clock.wait_next()
            if controller is not None and info.index % self.control_every == 0:
                controller(info.deadline, self.link)
            out = self._node.tick(info.deadline, info.index)
            self.outputs.append(out)
            if on_tick is not None:
                on_tick(info.deadline, out)

    def close(self) -> None:
        self._robot.close()
        self.channels.close()
        self.channels.unlink()

    def __enter__(self) -> LockstepRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
