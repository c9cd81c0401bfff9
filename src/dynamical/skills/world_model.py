"""What skills know of the world: objects, surfaces and the robot's hands.

`WorldModel` is the interface; `SimWorldModel` reads the simulator's ground truth through a
read-only observer (the simulator in this process, lock-step); `ChannelWorldModel`
(``channel_world.py``) reads the same ground truth from the world-state channel the realtime
process publishes. Perception will provide another implementation later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import UnknownNameError
from dynamical.robot.shapes import ObjectShape
from dynamical.robot.sim_robot import SIDES, SimObserver

__all__ = ["SIDES", "ObjectShape", "ObjectState", "SimWorldModel", "Surface", "WorldModel"]


@dataclass(frozen=True)
class ObjectState:
    name: str
    pos: np.ndarray
    """(3,) m, world frame."""
    quat: np.ndarray
    """(4,) wxyz."""
    speed: float
    """Linear speed, m/s."""
    bottom: float
    """Height of its lowest point, m."""
    touching: frozenset[str]
    """Bodies in contact with it. Every body for ``SimWorldModel``; the ``WorldIndex``'s contact
    bodies (hands' links, surfaces' bodies, objects) for ``ChannelWorldModel``: the predicates
    only ever ask about those."""


@dataclass(frozen=True)
class Surface:
    name: str
    center: np.ndarray
    """(3,) centre of the surface's box, m."""
    half: np.ndarray
    """(3,) half sizes, m."""
    body: str

    @property
    def top(self) -> float:
        return float(self.center[2] + self.half[2])

    def covers(self, xy: np.ndarray, margin: float = 0.0) -> bool:
        """Whether the point xy (2,) lies over the surface, at least ``margin`` m inside its edges."""
        return bool(np.all(np.abs(xy - self.center[:2]) <= self.half[:2] - margin))


class WorldModel(Protocol):
    description: RobotDescription

    def object_names(self) -> tuple[str, ...]: ...

    def object(self, name: str) -> ObjectState: ...

    def object_shape(self, name: str) -> ObjectShape:
        """The object's extent in its own frame: static, what a grasp is chosen from."""
        ...

    def surface_names(self) -> tuple[str, ...]: ...

    def surface(self, name: str) -> Surface: ...

    def hand_bodies(self, side: str) -> frozenset[str]: ...

    def grasp_site(self, side: str) -> str: ...

    def joint_positions(self) -> np.ndarray: ...


class SimWorldModel:
    """Ground truth from the simulator (lock-step runs and evaluation)."""

    def __init__(self, observer: SimObserver, description: RobotDescription) -> None:
        self._sim = observer
        self.description = description
        self._hands = {side: frozenset(observer.subtree(observer.site_body(self.grasp_site(side)))) for side in SIDES}
        self._shapes: dict[str, ObjectShape] = {}

    def object_names(self) -> tuple[str, ...]:
        return self._sim.objects

    def object(self, name: str) -> ObjectState:
        if name not in self._sim.objects:
            raise UnknownNameError(f"no object {name!r} in the world; there are {list(self._sim.objects)}")
        pos, quat = self._sim.body_pose(name)
        speed = float(np.linalg.norm(self._sim.body_velocity(name)[:3]))
        return ObjectState(
            name=name,
            pos=pos,
            quat=quat,
            speed=speed,
            bottom=self._sim.body_bottom(name),
            touching=frozenset(self._sim.contacts(name)),
        )

    def object_shape(self, name: str) -> ObjectShape:
        if name not in self._sim.objects:
            raise UnknownNameError(f"no object {name!r} in the world; there are {list(self._sim.objects)}")
        if name not in self._shapes:
            self._shapes[name] = self._sim.body_shape(name)
        return self._shapes[name]

    def surface_names(self) -> tuple[str, ...]:
        return tuple(self._sim.surfaces)

    def surface(self, name: str) -> Surface:
        surfaces = self._sim.surfaces
        if name not in surfaces:
            raise UnknownNameError(f"no surface {name!r} in the world; there are {list(surfaces)}")
        center, half, body = self._sim.geom_box(surfaces[name])
        return Surface(name=name, center=center, half=half, body=body)

    def hand_bodies(self, side: str) -> frozenset[str]:
        return self._hands[_side(side)]

    def grasp_site(self, side: str) -> str:
        hand = f"hand_{_side(side)}"
        site = self.description.grasp_sites.get(hand)
        if site is None:
            raise UnknownNameError(f"robot {self.description.name!r} has no grasp site for {hand}")
        return site

    def joint_positions(self) -> np.ndarray:
        return self._sim.joint_positions()


def _side(side: str) -> str:
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    return side
