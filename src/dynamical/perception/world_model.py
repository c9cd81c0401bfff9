"""``PerceivedWorldModel``: the skills' ``WorldModel`` with objects from the cameras.

Objects are what perception tracks, with a confidence; an object no camera has seen (or not for
``ObjectTracker.forget_after_s``) is unknown: ``object()`` raises ``UnknownNameError`` rather than
guessing. What cameras cannot measure comes from the base world model: the furniture (static and
known), the robot's own hands and joints (proprioception), object shapes (the catalog) and
contacts (a robot's tactile and force sensing stands in for them).
"""

from __future__ import annotations

import numpy as np

from dynamical.perception.tracker import ObjectTracker, Track
from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import UnknownNameError
from dynamical.robot.shapes import ObjectShape
from dynamical.skills.world_model import ObjectState, Surface, WorldModel


class PerceivedWorldModel:
    def __init__(self, base: WorldModel, tracker: ObjectTracker, clock: object, min_confidence: float = 0.05) -> None:
        """``clock()`` returns now in the robot's seconds (the frames' time base)."""
        self._base = base
        self._tracker = tracker
        self._clock = clock
        self.min_confidence = min_confidence
        self.description: RobotDescription = base.description

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def _known(self) -> dict[str, Track]:
        now = self._now()
        return {
            name: t
            for name, t in self._tracker.tracks().items()
            if self._tracker.confidence(t, now) >= self.min_confidence
        }

    def object_names(self) -> tuple[str, ...]:
        known = self._known()
        return tuple(n for n in self._base.object_names() if n in known)

    def confidence(self, name: str) -> float:
        """0..1; 0 for an object not (or no longer) seen."""
        track = self._tracker.tracks().get(name)
        return 0.0 if track is None else self._tracker.confidence(track, self._now())

    def object(self, name: str) -> ObjectState:
        track = self._known().get(name)
        if track is None:
            raise UnknownNameError(f"object {name!r} is not seen by any camera; seen: {list(self.object_names())}")
        shape = self._base.object_shape(name)
        quat = np.array([np.cos(track.yaw / 2), 0.0, 0.0, np.sin(track.yaw / 2)])
        base_state = self._base.object(name) if name in self._base.object_names() else None
        return ObjectState(
            name=name,
            pos=track.pos.copy(),
            quat=quat,
            speed=float(np.linalg.norm(track.velocity)),
            bottom=float(track.pos[2] + shape.center[2] - shape.half[2]),
            touching=base_state.touching if base_state is not None else frozenset(),
        )

    def object_shape(self, name: str) -> ObjectShape:
        return self._base.object_shape(name)

    def surface_names(self) -> tuple[str, ...]:
        return self._base.surface_names()

    def surface(self, name: str) -> Surface:
        return self._base.surface(name)

    def hand_bodies(self, side: str) -> frozenset[str]:
        return self._base.hand_bodies(side)

    def grasp_site(self, side: str) -> str:
        return self._base.grasp_site(side)

    def joint_positions(self) -> np.ndarray:
        return self._base.joint_positions()
