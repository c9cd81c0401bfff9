"""Perception against the simulator's ground truth: poses from MuJoCo, masks from its
segmentation rendering. Used by ``dynamical bench perception --accuracy`` and the tests.

An object counts as *unoccluded* in a camera when its true mask neither touches the image border
nor borders a nearer pixel of something that moves (the robot, another object, the mannequin).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import ndimage

from dynamical.perception.camera import RgbdFrame
from dynamical.perception.detector import Detection
from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.robot.sim_robot import SimRobot

NEAR_M = 1.0
"""The accuracy targets hold for objects within this distance of the camera."""


@dataclass(frozen=True)
class Sighting:
    """One object in one camera's frame: what was detected against what is true."""

    camera: str
    name: str
    round: bool
    distance: float
    """m from the camera."""
    unoccluded: bool
    true_pixels: int
    detected: bool
    position_error: float
    """m; nan when not detected."""
    yaw_error: float
    """rad modulo the detection's yaw period; nan when not detected or unobservable."""
    iou: float


def object_geoms(model: mujoco.MjModel, body: str) -> np.ndarray:
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    return np.flatnonzero(model.geom_bodyid == bid)


def moving_geoms(model: mujoco.MjModel) -> np.ndarray:
    moving_roots = {int(model.body_rootid[model.jnt_bodyid[j]]) for j in range(model.njnt)}
    moving_roots |= {int(model.body_rootid[b]) for b in range(model.nbody) if model.body_mocapid[b] >= 0}
    return np.array([g for g in range(model.ngeom) if int(model.body_rootid[model.geom_bodyid[g]]) in moving_roots])


def compare_frame(sim: SimRobot, frame: RgbdFrame, detections: list[Detection]) -> list[Sighting]:
    """Every catalog object visible in ``frame`` (which must carry ``truth_geoms``)."""
    assert frame.truth_geoms is not None, "capture the frame with truth=True"
    model, truth = sim.model, frame.truth_geoms
    movers = moving_geoms(model)
    found = {d.name: d for d in detections if d.name is not None}
    out = []
    for name in sim.world.objects if sim.world else ():
        own = object_geoms(model, name)
        mask = np.isin(truth, own)
        n = int(mask.sum())
        if n == 0:
            continue
        border = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
        ring = ndimage.binary_dilation(mask, iterations=2) & ~mask
        in_front = ring & np.isin(truth, movers) & (frame.depth < frame.depth[mask].max())
        pos, quat = sim.body_pose(name)
        round_ = sim.body_shape(name).round
        d = found.get(name)
        if d is None:
            pos_err, yaw_err, iou = float("nan"), float("nan"), 0.0
        else:
            pos_err = float(np.linalg.norm(d.pos - pos))
            true_yaw = 2.0 * np.arctan2(quat[3], quat[0])
            if d.yaw_period >= 2 * np.pi:
                yaw_err = float("nan")
            else:
                diff = (d.yaw - true_yaw) % d.yaw_period
                yaw_err = float(min(diff, d.yaw_period - diff))
            iou = float((d.mask & mask).sum() / (d.mask | mask).sum())
        out.append(
            Sighting(
                camera=frame.camera,
                name=name,
                round=round_,
                distance=float(np.linalg.norm(pos - frame.cam_pos)),
                unoccluded=not border and not in_front.any(),
                true_pixels=n,
                detected=d is not None,
                position_error=pos_err,
                yaw_error=yaw_err,
                iou=iou,
            )
        )
    return out


class AccuracyReport(BaseModel):
    model_config = ConfigDict(frozen=True)
    layouts: int
    cameras: list[str]
    width: int
    height: int
    cube_sightings: int
    """Unoccluded cubes within 1 m, over every camera and layout."""
    cube_detected_fraction: float
    cube_position_median_mm: float
    cube_position_max_mm: float
    cube_yaw_max_deg: float
    cup_sightings: int
    cup_position_median_mm: float
    cup_position_max_mm: float
    iou_min: float
    iou_median: float
    fused_position_median_mm: float
    """Every object seen by at least one camera, the cameras' estimates fused."""
    fused_position_max_mm: float
    detect_ms_median: float
    """Cheap tier per frame (segment, back-project, fit), rendering excluded."""
    detect_ms_p99: float
    capture_ms_median: float
    """Rendering one RGB-D frame (the simulator's cost, not perception's)."""


