"""L7: the tier each step runs at and the steps it waits for.

- PLANNING: a VLA skill; it plans action chunks asynchronously (tier 3 in ARCHITECTURE.md).
- REALTIME: a step whose motion must stay synchronised tick by tick: both arms of one robot
  (a bimanual action space, e.g. a handover) or robots moving together (a leader and its
  followers share a ``coordination_id``).
- CONTROL: every other skill, stepped by the executor at 200 Hz.

Dependencies form a DAG: a step waits for the previous step of its own robot (one executor
plays one skill at a time) and for the last earlier step of another robot that handles the same
object or surface; steps of different robots that share nothing run in parallel. A follower's
step waits for what its leader's step waits for, so they start together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dynamical.skills.manifest import SkillManifest


class ExecutionTier(StrEnum):
    REALTIME = "realtime"
    CONTROL = "control"
    PLANNING = "planning"


def tier_of(manifest: SkillManifest, coordinated: bool) -> ExecutionTier:
    if manifest.kind == "vla":
        return ExecutionTier.PLANNING
    groups = set(manifest.action_space.groups)
    if coordinated or {"arm_left", "arm_right"} <= groups:
        return ExecutionTier.REALTIME
    return ExecutionTier.CONTROL


@dataclass(frozen=True)
class TierInput:
    step_id: str
    robot_id: str
    things: frozenset[str]
    """Objects and surfaces the step handles."""
    leader: str | None = None
    """For a follower step: the step id of its leader."""


def dependencies(steps: list[TierInput]) -> dict[str, list[str]]:
    """step_id → the step ids it waits for."""
    deps: dict[str, list[str]] = {}
    last_of_robot: dict[str, str] = {}
    last_touch: dict[str, tuple[str, str]] = {}
    """object or surface → (robot, step) that handled it last."""
    for step in steps:
        if step.leader is not None:
            own = last_of_robot.get(step.robot_id)
            deps[step.step_id] = sorted({*deps[step.leader], *([own] if own else [])})
        else:
            wait = set()
            if step.robot_id in last_of_robot:
                wait.add(last_of_robot[step.robot_id])
            for thing in step.things:
                robot, other = last_touch.get(thing, (step.robot_id, ""))
                if robot != step.robot_id:
                    wait.add(other)
            deps[step.step_id] = sorted(wait)
        last_of_robot[step.robot_id] = step.step_id
        for thing in step.things:
            last_touch[thing] = (step.robot_id, step.step_id)
    return deps
