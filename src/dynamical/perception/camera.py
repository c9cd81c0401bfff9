"""RGB-D frames from simulated cameras, and their back-projection into the world frame.

A frame carries what a real RGB-D camera driver gives: colour, metric depth along the optical
axis, the pinhole intrinsics and the camera's pose when the frame was taken. MuJoCo's
``Renderer`` depth is already metric (it handles the reversed Z buffer), so it is used as is.

Conventions are MuJoCo's: a camera looks along its −z axis with +y up and +x right in the image;
pixel (row v, column u) has its centre at (u + 0.5, v + 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from dynamical.perception.errors import PerceptionError
from dynamical.robot.camera_rig import DISABLED_FLAGS
from dynamical.robot.errors import UnknownNameError


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera: focal length and principal point in pixels, image size."""

    f: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fovy(cls, fovy_deg: float, width: int, height: int) -> Intrinsics:
        f = (height / 2.0) / math.tan(math.radians(fovy_deg) / 2.0)
        return cls(f=f, cx=width / 2.0, cy=height / 2.0, width=width, height=height)


@dataclass(frozen=True)
class RgbdFrame:
    """One RGB-D image of camera ``camera`` at time ``t`` (s)."""

    camera: str
    t: float
    rgb: np.ndarray
    """(h, w, 3) uint8."""
    depth: np.ndarray
    """(h, w) float32, metres along the optical axis."""
    intrinsics: Intrinsics
    cam_pos: np.ndarray
    """(3,) m, the optical centre in the world frame."""
    cam_rot: np.ndarray
    """(3, 3) camera-to-world rotation (columns: the camera's x, y, z axes in the world)."""
    truth_geoms: np.ndarray | None = None
    """(h, w) int32 geom id seen at each pixel (−1 for none): the simulator's ground truth, only
    for evaluation; perception never reads it."""

    def points_world(self, mask: np.ndarray | None = None) -> np.ndarray:
        """(k, 3) world points of the pixels in ``mask`` ((h, w) bool; every pixel if None)
        with a finite, positive depth."""
        rows, cols = np.nonzero(mask) if mask is not None else np.indices(self.depth.shape).reshape(2, -1)
        z = self.depth[rows, cols].astype(np.float64)
        keep = np.isfinite(z) & (z > 0.0)
        rows, cols, z = rows[keep], cols[keep], z[keep]
        k = self.intrinsics
        cam = np.column_stack(
            [(cols + 0.5 - k.cx) * z / k.f, -(rows + 0.5 - k.cy) * z / k.f, -z]
        )  # (k, 3) in the camera frame
        return cam @ self.cam_rot.T + self.cam_pos

    def pixel_size(self, depth: float) -> float:
        """m a pixel spans at ``depth`` m."""
        return depth / self.intrinsics.f


class SimRgbdCamera:
    """Offscreen RGB-D rendering of named cameras of a MuJoCo world, at a fixed small size.

    Shadows, reflections, the skybox and multisampling are off (as in ``CameraRig``): on a CPU
    they dominate a frame's cost, and a blended edge pixel would carry a depth between two
    surfaces that no point in the world has."""

    def __init__(
        self, model: mujoco.MjModel, data: mujoco.MjData, names: Sequence[str], width: int = 320, height: int = 240
    ) -> None:
        self._model, self._data = model, data
        self._ids: dict[str, int] = {}
        for name in names:
            cid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name)
            if cid < 0:
                raise UnknownNameError(f"no camera {name!r} in the simulated world")
            self._ids[name] = cid
        max_w, max_h = model.vis.global_.offwidth, model.vis.global_.offheight
        if not (0 < width <= max_w and 0 < height <= max_h):
            raise PerceptionError(f"image size {width}x{height} is outside 1x1..{max_w}x{max_h} for this model")
        samples = model.vis.quality.offsamples
        model.vis.quality.offsamples = 0
        try:
            self._renderer = mujoco.Renderer(model, height, width)
        finally:
            model.vis.quality.offsamples = samples
        self.names = tuple(names)
        self.width, self.height = width, height
        self.intrinsics = {
            name: Intrinsics.from_fovy(float(model.cam_fovy[cid]), width, height) for name, cid in self._ids.items()
        }

    def capture(self, name: str, truth: bool = False) -> RgbdFrame:
        """An RGB-D frame of camera ``name`` now; ``truth`` adds the per-pixel geom ids."""
        if name not in self._ids:
            raise UnknownNameError(f"no camera {name!r} in this rig; it has {list(self.names)}")
        r = self._renderer
        r.update_scene(self._data, camera=name)
        for flag in DISABLED_FLAGS:
            r.scene.flags[flag] = 0
        rgb = r.render().copy()
        r.enable_depth_rendering()
        try:
            depth = r.render().astype(np.float32)
        finally:
            r.disable_depth_rendering()
        geoms = None
        if truth:
            r.enable_segmentation_rendering()
            try:
                seg = r.render()
            finally:
                r.disable_segmentation_rendering()
            # Channel 0 is the object id, channel 1 its type; only geoms are ground truth here.
            geoms = np.where(seg[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), seg[..., 0], -1).astype(np.int32)
        cid = self._ids[name]
        return RgbdFrame(
            camera=name,
            t=float(self._data.time),
            rgb=rgb,
            depth=depth,
            intrinsics=self.intrinsics[name],
            cam_pos=self._data.cam_xpos[cid].copy(),
            cam_rot=self._data.cam_xmat[cid].reshape(3, 3).copy(),
            truth_geoms=geoms,
        )

    def close(self) -> None:
        self._renderer.close()
