"""Objects over time: the last fused estimate of each, its velocity and how stale it is.

An object keeps its last estimate while nobody sees it (a hand closed over it), with a
confidence that decays with the time since it was last seen; after ``forget_after_s`` it is
unknown again. A velocity comes from consecutive sightings, so a carried object has a speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from dynamical.perception.fusion import FusedObject


@dataclass(frozen=True)
class Track:
    name: str
    pos: np.ndarray
    """(3,) m, world frame."""
    yaw: float
    yaw_period: float
    size: np.ndarray
    """(3,) m."""
    velocity: np.ndarray
    """(3,) m/s."""
    seen_t: float
    """s: when it was last seen."""
    seen_confidence: float
    cameras: tuple[str, ...]

    def age(self, now: float) -> float:
        return max(0.0, now - self.seen_t)


class ObjectTracker:
    def __init__(self, decay_s: float = 1.0, forget_after_s: float = 5.0) -> None:
        if decay_s <= 0 or forget_after_s <= 0:
            raise ValueError("decay_s and forget_after_s must be positive")
        self.decay_s, self.forget_after_s = decay_s, forget_after_s
        self._tracks: dict[str, Track] = {}

    def update(self, fused: dict[str, FusedObject], now: float) -> None:
        for name, f in fused.items():
            prev = self._tracks.get(name)
            velocity = np.zeros(3)
            if prev is not None and f.t > prev.seen_t:
                velocity = (f.pos - prev.pos) / (f.t - prev.seen_t)
            self._tracks[name] = Track(
                name=name,
                pos=f.pos,
                yaw=f.yaw,
                yaw_period=f.yaw_period,
                size=f.size,
                velocity=velocity,
                seen_t=f.t,
                seen_confidence=f.confidence,
                cameras=f.cameras,
            )
        for name, track in list(self._tracks.items()):
            if name not in fused:
                if track.age(now) > self.forget_after_s:
                    del self._tracks[name]
                elif np.any(track.velocity):
                    self._tracks[name] = replace(track, velocity=np.zeros(3))  # unseen: no motion known

    def place(self, name: str, pos: np.ndarray, now: float) -> None:
        """Set a known object's position without a sighting (where a hand put it down unseen):
        it keeps its last confidence, aged from ``now``."""
        track = self._tracks.get(name)
        if track is not None:
            self._tracks[name] = replace(
                track, pos=np.asarray(pos, dtype=float).copy(), velocity=np.zeros(3), seen_t=now
            )

    def confidence(self, track: Track, now: float) -> float:
        return track.seen_confidence * math.exp(-track.age(now) / self.decay_s)

    def tracks(self) -> dict[str, Track]:
        return dict(self._tracks)

    def clear(self) -> None:
        self._tracks.clear()
