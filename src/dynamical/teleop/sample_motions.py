"""Three motions written for testing whole-body retargeting (reach, wave, bow), as BVH files the
way a mocap system writes them (Y up, facing +Z, centimetres); real captures come from users.
``python -m dynamical.teleop.sample_motions`` rewrites ``motions/*.bvh``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dynamical.teleop.bvh import BvhJoint, BvhMotion, dump

MOTIONS_DIR = Path(__file__).parent / "motions"
FPS = 60.0
ROT = ["Zrotation", "Xrotation", "Yrotation"]


def skeleton() -> list[BvhJoint]:
    """An adult upper body, cm: hips → spine → neck → head; spine → arms (upper arm 28, forearm 25)."""
    return [
        BvhJoint("Hips", -1, np.array([0.0, 95.0, 0.0]), ["Xposition", "Yposition", "Zposition", *ROT]),
        BvhJoint("Spine", 0, np.array([0.0, 10.0, 0.0]), list(ROT)),
        BvhJoint("Neck", 1, np.array([0.0, 45.0, 0.0]), list(ROT)),
        BvhJoint("Head", 2, np.array([0.0, 10.0, 0.0]), list(ROT), end_site=np.array([0.0, 18.0, 0.0])),
        BvhJoint("LeftArm", 1, np.array([18.0, 42.0, 0.0]), list(ROT)),
        BvhJoint("LeftForeArm", 4, np.array([0.0, -28.0, 0.0]), list(ROT)),
        BvhJoint("LeftHand", 5, np.array([0.0, -25.0, 0.0]), list(ROT), end_site=np.array([0.0, -8.0, 0.0])),
        BvhJoint("RightArm", 1, np.array([-18.0, 42.0, 0.0]), list(ROT)),
        BvhJoint("RightForeArm", 7, np.array([0.0, -28.0, 0.0]), list(ROT)),
        BvhJoint("RightHand", 8, np.array([0.0, -25.0, 0.0]), list(ROT), end_site=np.array([0.0, -8.0, 0.0])),
    ]


def _frames(seconds: float, pose: callable) -> np.ndarray:  # type: ignore[valid-type]
    rows = []
    for t in np.arange(0.0, seconds, 1.0 / FPS):
        angles = pose(t)  # joint name → (z, x, y) degrees
        row = [0.0, 95.0, 0.0]
        for joint in skeleton():
            row += list(angles.get(joint.name, (0.0, 0.0, 0.0)))
        rows.append(row)
    return np.array(rows)


def _ramp(t: float, over: float = 1.0) -> float:
    s = min(max(t / over, 0.0), 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * s)


def reach() -> BvhMotion:
    """The right arm rises forward to shoulder height over 1.5 s, holds, and comes back."""

    def pose(t: float) -> dict[str, tuple[float, float, float]]:
        s = _ramp(t, 1.5) - _ramp(t - 2.5, 1.5)
        return {"RightArm": (0.0, -80.0 * s, 0.0), "RightForeArm": (0.0, -10.0 * s, 0.0)}

    return BvhMotion(skeleton(), 1.0 / FPS, _frames(4.0, pose))


def wave() -> BvhMotion:
    """The right arm out to the side, forearm up, waving ±25° at 1.5 Hz."""

    def pose(t: float) -> dict[str, tuple[float, float, float]]:
        s = _ramp(t, 1.0)
        swing = 25.0 * np.sin(2 * np.pi * 1.5 * max(t - 1.0, 0.0))
        return {"RightArm": (-80.0 * s, 0.0, 0.0), "RightForeArm": (-(80.0 + swing) * s, 0.0, 0.0)}

    return BvhMotion(skeleton(), 1.0 / FPS, _frames(4.0, pose))


def bow() -> BvhMotion:
    """The torso bows 25° forward and back up, arms hanging."""

    def pose(t: float) -> dict[str, tuple[float, float, float]]:
        s = _ramp(t, 1.5) - _ramp(t - 2.0, 1.5)
        return {"Spine": (0.0, 25.0 * s, 0.0), "Neck": (0.0, 10.0 * s, 0.0)}

    return BvhMotion(skeleton(), 1.0 / FPS, _frames(3.5, pose))


def write_all() -> list[Path]:
    MOTIONS_DIR.mkdir(exist_ok=True)
    paths = []
    for name, make in (("reach", reach), ("wave", wave), ("bow", bow)):
        path = MOTIONS_DIR / f"{name}.bvh"
        path.write_text(dump(make()))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(written)
