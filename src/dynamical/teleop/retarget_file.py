"""`dynamical retarget FILE.bvh`: a BVH capture → the robot's joint trajectory (motion.npz)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.teleop import bvh, skeleton
from dynamical.teleop.body_retarget import BodyRetargeter


class RetargetResult(BaseModel):
    source: str
    frames: int
    duration_s: float
    frame_ms_p50: float
    rate_hz: float
    wrist_error_median_m: float
    wrist_error_p95_m: float
    out: str | None = None


def retarget_bvh(
    description: RobotDescription, path: Path, scale: float = 0.01, up: str = "y"
) -> tuple[np.ndarray, np.ndarray, RetargetResult]:
    """Times (T,) s, joints (T, n) rad and a summary of retargeting ``path``."""
    times, keypoints = skeleton.from_bvh(bvh.load(path), scale, up)
    retargeter = BodyRetargeter(description)
    q, timings, errors = [], [], []
    for frame in keypoints:
        start = time.perf_counter()
        q.append(retargeter.retarget(frame))
        timings.append(time.perf_counter() - start)
        errors.append(retargeter.error().wrist)
    p50 = float(np.median(timings))
    return (
        times,
        np.array(q),
        RetargetResult(
            source=str(path),
            frames=len(q),
            duration_s=float(times[-1]) if len(times) else 0.0,
            frame_ms_p50=p50 * 1e3,
            rate_hz=1.0 / p50,
            wrist_error_median_m=float(np.median(errors)),
            wrist_error_p95_m=float(np.percentile(errors, 95)),
        ),
    )


def save_motion(out: Path, description: RobotDescription, times: np.ndarray, q: np.ndarray) -> None:
    """``times`` (T,), ``q`` (T, n) and the joint names, as .npz (written whole, then moved in place)."""
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(tmp, t=times, q=q, joint_names=np.array(description.joint_names))
    tmp.replace(out)
