"""What root-cause analysis looks at: one execution's steps, safety events and object poses, in a
form that does not care where they came from (a stored execution on the server, or a lock-step
episode in ``dynamical bench rca``: both build this, so the bench measures the server's analysis).

Times are on the robot's clock (s); positions in the world frame (m).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dynamical.observability.recording import EventSample

# A kernel event is evidence as the execution recording holds it: one model serves both.
EventEvidence = EventSample


class PhaseEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    t_start: float
    t_end: float
    hands: dict[str, list[float]] = {}
    """Side → the grasp site's planned position at the phase's end, m."""


class PredicateEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    predicate: str
    holds: bool
    detail: str


class StepEvidence(BaseModel):
    """One step that ran (or was refused)."""

    model_config = ConfigDict(frozen=True)

    step_id: str
    skill: str
    params: dict[str, Any] = {}
    success: bool
    failure: str | None = None
    cause: str | None = None
    """The runner's ``FailureCause``: precondition, plan, skill, timeout, postcondition, safety."""
    duration_s: float = 0.0
    interventions: int = 0
    hard_limit_holds: int = 0
    postconditions: list[PredicateEvidence] = []
    t_start: float | None = None
    """s, robot clock; None when unknown (events are then matched to the execution, not the step)."""
    t_end: float | None = None
    phases: list[PhaseEvidence] = []


class ObjectEvidence(BaseModel):
    """Where an object was: when the plan was made, when the failing step started, when it ended."""

    model_config = ConfigDict(frozen=True)

    name: str
    at_plan: list[float] | None = None
    at_step_start: list[float] | None = None
    at_step_end: list[float] | None = None


class ExecutionEvidence(BaseModel):
    execution_id: str
    status: str
    """succeeded, failed, cancelled, interrupted …"""
    error: str | None = None
    steps: list[StepEvidence] = []
    events: list[EventEvidence] = []
    objects: list[ObjectEvidence] = []
    estop_category: int | None = Field(None, description="the category of an e-stop in force at the end, if any")

    def failed_step(self) -> StepEvidence | None:
        return next((s for s in self.steps if not s.success), None)

    def step_events(self, step: StepEvidence | None, margin_s: float = 0.25) -> list[EventEvidence]:
        """The events of ``step``'s window (all the execution's when its window is unknown)."""
        if step is None or step.t_start is None or step.t_end is None:
            return list(self.events)
        lo, hi = step.t_start - margin_s, step.t_end + margin_s
        return [e for e in self.events if lo <= e.t <= hi]

    def object(self, name: str) -> ObjectEvidence | None:
        return next((o for o in self.objects if o.name == name), None)
