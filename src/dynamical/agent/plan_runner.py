"""Run a ``SkillExecutionPlan`` on one lock-step simulated robot, step by step in dependency order.

Each step goes through the ``SkillRunner``: its preconditions are checked live (the plan's
contract was checked on a snapshot; the world may have moved since), it plays at 200 Hz into
the safety kernel, and its postconditions decide whether the next step may start. The first
failing step ends the plan with the robot holding still.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from pydantic import BaseModel, ConfigDict

from dynamical.orchestration.plan import PlanStep, SkillExecutionPlan
from dynamical.skills.runner import SkillOutcome, SkillRunner, TrajectorySummary

StepStatus = Literal["pending", "running", "succeeded", "failed", "skipped"]


class StepProgress(BaseModel):
    """What a progress listener hears: a step started, or ended with its outcome."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    index: int
    total: int
    skill_id: str
    status: StepStatus
    outcome: SkillOutcome | None = None
    planned: TrajectorySummary | None = None
    """The step's planned motion: sent again with status ``running`` once the skill is planned."""


class PlanOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan_id: str
    success: bool
    steps: list[SkillOutcome]
    """One outcome per step that ran, in the order they ran."""
    failed_step: str | None = None
    failure: str | None = None
    duration_s: float
    """Simulated seconds from the first step's start to the last step's end."""
    interventions: int
    hard_limit_holds: int
    driver_violations: int


def execution_order(plan: SkillExecutionPlan) -> list[PlanStep]:
    """The steps in an order that respects ``depends_on`` (Kahn's algorithm, plan order on ties).

    Raises ValueError on an unknown dependency or a cycle."""
    by_id = {step.step_id: step for step in plan.steps}
    for step in plan.steps:
        unknown = [d for d in step.depends_on if d not in by_id]
        if unknown:
            raise ValueError(f"step {step.step_id} depends on unknown steps {unknown}")
    done: set[str] = set()
    order: list[PlanStep] = []
    while len(order) < len(plan.steps):
        ready = [s for s in plan.steps if s.step_id not in done and set(s.depends_on) <= done]
        if not ready:
            stuck = [s.step_id for s in plan.steps if s.step_id not in done]
            raise ValueError(f"the plan's dependencies form a cycle among {stuck}")
        order.append(ready[0])
        done.add(ready[0].step_id)
    return order


@contextmanager
def announcing_plans(
    runner: SkillRunner, on_progress: Callable[[StepProgress], None] | None
) -> Iterator[Callable[[StepProgress], None] | None]:
    """``on_progress`` wrapped so that a step's ``running`` message is followed by a second one
    carrying its planned motion once ``runner`` has planned and launched it."""
    if on_progress is None:
        yield None
        return
    current: list[StepProgress] = []

    def progress(update: StepProgress) -> None:
        current[:] = [update] if update.status == "running" else []
        on_progress(update)

    def launched(skill_id: str, summary: TrajectorySummary) -> None:
        if current and current[0].skill_id == skill_id:
            on_progress(current[0].model_copy(update={"planned": summary}))

    runner.launch_listeners.append(launched)
    try:
        yield progress
    finally:
        runner.launch_listeners.remove(launched)


RunStep = Callable[[str, dict], SkillOutcome]
"""Runs one skill with its parameters to the end and says how it went."""


def run_plan(
    plan: SkillExecutionPlan,
    runner: SkillRunner,
    on_progress: Callable[[StepProgress], None] | None = None,
) -> PlanOutcome:
    """Run every step of ``plan`` on ``runner``'s lock-step robot; stop at the first failure."""
    with announcing_plans(runner, on_progress) as progress:
        return run_steps(plan, runner.run, lambda: runner.runtime.time, progress)


def run_steps(
    plan: SkillExecutionPlan,
    run_step: RunStep,
    now: Callable[[], float],
    on_progress: Callable[[StepProgress], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> PlanOutcome:
    """Run every step of ``plan`` with ``run_step`` in dependency order; stop at the first failure
    or when ``cancelled()`` says so between steps. ``now`` is the robot's clock (s)."""
    order = execution_order(plan)
    start = now()
    outcomes: list[SkillOutcome] = []
    failed: PlanStep | None = None
    for index, step in enumerate(order):
        if cancelled():
            failed = step
            outcomes.append(
                SkillOutcome(
                    skill=step.skill_id,
                    params=dict(step.parameters),
                    success=False,
                    failure="the plan was cancelled",
                    cause="skill",
                )
            )
            break
        if on_progress is not None:
            on_progress(
                StepProgress(
                    step_id=step.step_id, index=index, total=len(order), skill_id=step.skill_id, status="running"
                )
            )
        outcome = run_step(step.skill_id, dict(step.parameters))
        outcomes.append(outcome)
        if on_progress is not None:
            status: StepStatus = "succeeded" if outcome.success else "failed"
            on_progress(
                StepProgress(
                    step_id=step.step_id,
                    index=index,
                    total=len(order),
                    skill_id=step.skill_id,
                    status=status,
                    outcome=outcome,
                )
            )
        if not outcome.success:
            failed = step
            break
    return PlanOutcome(
        plan_id=plan.plan_id,
        success=failed is None,
        steps=outcomes,
        failed_step=None if failed is None else failed.step_id,
        failure=None if failed is None else f"step {failed.step_id} ({failed.skill_id}): {outcomes[-1].failure}",
        duration_s=now() - start,
        interventions=sum(o.interventions for o in outcomes),
        hard_limit_holds=sum(o.hard_limit_holds for o in outcomes),
        driver_violations=sum(o.driver_violations for o in outcomes),
    )


def blamed_on_stop(outcome: SkillOutcome, stop_reason: str | None) -> SkillOutcome:
    """``outcome`` of a step an e-stop (``stop_reason``, None when none came) ended: the kernel
    brakes at its next tick, before the executor hears of the cancel, so the skill may first see
    its own motion fail (a grasp that closed on nothing); the operator must read the stop, with
    what the skill saw kept after it."""
    if outcome.success or stop_reason is None or outcome.cause == "safety":
        return outcome
    failure = f"{stop_reason} (the step then saw: {outcome.failure})"
    return outcome.model_copy(update={"failure": failure, "cause": "safety"})
