"""Orchestration: the layered decisions L3–L7 that turn a task in words into a skill execution plan.

L3 ``parser``/``llm`` decompose, ``contract`` checks pre/postconditions, L4 ``router`` picks skills,
L5 ``assignment`` picks robots, L6 ``workspace`` adapts parameters to the place, L7 ``tiering``
sets tiers and dependencies; ``orchestrator`` chains them into a ``SkillExecutionPlan``.
"""

from dynamical.orchestration.assignment import Assignment, AssignmentStrategy, TaskRequirement, TaskRouter
from dynamical.orchestration.contract import GeometricOracle, check_contract
from dynamical.orchestration.decomposer import Decomposition, TaskDecomposer, TaskStep
from dynamical.orchestration.errors import (
    AmbiguousObjectError,
    ContractError,
    EmptyTaskError,
    NoCapableRobotError,
    NoSkillMatchError,
    OrchestrationError,
    SkillBindingError,
    UnknownObjectError,
    UnknownWorkspaceError,
    UnparsableTaskError,
)
from dynamical.orchestration.fleet import RobotCapabilities, RobotLocation, RobotLocationTracker
from dynamical.orchestration.orchestrator import Orchestrator, build_orchestrator, get_orchestrator
from dynamical.orchestration.parser import ParserDecomposer
from dynamical.orchestration.plan import OrchestrationRequest, PlanStep, SkillExecutionPlan
from dynamical.orchestration.tiering import ExecutionTier
from dynamical.orchestration.workspace import LocationAdaptiveSkillManager, WorkspaceRecord
from dynamical.orchestration.world import WorldSnapshot, default_world_snapshot, snapshot_from_world_model

__all__ = [
    "AmbiguousObjectError",
    "Assignment",
    "AssignmentStrategy",
    "ContractError",
    "Decomposition",
    "EmptyTaskError",
    "ExecutionTier",
    "GeometricOracle",
    "LocationAdaptiveSkillManager",
    "NoCapableRobotError",
    "NoSkillMatchError",
    "OrchestrationError",
    "OrchestrationRequest",
    "Orchestrator",
    "ParserDecomposer",
    "PlanStep",
    "RobotCapabilities",
    "RobotLocation",
    "RobotLocationTracker",
    "SkillBindingError",
    "SkillExecutionPlan",
    "TaskDecomposer",
    "TaskRequirement",
    "TaskRouter",
    "TaskStep",
    "UnknownObjectError",
    "UnknownWorkspaceError",
    "UnparsableTaskError",
    "WorkspaceRecord",
    "WorldSnapshot",
    "build_orchestrator",
    "check_contract",
    "default_world_snapshot",
    "get_orchestrator",
    "snapshot_from_world_model",
]
