"""A human skeleton as whole-body retargeting takes it: named 3D keypoints, in metres, in the
robot-aligned frame (z up, the person facing +x, their left toward +y).

``SkeletonFrame`` is also the live stream's documented message (a pose estimator or a mocap
system sends one per frame, JSON)::

    {"t": 12.34, "keypoints": {"hips": [x, y, z], "neck": [...], "head": [...],
     "left_shoulder": [...], "left_elbow": [...], "left_wrist": [...], "right_shoulder": ..., ...}}

BVH files become frames by name (``from_bvh``): common skeleton names (Hips, Neck, Head,
LeftArm/LeftShoulder, LeftForeArm, LeftHand, …) are recognised; BVH's Y-up, +Z-facing convention
is turned into this frame.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dynamical.teleop.bvh import BvhMotion

KEYPOINTS: tuple[str, ...] = (
    "hips",
    "neck",
    "head",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-100, le=100)]
Point = Annotated[list[Coordinate], Field(min_length=3, max_length=3)]

BVH_NAMES: dict[str, tuple[str, ...]] = {
    "hips": ("hips", "pelvis", "root"),
    "neck": ("neck", "neck1"),
    "head": ("head",),
    "left_shoulder": ("leftarm", "leftupperarm", "lshoulder", "l_shoulder", "leftshoulder"),
    "left_elbow": ("leftforearm", "leftlowerarm", "lelbow", "l_elbow"),
    "left_wrist": ("lefthand", "lwrist", "l_wrist", "leftwrist"),
    "right_shoulder": ("rightarm", "rightupperarm", "rshoulder", "r_shoulder", "rightshoulder"),
    "right_elbow": ("rightforearm", "rightlowerarm", "relbow", "r_elbow"),
    "right_wrist": ("righthand", "rwrist", "r_wrist", "rightwrist"),
}
"""Keypoint ← BVH joint names (lower case), first match wins. ``LeftShoulder`` is the clavicle in
many rigs: ``LeftArm`` (the upper arm's root) is preferred."""


class SkeletonFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    t: float = Field(ge=0, allow_inf_nan=False, description="s")
    keypoints: dict[str, Point] = Field(description="name → position, m, robot-aligned frame")

    def array(self) -> np.ndarray:
        """(9, 3) in ``KEYPOINTS`` order; KeyError naming a missing keypoint."""
        missing = [k for k in KEYPOINTS if k not in self.keypoints]
        if missing:
            raise KeyError(f"the skeleton frame lacks {', '.join(missing)}")
        return np.array([self.keypoints[k] for k in KEYPOINTS], dtype=float)


def from_bvh(motion: BvhMotion, scale: float = 0.01, up: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Times (T,) s and keypoints (T, 9, 3) m of a BVH motion (file units × ``scale``; ``up``:
    the file's up axis, y as BVH usually has it, facing +z; or z, facing +x)."""
    lower = [name.lower() for name in motion.names]
    index = []
    for key in KEYPOINTS:
        found = next((lower.index(n) for n in BVH_NAMES[key] if n in lower), None)
        if found is None:
            raise KeyError(f"the BVH skeleton has no joint for {key} (looked for {', '.join(BVH_NAMES[key])})")
        index.append(found)
    positions = motion.positions(scale)[:, index]
    if up == "y":  # x_robot = z, y_robot = x, z_robot = y (a cyclic permutation: a rotation)
        positions = positions[..., [2, 0, 1]]
    elif up != "z":
        raise ValueError(f"up must be y or z, got {up!r}")
    times = np.arange(len(positions)) * motion.frame_time
    return times, positions
