"""Build a robot's runtime from the configuration: the realtime process or the lock-step runner."""

from __future__ import annotations

from dynamical.config import Settings
from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.runtime.realtime_process import RealtimeProcess


def load_description(settings: Settings, robot: str | None = None) -> RobotDescription:
    description = RobotDescription.load(robot or settings.robot)
    return description.with_limit_scales(settings.limits.velocity_scale, settings.limits.effort_scale)


def world_name(settings: Settings, robot: str | None = None) -> str | None:
    """The configured world, or None: when it is "none", or when ``robot`` names another robot
    than the configured one (a profile such as aloha brings its whole scene in its MJCF)."""
    if settings.sim.world in ("", "none") or (robot is not None and robot != settings.robot):
        return None
    return settings.sim.world


def load_world(settings: Settings, robot: str | None = None) -> WorldSpec | None:
    name = world_name(settings, robot)
    return None if name is None else WorldSpec.load(name)


def realtime_process(settings: Settings, seed: int | None = None) -> RealtimeProcess:
    """The realtime process for the configured robot (not started)."""
    description = load_description(settings)
    load_world(settings)  # a bad world is refused here, with its clear error, not in the child process
    return RealtimeProcess(
        dict(
            robot=settings.robot,
            world=world_name(settings),
            seed=settings.sim.seed if seed is None else seed,
            physics_hz=settings.rates.physics_hz,
            safety_hz=settings.rates.safety_hz,
            velocity_scale=settings.limits.velocity_scale,
            effort_scale=settings.limits.effort_scale,
            safety=settings.safety,
        ),
        description.n_joints,
    )


def lockstep_runtime(settings: Settings, seed: int | None = None) -> LockstepRuntime:
    """Both tiers in this process under simulated time."""
    return LockstepRuntime(
        load_description(settings),
        load_world(settings),
        settings.safety,
        seed=settings.sim.seed if seed is None else seed,
        physics_hz=settings.rates.physics_hz,
        safety_hz=settings.rates.safety_hz,
        control_hz=settings.rates.control_hz,
    )
