"""The robots L5 assigns work to: where each one is, and what each one can do."""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field

from dynamical.orchestration.world import Vec3


class RobotCapabilities(BaseModel):
    """What one robot can do right now."""

    model_config = ConfigDict(extra="forbid")
    robot_id: str = Field(min_length=1)
    embodiment: str
    """Robot profile name the robot runs, matched against a skill manifest's ``embodiment``."""
    skills: frozenset[str]
    """Ids of the skills installed on the robot."""
    busy: bool = False
    queue_length: int = Field(0, ge=0)
    """Tasks waiting in the robot's queue (LEAST_BUSY's measure, OPTIMAL's load cost)."""


class RobotLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    robot_id: str
    position: Vec3
    """Base position, m, world frame."""
    workspace_id: str
    visible_cameras: list[str] = []


class RobotLocationTracker:
    """robot_id → where it stands, in which workspace, seen by which cameras (thread-safe)."""

    def __init__(self, locations: list[RobotLocation] | None = None) -> None:
        self._lock = threading.Lock()
        self._locations: dict[str, RobotLocation] = {}
        for location in locations or []:
            self.update(location)

    def update(self, location: RobotLocation) -> None:
        with self._lock:
            self._locations[location.robot_id] = location

    def remove(self, robot_id: str) -> None:
        with self._lock:
            self._locations.pop(robot_id, None)

    def get(self, robot_id: str) -> RobotLocation | None:
        with self._lock:
            return self._locations.get(robot_id)

    def all(self) -> dict[str, RobotLocation]:
        with self._lock:
            return dict(self._locations)
