"""People from depth, for speed and separation monitoring.

Every camera's depth is back-projected into the world; points on the floor, inside the known
furniture (grown by ``FURNITURE_MARGIN_M``) or inside the robot's own envelope (a self-filter, as
every mobile manipulator's perception does) are dropped; the rest is binned on a 5 cm floor grid
and grouped into 8-connected clusters. A cluster that rises above ``MIN_PERSON_TOP_M`` from near
the floor is a person: objects on the table and the robot's arm over it are not.

A person's distance to each safety point is that of its nearest point. Consumers use it a little
later than the frame was taken: ``Person.distance_now`` subtracts what a person walking straight
at the robot at ``human_speed`` could have closed since (latency compensation, ISO 13855's way).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dynamical.perception.camera import RgbdFrame
from dynamical.perception.catalog import StaticBox

CELL_M = 0.05
FLOOR_BAND_M = 0.03
FURNITURE_MARGIN_M = 0.03
MIN_PERSON_TOP_M = 1.2
MAX_PERSON_BOTTOM_M = 0.7
MAX_RANGE_M = 8.0
MIN_POINTS = 30


@dataclass(frozen=True)
class RobotEnvelope:
    """The robot's own volume to filter out: a vertical cylinder around its base (m)."""

    center_xy: tuple[float, float] = (0.0, 0.0)
    radius: float = 0.3
    height: float = 1.9


@dataclass(frozen=True)
class PersonSighting:
    t: float
    """s, robot clock of the frames."""
    points: np.ndarray
    """(k, 3) m, world frame (subsampled)."""
    center_xy: np.ndarray
    """(2,) m."""
    top: float
    """m, the highest point."""
    radius: float
    """m, the cluster's horizontal extent from its centre (95th percentile)."""

    def distances(self, safety_points: np.ndarray) -> np.ndarray:
        """(n,) m from each safety point (n, 3) to this person's nearest point."""
        diff = safety_points[:, None, :] - self.points[None, :, :]
        return np.sqrt((diff**2).sum(-1)).min(axis=1)

    def distance_now(self, safety_points: np.ndarray, now: float, human_speed: float) -> np.ndarray:
        """``distances`` less what the person could have walked since the frames (never < 0)."""
        return np.maximum(self.distances(safety_points) - human_speed * max(0.0, now - self.t), 0.0)

    def capsule(self) -> tuple[np.ndarray, np.ndarray, float]:
        """base (3,), top (3,), radius: the envelope the safety kernel's separation input takes."""
        base = np.array([*self.center_xy, 0.0])
        return base, np.array([*self.center_xy, self.top]), self.radius


class PersonDetector:
    def __init__(self, furniture: Iterable[StaticBox], robot: RobotEnvelope | None = None, stride: int = 2) -> None:
        self.furniture = tuple(furniture)
        self.robot = robot or RobotEnvelope()
        self.stride = stride

    def foreground(self, frame: RgbdFrame) -> np.ndarray:
        """(k, 3) world points of ``frame`` that are neither floor, furniture nor the robot."""
        mask = np.zeros(frame.depth.shape, dtype=bool)
        mask[:: self.stride, :: self.stride] = True
        mask &= frame.depth < MAX_RANGE_M
        pts = frame.points_world(mask)
        keep = pts[:, 2] > FLOOR_BAND_M
        for box in self.furniture:
            keep &= ~box.contains(pts, FURNITURE_MARGIN_M)
        r = self.robot
        keep &= ~(
            (np.hypot(pts[:, 0] - r.center_xy[0], pts[:, 1] - r.center_xy[1]) <= r.radius) & (pts[:, 2] <= r.height)
        )
        return pts[keep]

    def detect(self, frames: Iterable[RgbdFrame]) -> list[PersonSighting]:
        frames = list(frames)
        if not frames:
            return []
        pts = np.vstack([self.foreground(f) for f in frames])
        t = max(f.t for f in frames)
        if len(pts) < MIN_POINTS:
            return []
        cells = np.floor(pts[:, :2] / CELL_M).astype(int)
        low = cells.min(axis=0)
        cells -= low
        grid = np.zeros(cells.max(axis=0) + 1, dtype=np.int32)
        np.add.at(grid, (cells[:, 0], cells[:, 1]), 1)
        labels, count = ndimage.label(grid > 0, structure=np.ones((3, 3), dtype=bool))
        point_label = labels[cells[:, 0], cells[:, 1]]
        people = []
        for k in range(1, count + 1):
            own = pts[point_label == k]
            if len(own) < MIN_POINTS or own[:, 2].max() < MIN_PERSON_TOP_M or own[:, 2].min() > MAX_PERSON_BOTTOM_M:
                continue
            center = np.median(own[:, :2], axis=0)
            radius = float(np.percentile(np.hypot(*(own[:, :2] - center).T), 95))
            people.append(
                PersonSighting(
                    t=t,
                    points=own[:: max(1, len(own) // 2000)],
                    center_xy=center,
                    top=float(own[:, 2].max()),
                    radius=radius,
                )
            )
        return people


@dataclass(frozen=True)
class CrossCheck:
    """The kernel's two person sources side by side for one safety point set."""

    sensor_m: float
    """Distance from the safety-rated stand-in (the simulator's mannequin)."""
    perceived_m: float
    """Distance from perception (inf when it sees nobody)."""
    used_m: float
    """The more conservative (smaller) of the two: what separation monitoring uses."""
    disagree: bool
    """They differ by more than the configured bound: an event to raise."""


def cross_check(sensor_m: float, perceived_m: float, bound_m: float) -> CrossCheck:
    """Take the more conservative distance; flag a disagreement beyond ``bound_m``."""
    disagree = not (np.isinf(sensor_m) and np.isinf(perceived_m)) and not abs(sensor_m - perceived_m) <= bound_m
    return CrossCheck(sensor_m=sensor_m, perceived_m=perceived_m, used_m=min(sensor_m, perceived_m), disagree=disagree)
