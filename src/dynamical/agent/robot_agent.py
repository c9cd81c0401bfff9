"""The robot behind an agent: run plans, stop, report state. What the agent link talks to.

``RobotAgent`` is the interface, with two implementations over the same kernel and executor:

- ``RealtimeRobotAgent`` (``realtime_agent``), the robot as deployed: the realtime process
  (driver, simulator, safety kernel at 1 kHz) and, in this process, the executive's 200 Hz
  control thread, talking only through shared memory. Skills see the world through the
  world-state channel the realtime process publishes.
- ``LockstepRobotAgent`` (``lockstep_agent``) holds the simulation, the safety kernel and the
  executive in this process and steps them in a background thread, paced to the wall clock
  (``speed`` × real time): for tests and single-process demos.

Plans run in the caller's thread: each step is planned there and handed to the executor under
the lock; the stepping (or control) thread plays it. What they report is in ``reports``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, Protocol

from dynamical.agent.errors import AgentBusyError, AgentNotStartedError
from dynamical.agent.learned_catalog import DeployedSkills
from dynamical.agent.lockstep_agent import LockstepRobotAgent
from dynamical.agent.plan_runner import PlanOutcome, StepProgress
from dynamical.agent.realtime_agent import RealtimeRobotAgent
from dynamical.agent.reports import (
    ObjectPose,
    RobotStateReport,
    SafetyEventReport,
    SafetyStatus,
    StopCause,
    event_report,
)
from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot
from dynamical.robot.description import RobotDescription
from dynamical.robot.scene_model import SceneModel
from dynamical.robot.world import WorldSpec
from dynamical.safety.config import SafetyConfig

__all__ = [
    "AgentBusyError",
    "AgentMode",
    "AgentNotStartedError",
    "LockstepRobotAgent",
    "ObjectPose",
    "RealtimeRobotAgent",
    "RobotAgent",
    "RobotStateReport",
    "SafetyEventReport",
    "SafetyStatus",
    "StopCause",
    "event_report",
    "make_robot_agent",
]

AgentMode = Literal["realtime", "lockstep"]


class RobotAgent(Protocol):
    robot_id: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def execute(
        self, plan: SkillExecutionPlan, on_progress: Callable[[StepProgress], None] | None = None
    ) -> PlanOutcome: ...
    def cancel(self) -> bool: ...
    def estop(self, category: int) -> None: ...
    def reset(self, posture: bool = False) -> None: ...
    def reset_world(self, seed: int) -> None: ...
    def state(self) -> RobotStateReport: ...
    def drain_events(self) -> list[SafetyEventReport]: ...
    def world_snapshot(self) -> WorldSnapshot: ...
    def scene_model(self) -> SceneModel: ...


def make_robot_agent(
    robot_id: str,
    description: RobotDescription,
    world: WorldSpec,
    safety: SafetyConfig | None = None,
    *,
    mode: AgentMode = "lockstep",
    seed: int = 0,
    speed: float = 1.0,
    skills: DeployedSkills | None = None,
) -> RobotAgent:
    """The robot agent for ``mode``: ``realtime`` (the two processes, in real time) or
    ``lockstep`` (one process, ``speed`` × real time); ``skills``: the deployed learned skills
    it runs beside the built-in ones."""
    if mode == "lockstep":
        return LockstepRobotAgent(robot_id, description, world, safety, seed=seed, speed=speed, skills=skills)
    if mode == "realtime":
        if speed != 1.0:
            raise ValueError(f"the realtime agent runs in real time; speed={speed} applies to mode='lockstep' only")
        return RealtimeRobotAgent(robot_id, description, world, safety, seed=seed, skills=skills)
    raise ValueError(f"unknown agent mode {mode!r}; use 'realtime' or 'lockstep'")
