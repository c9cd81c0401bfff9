"""The orchestrator's boundary: the request it takes and the plan it returns (both JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dynamical.orchestration.assignment import AssignmentStrategy
from dynamical.orchestration.tiering import ExecutionTier
from dynamical.orchestration.world import Vec3, WorldSnapshot
from dynamical.skills.manifest import Role


class OrchestrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_description: str
    assignment_strategy: AssignmentStrategy = AssignmentStrategy.NEAREST
    target_position: Vec3 | None = None
    """Where the work is (m, world frame); by default the position of the first object the task names."""
    world: WorldSnapshot | None = None
    """The world to plan in; by default the orchestrator's (the tabletop world as its files describe it)."""
    robot_count: int = Field(1, ge=1)
    """Robots doing the task together: one leader, the rest followers of each step that allows it."""


class PlanStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step_id: str
    text: str
    """The instruction the step was routed on."""
    source: str
    """The clause of the task it comes from."""
    skill_id: str
    """The skill to run: the router's best."""
    skill_version: str
    parameters: dict[str, Any]
    """Validated against the skill's parameters schema, defaults filled in: what the runner passes to the skill."""
    skill_ids: list[str]
    """Top-k skills of the router, best first."""
    weights: list[float]
    confidence: float
    robot_id: str
    workspace_id: str
    role: Role = "independent"
    coordination_id: str | None = None
    location_params: dict[str, Any] = {}
    tier: ExecutionTier
    depends_on: list[str] = []


class SkillExecutionPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str
    task: str
    decomposer: Literal["parser", "llm"]
    strategy: AssignmentStrategy
    robots: list[str]
    steps: list[PlanStep]
    assumptions: list[str] = []
    """Geometric preconditions the contract check could not decide; the runner checks them live."""
    notes: list[str] = []
    timings_ms: dict[str, float] = {}
    """Time spent in each layer (decompose, route, contract, assign, adapt, tier)."""
