"""Record what a camera of the lock-step simulation sees into an MP4 file."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio

from dynamical.runtime.lockstep import LockstepRuntime


class CameraRecorder:
    """A runner watcher that renders ``camera`` every 1/``fps`` s of simulated time."""

    def __init__(
        self, runtime: LockstepRuntime, path: Path, camera: str = "head", fps: float = 10.0, size=(320, 240)
    ) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.runtime, self.camera, self.period, self.size = runtime, camera, 1.0 / fps, size
        runtime.read_camera(camera, *size)  # an unknown camera fails now, not mid-task
        self._writer = imageio.get_writer(str(path), fps=fps, codec="libx264", macro_block_size=8)
        self._next = 0.0
        self.frames = 0

    def __call__(self, t: float) -> None:
        if t + 1e-9 < self._next:
            return
        self._writer.append_data(self.runtime.read_camera(self.camera, *self.size).rgb)
        self.frames += 1
        self._next = t + self.period

    def close(self) -> None:
        self._writer.close()
