"""`dynamical bench safety`: the kernel's cost per tick on the default humanoid.

The kernel runs exactly as in the realtime process (validate, filter QP, assurance, independent
check, events into a shared-memory ring) with 4 keep-out zones and 1 person, on a moving robot:
the driver is the simulator, stepped between ticks but not timed.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel

from dynamical.robot.demo_motion import demo_targets
from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import BoxZone, HalfSpaceZone, SafetyConfig
from dynamical.safety.qp_filter import ITER_WORD

BENCH_ZONES = [
    HalfSpaceZone(name="floor", normal=(0.0, 0.0, 1.0), offset=0.05),
    BoxZone(name="table", center=(0.58, 0.10, 0.37), half_size=(0.30, 0.40, 0.37)),
    BoxZone(name="shelf_back", center=(0.51, -0.52, 0.8), half_size=(0.03, 0.16, 0.5)),
    BoxZone(name="head_guard", center=(0.0, 0.0, 1.45), half_size=(0.12, 0.12, 0.14)),
]


class SafetyBenchResult(BaseModel):
    robot: str
    joints: int
    zones: int
    persons: int
    ticks: int
    tick_p50_us: float
    tick_p99_us: float
    tick_max_us: float
    qp_iterations_p50: float
    """DAQP iterations per solve (warm-started from the previous tick's working set)."""
    events: int


def bench_safety(
    description: RobotDescription, world: WorldSpec, seconds: float = 5.0, seed: int = 0
) -> SafetyBenchResult:
    config = SafetyConfig(zones=BENCH_ZONES)
    with LockstepRuntime(description, world, config, seed=seed) as rt:
        rt.set_mannequin_pose(1.3, -0.6, yaw=2.5)  # a person 1.3 m away: monitoring is live
        rt.warm_up()
        kernel = rt.kernel
        durations: list[float] = []
        tick = kernel.tick

        def timed_tick(*args, **kwargs):
            t0 = time.perf_counter()
            out = tick(*args, **kwargs)
            durations.append(time.perf_counter() - t0)
            iterations.append(kernel.qp.result_words[ITER_WORD])
            return out

        iterations: list[int] = []
        # A timing wrapper on this kernel instance only; the node calls it as it would the method.
        kernel.tick = timed_tick  # type: ignore[method-assign]
        rt.run(seconds, lambda t, link: link.send(demo_targets(description, t)))
        us = np.array(durations) * 1e6
        return SafetyBenchResult(
            robot=description.name,
            joints=description.n_joints,
            zones=len(config.zones),
            persons=len(rt.persons()),
            ticks=len(us),
            tick_p50_us=float(np.percentile(us, 50)),
            tick_p99_us=float(np.percentile(us, 99)),
            tick_max_us=float(us.max()),
            qp_iterations_p50=float(np.median(iterations)),
            events=kernel.interventions,
        )
