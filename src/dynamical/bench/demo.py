"""`dynamical bench demo`: how often a task succeeds end to end, over many object layouts, and
how often the safety kernel had to change a command on the way.

Each seed draws a new layout; the task is planned (L3–L7) on that world and run through the
executor and the safety kernel on the lock-step simulator, exactly as `dynamical demo` does.
A nominal task should run without a single intervention: skills time their motions inside the
profile's limits, so every intervention counted here is something that really happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel

from dynamical.agent.demo import SEED_TASK, DemoResult, run_demo
from dynamical.robot.description import RobotDescription
from dynamical.robot.world import WorldSpec
from dynamical.safety.rules import Rule

NOT_INTERVENTIONS = frozenset({Rule.ZONES_CHANGED.name})
"""Events that report a change of configuration, not a command the kernel had to change."""


class DemoBenchResult(BaseModel):
    task: str
    seeds: int
    first_seed: int
    successes: int
    success_rate: float
    mean_duration_s: float
    """Simulated seconds per successful run."""
    interventions: int
    """Safety kernel interventions over all runs (every event but configuration changes)."""
    interventions_by_rule: dict[str, int]
    """The same, by the rule that acted (e.g. ACCELERATION_LIMIT)."""
    runs_with_interventions: int
    """Runs in which the kernel intervened at least once."""
    hard_limit_holds: int
    driver_violations: int
    failures_by_step: dict[str, int]
    """Failed runs by the skill of the step that failed."""
    failed_seeds: list[int]


def interventions_of(result: DemoResult) -> Counter[str]:
    """The run's interventions by rule name (configuration events left out)."""
    return Counter({rule: n for rule, n in result.safety_events.items() if rule not in NOT_INTERVENTIONS})


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
    by_rule: Counter[str] = Counter()
    for r in results:
        by_rule.update(interventions_of(r))
    return DemoBenchResult(
        task=task,
        seeds=seeds,
        first_seed=first_seed,
        successes=len(ok),
        success_rate=len(ok) / seeds if seeds else 0.0,
        mean_duration_s=sum(r.outcome.duration_s for r in ok) / len(ok) if ok else 0.0,
        interventions=sum(by_rule.values()),
        interventions_by_rule=dict(sorted(by_rule.items())),
        runs_with_interventions=sum(1 for r in results if interventions_of(r)),
        hard_limit_holds=sum(r.outcome.hard_limit_holds for r in results),
        driver_violations=sum(r.outcome.driver_violations for r in results),
        failures_by_step=dict(failed_steps),
        failed_seeds=[r.seed for r in results if not r.success],
    )
