"""Small, fast camera images of a simulated robot for recording and for learned policies.

On a CPU (Mesa's llvmpipe) shadows, reflections and multisampling dominate a small frame's cost:
at 128×96 a frame of the tabletop world took ≈ 0.9 s with MuJoCo's defaults on a loaded 2-core
machine and ≈ 45 ms without them. A policy trained on these frames must see the same ones at run
time, so recording and the policy executor both render through a ``CameraRig``.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from dynamical.robot.errors import UnknownNameError

DISABLED_FLAGS = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX)


class CameraRig:
    """One offscreen renderer of ``width`` × ``height`` px for the cameras ``names`` of a model."""

    def __init__(
        self, model: mujoco.MjModel, data: mujoco.MjData, names: Sequence[str], width: int, height: int
    ) -> None:
        self._model, self._data = model, data
        for name in names:
            if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) < 0:
                raise UnknownNameError(f"no camera {name!r} in the simulated world")
        self.names = tuple(names)
        max_w, max_h = model.vis.global_.offwidth, model.vis.global_.offheight
        if not (0 < width <= max_w and 0 < height <= max_h):
            raise ValueError(f"image size {width}x{height} is outside 1x1..{max_w}x{max_h} for this model")
        # Multisampling is fixed when the GL context is made: off for this renderer only.
        samples = model.vis.quality.offsamples
        model.vis.quality.offsamples = 0
        try:
            self._renderer = mujoco.Renderer(model, height, width)
        finally:
            model.vis.quality.offsamples = samples
        for flag in DISABLED_FLAGS:
            self._renderer.scene.flags[flag] = 0
        self.width, self.height = width, height

    def render(self, name: str) -> np.ndarray:
        """(height, width, 3) uint8 RGB of camera ``name`` now."""
        self._renderer.update_scene(self._data, camera=name)
        for flag in DISABLED_FLAGS:
            self._renderer.scene.flags[flag] = 0
        return self._renderer.render().copy()

    def render_all(self) -> dict[str, np.ndarray]:
        """Every camera of the rig: name → (height, width, 3) uint8."""
        return {name: self.render(name) for name in self.names}

    def close(self) -> None:
        self._renderer.close()
