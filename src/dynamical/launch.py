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


def load_world(settings: Settings) -> WorldSpec | None:
    return None if settings.sim.world in ("", "none") else WorldSpec.load(settings.sim.world)


def realtime_process(settings: Settings, seed: int | None = None) -> RealtimeProcess:
    """The realtime process for the configured robot (not started)."""
    description = load_description(settings)
    return RealtimeProcess(
        dict(
            robot=settings.robot,
            world=settings.sim.world if load_world(settings) else None,
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
