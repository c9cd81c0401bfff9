"""`dynamical bench sim`: how fast the full world steps (physics alone, no rendering).

The robot holds its rest pose under its drives while objects rest on the table: no commands are
sent, since commands reach the robot only through the safety kernel (`bench safety` times that).
"""

from __future__ import annotations

import time

import mujoco
import numpy as np
from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.sim_robot import SimRobot
from dynamical.robot.world import WorldSpec


class SimBenchResult(BaseModel):
    robot: str
    world: str | None
    dof: int
    timestep_s: float
    steps: int
    wall_s: float
    steps_per_s: float
    real_time_factor: float
    step_p50_us: float
    step_p99_us: float
    step_max_us: float


def bench_sim(description: RobotDescription, world: WorldSpec | None, seconds: float, seed: int = 0) -> SimBenchResult:
    """Step the world for ``seconds`` of simulated time."""
    sim = SimRobot(description, world, seed=seed)
    steps = max(1, round(seconds / sim.timestep))
    durations = np.empty(steps)
    model, data = sim.model, sim.data
    start = time.perf_counter()
    for i in range(steps):
        t0 = time.perf_counter()
        mujoco.mj_step(model, data)
        durations[i] = time.perf_counter() - t0
    wall = time.perf_counter() - start
    physics = float(durations.sum())
    return SimBenchResult(
        robot=description.name,
        world=world.name if world else None,
        dof=int(model.nv),
        timestep_s=sim.timestep,
        steps=steps,
        wall_s=wall,
        steps_per_s=steps / physics,
        real_time_factor=steps * sim.timestep / physics,
        step_p50_us=float(np.percentile(durations, 50) * 1e6),
        step_p99_us=float(np.percentile(durations, 99) * 1e6),
        step_max_us=float(durations.max() * 1e6),
    )
