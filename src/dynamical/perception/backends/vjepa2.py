"""V-JEPA 2: clip embeddings → an asynchronous collision-risk assessor.

The assessor keeps the last ``frames_per_clip`` frames of a camera, embeds the clip, and compares
it with the clips it has seen while nothing went wrong (a running mean of their embeddings). A
clip far from that (cosine distance above ``slow_at`` / ``stop_at``) is an unfamiliar scene:
it asks for a lower speed scale. Its output can only make the safety kernel stricter — a speed
scale ≤ 1 — never command motion; an assessment that comes too late is dropped, not applied.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynamical.perception.backends.images import IMAGENET_MEAN, IMAGENET_STD, image_tensor, side_of
from dynamical.perception.backends.loading import load_pretrained, torch_dtype
from dynamical.perception.config import ModelConfig


class Vjepa2Backend:
    key = "vjepa2"

    def __init__(self, model: Any, config: ModelConfig) -> None:
        self.model, self.config = model, config
        c = model.config
        self.frames = int(c.frames_per_clip)
        self.size = side_of(c.crop_size)
        self.dim = int(c.hidden_size)

    @classmethod
    def load(cls, config: ModelConfig) -> Vjepa2Backend:
        from transformers import VJEPA2Model

        return cls(load_pretrained(VJEPA2Model, cls.key, config), config)

    def embed_clip(self, frames: list[np.ndarray]) -> np.ndarray:
        """``frames_per_clip`` (h, w, 3) uint8 frames → (d,) unit vector (mean of the tokens)."""
        import torch

        if len(frames) != self.frames:
            raise ValueError(f"V-JEPA 2 takes clips of {self.frames} frames, got {len(frames)}")
        dtype = torch_dtype(self.config.dtype)
        clip = torch.cat(
            [image_tensor(f, self.size, IMAGENET_MEAN, IMAGENET_STD, self.config.device, dtype) for f in frames]
        )[None]  # (1, T, 3, s, s)
        with torch.inference_mode():
            tokens = self.model(pixel_values_videos=clip, skip_predictor=True).last_hidden_state[0]
        v = tokens.float().mean(dim=0).cpu().numpy()
        return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class RiskAssessment:
    t: float
    """s, robot clock of the clip's last frame."""
    novelty: float
    """Cosine distance of the clip from the familiar ones, 0..2."""
    speed_scale: float
    """What the assessor asks the kernel for: 1 (no change), a slow-down, or 0 (stop)."""


class CollisionRiskAssessor:
    def __init__(self, backend: Vjepa2Backend, slow_at: float = 0.2, stop_at: float = 0.4, slow_scale: float = 0.3):
        if not 0 < slow_at < stop_at:
            raise ValueError("need 0 < slow_at < stop_at")
        self.backend = backend
        self.slow_at, self.stop_at, self.slow_scale = slow_at, stop_at, slow_scale
        self._frames: deque[np.ndarray] = deque(maxlen=backend.frames)
        self._familiar: np.ndarray | None = None
        self._count = 0

    def add_frame(self, rgb: np.ndarray) -> bool:
        """Keep a frame; True once a whole clip is ready to assess."""
        self._frames.append(rgb)
        return len(self._frames) == self._frames.maxlen

    def assess(self, t: float) -> RiskAssessment:
        v = self.backend.embed_clip(list(self._frames))
        novelty = 0.0 if self._familiar is None else float(1.0 - v @ self._familiar / np.linalg.norm(self._familiar))
        if novelty >= self.stop_at:
            scale = 0.0
        elif novelty >= self.slow_at:
            scale = self.slow_scale
        else:
            scale = 1.0
            # Only clips judged safe teach it what is familiar.
            self._count += 1
            self._familiar = v if self._familiar is None else self._familiar + (v - self._familiar) / self._count
        return RiskAssessment(t=t, novelty=novelty, speed_scale=scale)
