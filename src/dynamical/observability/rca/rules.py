"""The root-cause table: cause → the evidence that points to it → the remedy. Data, not code: the
analyzer (``analyzer.py``) evaluates every row the same way, and this table is what README.md
documents. Add a cause by adding a row.

How a row matches the failed step (or, for an execution with no failed step, the execution):

- ``events``: safety kernel rules; the row matches when one of them fired in the step's time
  window (the execution's, when the window is unknown). Kernel-side evidence: these rows weigh
  most, so a step the kernel stopped is never blamed on the postcondition it then missed.
- ``step_causes``: the runner's failure cause (precondition, plan, skill, timeout, postcondition,
  safety).
- ``failure_pattern``: a regular expression searched in the step's failure and the execution's error.
- ``postcondition_pattern``: a regular expression on a postcondition that does not hold.
- ``object_moved_m``: an object the step names moved at least this far between the plan and the
  step's start.
- ``object_offset_m``: the object the step grasps ended at least this far from the planned grasp
  centre (the hand's planned position when it closes).

A row needs any one of its conditions (``needs="any"``) or all of them (``needs="all"``). Its
score is ``weight`` plus ``per_evidence`` for each condition that matched beyond the first, so
corroborated causes rank first. ``explain`` is a template over the facts the analyzer measured
(``{zone}``: "keep-out zone 'name'", or "a keep-out zone" when unnamed;
``{point}``, ``{count}``, ``{gap_ms}``, ``{object}``, ``{offset_mm}``, ``{fingers}``,
``{moved_mm}``, ``{category}``, ``{predicate}``, ``{failure}``, ``{t}``, ``{phase}``, ``{rule}``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class CauseRule(BaseModel):
    model_config = ConfigDict(frozen=True)

    cause: str
    title: str
    evidence: str
    """In words: what points to this cause."""
    remedy: str
    weight: float
    explain: str
    events: tuple[str, ...] = ()
    step_causes: tuple[str, ...] = ()
    failure_pattern: str | None = None
    postcondition_pattern: str | None = None
    object_moved_m: float | None = None
    object_offset_m: float | None = None
    needs: Literal["any", "all"] = "any"
    per_evidence: float = 5.0


RULES: tuple[CauseRule, ...] = (
    CauseRule(
        cause="estop",
        title="An emergency stop",
        evidence="ESTOP or ESTOP_POWER_OFF from the kernel during the step, or a failure naming the e-stop",
        remedy="Find who or what pressed it (audit ledger: kind estop); clear the cell, then reset from the dashboard",
        weight=100,
        events=("ESTOP", "ESTOP_POWER_OFF"),
        failure_pattern=r"\bESTOP\b|e-stop|emergency stop",
        explain="an e-stop (category {category}) stopped the robot at t={t:.2f} s, during {phase}",
    ),
    CauseRule(
        cause="starved_executive",
        title="The watchdog held: the control loop was starved",
        evidence="WATCHDOG_HOLD, WATCHDOG_DECELERATE or WATCHDOG_PROTECTIVE_STOP during the step",
        remedy="Give the executive its CPU back (fewer busy processes beside it, real-time priority) "
        "or stream a longer lookahead; reset the protective stop",
        weight=90,
        events=("WATCHDOG_HOLD", "WATCHDOG_DECELERATE", "WATCHDOG_PROTECTIVE_STOP"),
        failure_pattern=r"WATCHDOG|watchdog",
        explain="the watchdog held: no command for {gap_ms:.0f} ms (control thread starved), "
        "{count} watchdog events from t={t:.2f} s, during {phase}",
    ),
    CauseRule(
        cause="keep_out_zone",
        title="A keep-out zone stopped the motion",
        evidence="KEEP_OUT_ZONE interventions during the step",
        remedy="Move the zone or the target; the planner refuses targets inside a zone, "
        "so a zone added after planning or over the path is the usual reason",
        weight=85,
        events=("KEEP_OUT_ZONE",),
        explain="{zone} stopped the {point} at t={t:.2f} s ({count} interventions), during {phase}",
    ),
    CauseRule(
        cause="person_too_close",
        title="A person came too close",
        evidence="SEPARATION_STOP or SEPARATION_SPEED during the step",
        remedy="Keep people outside the separation distance while the robot moves, or slow the skill near them",
        weight=80,
        events=("SEPARATION_STOP", "SEPARATION_SPEED"),
        explain="speed and separation monitoring slowed or stopped the robot ({count} events from t={t:.2f} s)",
    ),
    CauseRule(
        cause="moved_object",
        title="The world changed after planning",
        evidence="a precondition that no longer held when the step started, or an object the step names "
        "that moved between the plan and the step",
        remedy="Re-plan from a fresh world snapshot (retry); keep the workspace still while a task runs",
        weight=70,
        step_causes=("precondition",),
        object_moved_m=0.02,
        explain="the plan's precondition no longer held: {object} was moved ({moved_mm:.0f} mm since the plan) — "
        "{failure}",
    ),
    CauseRule(
        cause="limit_violation",
        title="A command over a joint limit reached the driver",
        evidence="HARD_LIMIT_HOLD events, or the runner's safety cause",
        remedy="Report it: the filter should have kept the command within its limits; check the skill's timing",
        weight=65,
        events=("HARD_LIMIT_HOLD",),
        step_causes=("safety",),
        explain="the kernel's independent check held {count} commands over a limit",
    ),
    CauseRule(
        cause="grasp_missed",
        title="The grasp did not take",
        evidence="a holding/in-hand postcondition that does not hold after a grasp, most often with the object "
        "off the planned grasp centre",
        remedy="Re-perceive the object just before the grasp; check the object's pose estimate and the grasp offsets",
        weight=50,
        postcondition_pattern=r"^(holding|in_hand|grasped)\(",
        object_offset_m=0.01,
        explain="grasp did not take: {fingers} finger(s) in contact at close; "
        "{object} was {offset_mm:.0f} mm off the planned grasp centre",
    ),
    CauseRule(
        cause="unreachable",
        title="No motion could be planned",
        evidence="the runner's plan cause (no IK solution, out of reach)",
        remedy="Move the object within reach or let the robot reposition",
        weight=45,
        step_causes=("plan",),
        explain="no motion could be planned: {failure}",
    ),
    CauseRule(
        cause="timeout",
        title="The step ran out of time",
        evidence="the runner's timeout cause",
        remedy="Look for holds that slowed the motion (events of the step); raise a timeout that is too tight",
        weight=40,
        step_causes=("timeout",),
        explain="the step timed out: {failure}",
    ),
    CauseRule(
        cause="postcondition",
        title="The step's result was not what it promised",
        evidence="a postcondition that does not hold, with no kernel event and no object offset to explain it",
        remedy="Open the step's phases in the trace and the exported recording to see where it diverged",
        weight=20,
        step_causes=("postcondition",),
        explain="{predicate} does not hold after the step",
    ),
    CauseRule(
        cause="cancelled",
        title="Cancelled",
        evidence="the execution was cancelled (by an operator or its timeout)",
        remedy="None needed; retry when ready",
        weight=15,
        failure_pattern=r"^cancelled|timed out after",
        explain="the execution was cancelled: {failure}",
    ),
    CauseRule(
        cause="skill_error",
        title="The skill failed",
        evidence="the runner's skill cause with no other evidence",
        remedy="Read the failure message; open the step's trace",
        weight=10,
        step_causes=("skill",),
        explain="the skill failed: {failure}",
    ),
)


def rule_for(cause: str) -> CauseRule:
    for rule in RULES:
        if rule.cause == cause:
            return rule
    raise KeyError(cause)
