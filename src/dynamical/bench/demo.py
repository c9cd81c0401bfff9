"""`dynamical bench demo`: how often a task succeeds end to end, over many object layouts.

Each seed draws a new layout; the task is planned (L3–L7) on that world and run through the
executor and the safety kernel on the lock-step simulator, exactly as `dynamical demo` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel

from dynamical.agent.demo import SEED_TASK, DemoResult, run_demo
from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec


class DemoBenchResult(BaseModel):
    task: str
    seeds: int
    first_seed: int
    successes: int
    success_rate: float
    mean_duration_s: float
    """Simulated seconds per successful run."""
    hard_limit_holds: int
    driver_violations: int
    failures_by_step: dict[str, int]
    """Failed runs by the skill of the step that failed."""
    failed_seeds: list[int]


def bench_demo(
    description: RobotDescription,
    world: WorldSpec,
    seeds: int,
    first_seed: int = 0,
    task: str = SEED_TASK,
    on_run: Callable[[DemoResult], None] | None = None,
) -> DemoBenchResult:
    results: list[DemoResult] = []
    for seed in range(first_seed, first_seed + seeds):
        result = run_demo(description, world, task, seed)
        results.append(result)
        if on_run is not None:
            on_run(result)
    ok = [r for r in results if r.success]
    failed_steps = Counter(r.outcome.steps[-1].skill for r in results if not r.success)
    return DemoBenchResult(
        task=task,
        seeds=seeds,
        first_seed=first_seed,
        successes=len(ok),
        success_rate=len(ok) / seeds if seeds else 0.0,
        mean_duration_s=sum(r.outcome.duration_s for r in ok) / len(ok) if ok else 0.0,
        hard_limit_holds=sum(r.outcome.hard_limit_holds for r in results),
        driver_violations=sum(r.outcome.driver_violations for r in results),
        failures_by_step=dict(failed_steps),
        failed_seeds=[r.seed for r in results if not r.success],
    )
