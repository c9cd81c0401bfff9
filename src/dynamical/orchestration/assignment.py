"""L5: which robot does a task.

A robot is *capable* of a task if it has every skill the task's steps use and runs the embodiment
those skills were written for. Among capable robots:

- NEAREST: the idle one closest to the task's target position.
- LEAST_BUSY: the one with the shortest queue (idle before busy), even if all are busy.
- CAPABILITY: the idle one with the fewest skills (best fit), keeping generalists free.
- ROUND_ROBIN: idle ones in turn by id; the first call picks the first robot.
- OPTIMAL: many tasks to many robots at once, minimising the total cost (distance to the target
  plus ``load_cost_m`` per task already queued) with ``scipy.optimize.linear_sum_assignment``;
  a robot may take several tasks, each one more costing another ``load_cost_m``.
"""

from __future__ import annotations

import math
import threading
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.optimize import linear_sum_assignment

from dynamical.orchestration.errors import NoCapableRobotError
from dynamical.orchestration.fleet import RobotCapabilities, RobotLocationTracker
from dynamical.orchestration.world import Vec3

_INFEASIBLE = 1e9


class AssignmentStrategy(StrEnum):
    NEAREST = "nearest"
    LEAST_BUSY = "least_busy"
    CAPABILITY = "capability"
    ROUND_ROBIN = "round_robin"
    OPTIMAL = "optimal"


class TaskRequirement(BaseModel):
    """What a task needs from a robot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    task_id: str
    skill_ids: frozenset[str]
    embodiments: frozenset[str]
    target_position: Vec3 | None = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: str
    robot_id: str
    strategy: AssignmentStrategy
    cost: float
    """Distance to the target (m, 0 without one) plus the load cost of the robot's queue."""


class TaskRouter:
    def __init__(
        self, robots: list[RobotCapabilities], tracker: RobotLocationTracker, load_cost_m: float = 0.5
    ) -> None:
        self.tracker = tracker
        self.load_cost_m = load_cost_m
        self._robots = {r.robot_id: r for r in robots}
        self._lock = threading.Lock()
        self._last_round_robin: str | None = None

    @property
    def robots(self) -> list[RobotCapabilities]:
        return [self._robots[k] for k in sorted(self._robots)]

    def update_robot(self, robot: RobotCapabilities) -> None:
        with self._lock:
            self._robots[robot.robot_id] = robot

    def capable(self, requirement: TaskRequirement) -> list[RobotCapabilities]:
        return [r for r in self.robots if self._lacks(r, requirement) is None]

    def cost(self, robot: RobotCapabilities, requirement: TaskRequirement, extra_tasks: int = 0) -> float:
        load = self.load_cost_m * (robot.queue_length + int(robot.busy) + extra_tasks)
        return self._distance(robot, requirement) + load

    def assign(self, requirement: TaskRequirement, strategy: AssignmentStrategy) -> Assignment:
        if strategy is AssignmentStrategy.OPTIMAL:
            return self.assign_many([requirement])[0]
        capable = self._capable_or_raise(requirement)
        if strategy is AssignmentStrategy.LEAST_BUSY:
            robot = min(capable, key=lambda r: (r.busy, r.queue_length, r.robot_id))
            return self._assignment(requirement, robot, strategy)
        idle = [r for r in capable if not r.busy]
        if not idle:
            raise NoCapableRobotError(
                f"every robot able to do {requirement.task_id!r} is busy "
                f"({', '.join(r.robot_id for r in capable)}); use least_busy to queue it"
            )
        if strategy is AssignmentStrategy.NEAREST:
            robot = min(idle, key=lambda r: (self._distance(r, requirement), r.robot_id))
        elif strategy is AssignmentStrategy.CAPABILITY:
            robot = min(idle, key=lambda r: (len(r.skills), r.robot_id))
        else:
            with self._lock:
                after = [r for r in idle if self._last_round_robin is None or r.robot_id > self._last_round_robin]
                robot = (after or idle)[0]
                self._last_round_robin = robot.robot_id
        return self._assignment(requirement, robot, strategy)

    def assign_many(self, requirements: list[TaskRequirement]) -> list[Assignment]:
        """OPTIMAL: the assignment of every task with the least total cost (robots may take several)."""
        robots = self.robots
        for requirement in requirements:
            self._capable_or_raise(requirement)
        slots = len(requirements)  # at most every task on one robot
        cost = np.full((len(requirements), len(robots) * slots), _INFEASIBLE)
        for t, requirement in enumerate(requirements):
            for r, robot in enumerate(robots):
                if self._lacks(robot, requirement) is None:
                    for s in range(slots):
                        cost[t, r * slots + s] = self.cost(robot, requirement, extra_tasks=s)
        rows, cols = linear_sum_assignment(cost)
        assignments = []
        for t, c in zip(rows, cols, strict=True):
            robot = robots[c // slots]
            assignments.append(
                Assignment(
                    task_id=requirements[t].task_id,
                    robot_id=robot.robot_id,
                    strategy=AssignmentStrategy.OPTIMAL,
                    cost=float(cost[t, c]),
                )
            )
        return assignments

    # -- helpers ----------------------------------------------------------------------------

    def _lacks(self, robot: RobotCapabilities, requirement: TaskRequirement) -> str | None:
        """Why ``robot`` cannot do the task, or None if it can."""
        if requirement.embodiments and robot.embodiment not in requirement.embodiments:
            return f"{robot.robot_id} is a {robot.embodiment}, the skills are for {', '.join(requirement.embodiments)}"
        missing = sorted(requirement.skill_ids - robot.skills)
        if missing:
            return f"{robot.robot_id} lacks {', '.join(missing)}"
        if requirement.target_position is not None and self.tracker.get(robot.robot_id) is None:
            return f"{robot.robot_id} has no known location"
        return None

    def _capable_or_raise(self, requirement: TaskRequirement) -> list[RobotCapabilities]:
        capable = self.capable(requirement)
        if not capable:
            reasons = "; ".join(filter(None, (self._lacks(r, requirement) for r in self.robots))) or "no robots"
            raise NoCapableRobotError(
                f"no robot can do {requirement.task_id!r} (needs {', '.join(sorted(requirement.skill_ids))}): {reasons}"
            )
        return capable

    def _distance(self, robot: RobotCapabilities, requirement: TaskRequirement) -> float:
        if requirement.target_position is None:
            return 0.0
        location = self.tracker.get(robot.robot_id)
        if location is None:
            return math.inf
        return float(np.linalg.norm(np.array(location.position) - np.array(requirement.target_position)))

    def _assignment(self, requirement: TaskRequirement, robot: RobotCapabilities, strategy) -> Assignment:
        return Assignment(
            task_id=requirement.task_id,
            robot_id=robot.robot_id,
            strategy=strategy,
            cost=self.cost(robot, requirement),
        )
