"""``PerceivedWorldModel``: the skills' ``WorldModel`` with objects from the cameras.

Objects are what perception tracks, with a confidence; an object no camera has seen (or not for
``ObjectTracker.forget_after_s``) is unknown: ``object()`` raises ``UnknownNameError`` rather than
guessing. What cameras cannot measure comes from the base world model: the furniture (static and
known), the robot's own hands and joints (proprioception), object shapes (the catalog) and
contacts (a robot's tactile and force sensing stands in for them).

An object in a hand is often hidden by that hand. While the hand touches it, it is carried with
the hand: its pose relative to the grasp site (forward kinematics, i.e. proprioception) is taken
at its last sighting and applied to where the hand is now, so a grasped cube stays known
without being seen, and is again unknown once let go and unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from dynamical.perception.tracker import ObjectTracker, Track
from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import UnknownNameError
from dynamical.robot.shapes import ObjectShape
from dynamical.skills.world_model import SIDES, ObjectState, Surface, WorldModel

HandPose = Callable[[str], tuple[np.ndarray, np.ndarray]]
"""Grasp site name → its world position (3,) m and rotation (3, 3), from forward kinematics."""


class PerceivedWorldModel:
    def __init__(
        self,
        base: WorldModel,
        tracker: ObjectTracker,
        clock: Callable[[], float],
        hand_pose: HandPose | None = None,
        min_confidence: float = 0.05,
    ) -> None:
        """``clock()`` returns now in the robot's seconds (the frames' time base)."""
        self._base = base
        self._tracker = tracker
        self._clock = clock
        self._hand_pose = hand_pose
        self.min_confidence = min_confidence
        self.description: RobotDescription = base.description
        self._in_hand: dict[str, tuple[str, float, np.ndarray]] = {}
        """object → (grasp site, sighting time, its position in the site's frame (3,))."""

    def _now(self) -> float:
        return float(self._clock())

    def _holding_site(self, name: str) -> str | None:
        """The grasp site of the hand touching ``name`` (tactile contact), or None."""
        if self._hand_pose is None or name not in self._base.object_names():
            return None
        touching = self._base.object(name).touching
        for side in SIDES:
            if touching & self._base.hand_bodies(side):
                return self._base.grasp_site(side)
        return None

    def _carried(self, name: str, track: Track) -> Track | None:
        """``track`` moved with the hand holding it, or None when no hand holds it."""
        site = self._holding_site(name)
        if site is None or self._hand_pose is None:
            released = self._in_hand.pop(name, None)
            if released is not None and self._hand_pose is not None and track.seen_t <= released[1]:
                # Let go unseen: it is where the hand put it (object permanence), as of now.
                pos, rot = self._hand_pose(released[0])
                self._tracker.place(name, pos + rot @ released[2], self._now())
            return None
        kept = self._in_hand.get(name)
        if kept is None or kept[0] != site or kept[1] < track.seen_t:
            pos, rot = self._hand_pose(site)
            kept = (site, track.seen_t, rot.T @ (track.pos - pos))
            self._in_hand[name] = kept
        pos, rot = self._hand_pose(site)
        return replace(track, pos=pos + rot @ kept[2])

    def _known(self) -> dict[str, Track]:
        now = self._now()
        known = {}
        for name, track in self._tracker.tracks().items():
            carried = self._carried(name, track)
            if carried is not None:
                known[name] = carried
            elif self._tracker.confidence(track, now) >= self.min_confidence:
                known[name] = track
        return known

    def object_names(self) -> tuple[str, ...]:
        known = self._known()
        return tuple(n for n in self._base.object_names() if n in known)

    def confidence(self, name: str) -> float:
        """0..1; 0 for an object not (or no longer) seen."""
        track = self._tracker.tracks().get(name)
        if track is None:
            return 0.0
        if self._holding_site(name) is not None:
            return max(track.seen_confidence, self._tracker.confidence(track, self._now()))
        return self._tracker.confidence(track, self._now())

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
