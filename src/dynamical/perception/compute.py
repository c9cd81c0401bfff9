"""The compute budget of cameras, from measurement.

A camera costs what the cheap tier measurably takes per frame at its resolution, times its
frame rate: ms/frame × frames/s / 1000 = cores. Each machine (a robot's computer, an edge
device) gives perception ``PERCEPTION_SHARE`` of its cores; the rest is the realtime process's,
the control tier's and the system's. The cost per frame is measured once a process, on this machine, at two sizes
(cost is linear in the pixels), with a synthetic RGB-D frame: a table plane
at 0.7 m and four 5 cm cubes of four colours (what the tabletop world shows the head camera).
"""

from __future__ import annotations

import os
import time
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dynamical.perception.camera import Intrinsics, RgbdFrame
from dynamical.perception.catalog import KnownObject, ObjectCatalog, StaticBox
from dynamical.perception.detector import ObjectDetector
from dynamical.robot.shapes import ObjectShape

PERCEPTION_SHARE = 0.5
"""Of a machine's cores, what perception may take (the realtime and control tiers keep the rest)."""
_COLOURS = ((0.85, 0.12, 0.12), (0.15, 0.70, 0.25), (0.15, 0.35, 0.85), (0.90, 0.85, 0.15))
_REPEATS = 7


class CameraLoad(BaseModel):
    """A camera's stream as the cheap tier sees it (a peripheral's ``config``)."""

    model_config = ConfigDict(extra="ignore")
    url: str = Field(pattern=r"^rtsps?://[^\s/]+(/\S*)?$", max_length=2048, description="rtsp:// or rtsps:// stream")
    width: int = Field(320, ge=16, le=3840)
    height: int = Field(240, ge=12, le=2160)
    fps: float = Field(10.0, gt=0, le=120)


class CameraAllocation(BaseModel):
    peripheral_id: str
    width: int
    height: int
    fps: float
    ms_per_frame: float
    """The cheap tier's measured cost of one frame at this size, on this machine."""
    cores: float


class MachineBudget(BaseModel):
    machine: str
    """``robot:<id>``, ``edge_device:<id>`` or ``unassigned``."""
    cores: int
    perception_cores: float
    allocated_cores: float
    headroom_cores: float
    cameras: list[CameraAllocation]


def _shape() -> ObjectShape:
    return ObjectShape(center=np.zeros(3), half=np.full(3, 0.025), widths=np.full(36, 0.05))


def synthetic_frame(width: int, height: int) -> tuple[RgbdFrame, ObjectCatalog]:
    """A downward-looking RGB-D frame of a table with four cubes, and its catalog."""
    intrinsics = Intrinsics.from_fovy(70.0, width, height)
    depth = np.full((height, width), 0.70, dtype=np.float32)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:] = (158, 120, 82)  # wood
    side = max(2, round(0.05 * intrinsics.f / 0.65))  # a 5 cm top face 0.65 m away
    for k, colour in enumerate(_COLOURS):
        r0 = height // 3 + (k // 2) * height // 3 - side // 2
        c0 = width // 3 + (k % 2) * width // 3 - side // 2
        rgb[r0 : r0 + side, c0 : c0 + side] = np.array(colour) * 255
        depth[r0 : r0 + side, c0 : c0 + side] = 0.65
    frame = RgbdFrame(
        camera="synthetic",
        t=0.0,
        rgb=rgb,
        depth=depth,
        intrinsics=intrinsics,
        cam_pos=np.array([0.0, 0.0, 1.45]),
        cam_rot=np.eye(3),
    )
    catalog = ObjectCatalog(
        objects=tuple(KnownObject(name=f"cube{k}", rgb=c, shape=_shape()) for k, c in enumerate(_COLOURS)),
        furniture=(StaticBox("table", np.array([0.0, 0.0, 0.735]), np.array([2.0, 2.0, 0.015])),),
    )
    return frame, catalog


def measure_cheap_tier_ms(width: int, height: int) -> float:
    """Median ms the cheap tier (segment, back-project, fit) takes a frame of this size here."""
    frame, catalog = synthetic_frame(width, height)
    detector = ObjectDetector(catalog)
    detector.detect(frame)  # warm: the lookup table is built, numpy's and scipy's paths loaded
    times = []
    for _ in range(_REPEATS):
        t0 = time.perf_counter()
        detector.detect(frame)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


@lru_cache(maxsize=1)
def cheap_tier_model() -> tuple[float, float]:
    """(ms a frame, ms a pixel): the cheap tier's cost is linear in the pixels (a lookup, a
    labelling pass, a back-projection each); two sizes measured once a process fix it."""
    small, large = measure_cheap_tier_ms(320, 240), measure_cheap_tier_ms(640, 480)
    per_pixel = max((large - small) / (640 * 480 - 320 * 240), 0.0)
    return max(small - per_pixel * 320 * 240, 0.0), per_pixel


def cheap_tier_ms(width: int, height: int) -> float:
    """ms the cheap tier takes a frame of ``width`` × ``height`` here (from ``cheap_tier_model``)."""
    fixed, per_pixel = cheap_tier_model()
    return round(fixed + per_pixel * width * height, 3)


def allocation(peripheral_id: str, load: CameraLoad) -> CameraAllocation:
    ms = cheap_tier_ms(load.width, load.height)
    return CameraAllocation(
        peripheral_id=peripheral_id,
        width=load.width,
        height=load.height,
        fps=load.fps,
        ms_per_frame=ms,
        cores=round(ms * load.fps / 1000.0, 4),
    )


def machine_budget(machine: str, cameras: list[CameraAllocation]) -> MachineBudget:
    cores = os.cpu_count() or 1
    share = round(cores * PERCEPTION_SHARE, 4)
    used = round(sum(c.cores for c in cameras), 4)
    return MachineBudget(
        machine=machine,
        cores=cores,
        perception_cores=share,
        allocated_cores=used,
        headroom_cores=round(share - used, 4),
        cameras=cameras,
    )