def measure_accuracy(sim: SimRobot, pipeline: PerceptionPipeline, layouts: int, first_seed: int = 0) -> AccuracyReport:
    """Run the pipeline on ``layouts`` random layouts (seeds first_seed…) of ``sim``'s world."""
    sightings: list[Sighting] = []
    fused_errors: list[float] = []
    detect_ms: list[float] = []
    capture_ms: list[float] = []
    for seed in range(first_seed, first_seed + layouts):
        sim.reset(seed)
        pipeline.tracker.clear()
        pipeline.update(truth=True)
        for name, frame in pipeline.last_frames.items():
            sightings += compare_frame(sim, frame, [d for d in pipeline.last_detections if d.camera == name])
        for name, track in pipeline.tracker.tracks().items():
            fused_errors.append(float(np.linalg.norm(track.pos - sim.body_pose(name)[0])))
        snap = pipeline.snapshot()
        detect_ms += [c.detect_ms for c in snap.cameras]
        capture_ms += [c.capture_ms for c in snap.cameras]
    near = [s for s in sightings if s.unoccluded and s.distance <= NEAR_M]
    cubes = [s for s in near if not s.round]
    cups = [s for s in near if s.round]
    cube_found = [s for s in cubes if s.detected]
    cup_found = [s for s in cups if s.detected]
    ious = [s.iou for s in near]

    def mm(values: list[float], how: str) -> float:
        return round(float(getattr(np, how)(values)) * 1e3, 3) if values else float("nan")

    return AccuracyReport(
        layouts=layouts,
        cameras=list(pipeline.cameras.names),
        width=pipeline.cameras.width,
        height=pipeline.cameras.height,
        cube_sightings=len(cubes),
        cube_detected_fraction=round(len(cube_found) / len(cubes), 4) if cubes else 0.0,
        cube_position_median_mm=mm([s.position_error for s in cube_found], "median"),
        cube_position_max_mm=mm([s.position_error for s in cube_found], "max"),
        cube_yaw_max_deg=round(float(np.degrees(max((s.yaw_error for s in cube_found), default=np.nan))), 3),
        cup_sightings=len(cups),
        cup_position_median_mm=mm([s.position_error for s in cup_found], "median"),
        cup_position_max_mm=mm([s.position_error for s in cup_found], "max"),
        iou_min=round(min(ious), 4) if ious else float("nan"),
        iou_median=round(float(np.median(ious)), 4) if ious else float("nan"),
        fused_position_median_mm=mm(fused_errors, "median"),
        fused_position_max_mm=mm(fused_errors, "max"),
        detect_ms_median=round(float(np.median(detect_ms)), 3),
        detect_ms_p99=round(float(np.percentile(detect_ms, 99)), 3),
        capture_ms_median=round(float(np.median(capture_ms)), 3),
    )


def true_person_distance(sim: SimRobot, point: np.ndarray) -> float:
    """m from ``point`` (3,) to the surface of the mannequin's geoms (capsules, spheres); inf
    when the world has none."""
    if sim.world is None or sim.world.mannequin is None:
        return float("inf")
    model, data = sim.model, sim.data
    best = float("inf")
    for g in object_geoms(model, sim.world.mannequin):
        center, radius = data.geom_xpos[g], float(model.geom_size[g][0])
        if int(model.geom_type[g]) == int(mujoco.mjtGeom.mjGEOM_CAPSULE):
            axis = data.geom_xmat[g].reshape(3, 3)[:, 2] * model.geom_size[g][1]
            a, b = center - axis, center + axis
            s = np.clip((point - a) @ (b - a) / max(float((b - a) @ (b - a)), 1e-12), 0.0, 1.0)
            nearest = a + s * (b - a)
        else:
            nearest = center
        best = min(best, max(0.0, float(np.linalg.norm(point - nearest)) - radius))
    return best
