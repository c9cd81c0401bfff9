"""Fuse one instant's detections from several cameras into one estimate per object.

Each camera's estimate is weighted by its confidence (how much of the top face it saw) over its
resolution squared (a pixel's footprint at the object): the head camera close above the table
outweighs a scene camera 1.5 m away, and a camera whose view the hand blocks half-way counts
half. Yaw is averaged on the circle of its period (a cube's yaw is known modulo 90°).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynamical.perception.detector import Detection


@dataclass(frozen=True)
class FusedObject:
    name: str
    t: float
    pos: np.ndarray
    """(3,) m, world frame."""
    yaw: float
    yaw_period: float
    size: np.ndarray
    """(3,) m."""
    confidence: float
    """1 − Π(1 − cᵢ) over the cameras that saw it."""
    cameras: tuple[str, ...]


def fuse(detections: list[Detection]) -> dict[str, FusedObject]:
    """Named detections of one instant, any cameras → {name: FusedObject}."""
    by_name: dict[str, list[Detection]] = {}
    for d in detections:
        if d.name is not None and d.confidence > 0.0:
            by_name.setdefault(d.name, []).append(d)
    fused = {}
    for name, ds in by_name.items():
        w = np.array([d.confidence / d.sigma**2 for d in ds])
        w /= w.sum()
        period = ds[0].yaw_period
        turns = 2 * np.pi / period
        yaw = float(np.angle(np.sum(w * np.exp(1j * turns * np.array([d.yaw for d in ds]))))) / turns
        fused[name] = FusedObject(
            name=name,
            t=max(d.t for d in ds),
            pos=np.sum(w[:, None] * np.array([d.pos for d in ds]), axis=0),
            yaw=yaw,
            yaw_period=period,
            size=np.sum(w[:, None] * np.array([d.size for d in ds]), axis=0),
            confidence=float(1.0 - np.prod([1.0 - d.confidence for d in ds])),
            cameras=tuple(sorted(d.camera for d in ds)),
        )
    return fused
