"""One episode's frames, sampled from the control loop at the dataset's rate, and its spool on disk.

An ``EpisodeBuffer`` is a control-tick watcher (``SkillRunner.watchers``): the control tier runs at
200 Hz and the buffer keeps the first tick at or after each frame time k / fps. A frame holds what
the executive knew at that tick: the measured joint state, the world model's object poses, the
joint targets it sent (the ``action``, before the safety kernel) and, with a camera rig, images.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dynamical.learning import protocol
from dynamical.learning.features import FeatureLayout
from dynamical.robot.camera_rig import CameraRig
from dynamical.runtime.channels.state import StateSample
from dynamical.skills.world_model import WorldModel

TICK_TOLERANCE_S = 1e-6
"""s: a control tick this close before a frame time counts as on it (float sums of 5 ms)."""


class EpisodeBuffer:
    """Frames of one episode; call it with the control tick's time (s)."""

    def __init__(
        self,
        layout: FeatureLayout,
        fps: int,
        world: WorldModel,
        state: Callable[[], StateSample | None],
        target: Callable[[], np.ndarray | None],
        cameras: CameraRig | None = None,
        max_frames: int | None = None,
    ) -> None:
        """``state``: the latest measured joint state; ``target``: the (N,) joint targets the
        executive sent last (None before its first). ``max_frames``: stop keeping frames past it
        (an API recording left on must not fill the memory)."""
        self.layout = layout
        self.fps = fps
        self.world = world
        self._state, self._target = state, target
        self.cameras = cameras
        self.max_frames = max_frames
        self._t0: float | None = None
        self.states: list[np.ndarray] = []
        self.environment: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.images: dict[str, list[np.ndarray]] = {name: [] for name in (cameras.names if cameras else ())}
        self.render_s = 0.0
        """s of wall-clock time spent rendering (for the recording's figures)."""
        self.truncated = False

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def duration_s(self) -> float:
        return len(self) / self.fps

    def __call__(self, t: float) -> None:
        if self._t0 is None:
            self._t0 = t
        if t + TICK_TOLERANCE_S < self._t0 + len(self) / self.fps:
            return
        if self.max_frames is not None and len(self) >= self.max_frames:
            self.truncated = True
            return
        sample = self._state()
        if sample is None:
            return
        target = self._target()
        self.states.append(self.layout.state_from_sample(sample))
        self.environment.append(self.layout.environment_state(self.world))
        self.actions.append(self.layout.action(sample.q if target is None else target))
        if self.cameras is not None:
            start = time.perf_counter()
            for name, image in self.cameras.render_all().items():
                self.images[name].append(image)
            self.render_s += time.perf_counter() - start

    def arrays(self) -> dict[str, np.ndarray]:
        """Feature name → array with time first: state (T, 2n), environment (T, 7k), action (T, n)
        float32, images (T, H, W, 3) uint8."""
        out = {
            protocol.STATE: np.asarray(self.states, dtype=np.float32).reshape(len(self), self.layout.state_size),
            protocol.ENVIRONMENT_STATE: np.asarray(self.environment, dtype=np.float32).reshape(
                len(self), self.layout.environment_size
            ),
            protocol.ACTION: np.asarray(self.actions, dtype=np.float32).reshape(len(self), self.layout.n_joints),
        }
        for name, frames in self.images.items():
            out[protocol.IMAGE_PREFIX + name] = np.asarray(frames, dtype=np.uint8)
        return out

    def write_spool(self, directory: Path, task: str, success: bool, meta: dict[str, Any]) -> protocol.EpisodeCommand:
        """Write the frames to ``directory`` (created) and return the writer's command for them."""
        directory.mkdir(parents=True, exist_ok=False)
        np.savez(directory / protocol.SPOOL_ARRAYS, **self.arrays())
        command: protocol.EpisodeCommand = {
            "command": "episode",
            "spool": str(directory.resolve()),
            "task": task,
            "frames": len(self),
            "success": success,
            "meta": meta,
        }
        (directory / protocol.SPOOL_EPISODE).write_text(json.dumps(command))
        return command
