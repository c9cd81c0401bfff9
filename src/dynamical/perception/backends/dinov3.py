"""DINOv3: dense features → an object's embedding, for re-identification and open-set matching.

An object's embedding is the mean of the patch tokens under its mask (the patch grid's cells the
mask covers at least half), L2-normalised: the same object seen again, from another camera or
after the hand let go of it, lands near its earlier embedding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynamical.perception.backends.images import IMAGENET_MEAN, IMAGENET_STD, image_tensor, side_of
from dynamical.perception.backends.loading import load_pretrained, torch_dtype
from dynamical.perception.config import ModelConfig


class Dinov3Backend:
    key = "dinov3"

    def __init__(self, model: Any, config: ModelConfig) -> None:
        self.model, self.config = model, config
        c = model.config
        self.image_size, self.patch = side_of(c.image_size), side_of(c.patch_size)
        self.prefix_tokens = 1 + int(getattr(c, "num_register_tokens", 0))
        self.dim = int(c.hidden_size)

    @classmethod
    def load(cls, config: ModelConfig) -> Dinov3Backend:
        from transformers import AutoModel

        return cls(load_pretrained(AutoModel, cls.key, config), config)

    def features(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 → (g, g, d) float32 patch features (g = image_size / patch)."""
        import torch

        x = image_tensor(
            rgb, self.image_size, IMAGENET_MEAN, IMAGENET_STD, self.config.device, torch_dtype(self.config.dtype)
        )
        with torch.inference_mode():
            tokens = self.model(pixel_values=x).last_hidden_state[0, self.prefix_tokens :]
        g = self.image_size // self.patch
        return tokens.float().cpu().numpy().reshape(g, g, -1)

    def embed(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """(d,) unit vector: the mean patch feature under ``mask`` ((h, w) bool; all if None)."""
        feats = self.features(rgb)
        g = feats.shape[0]
        if mask is None or not mask.any():
            weights = np.ones((g, g))
        else:
            h, w = mask.shape
            rows = (np.arange(g)[:, None] * h // g, (np.arange(g)[:, None] + 1) * h // g)
            cols = (np.arange(g) * w // g, (np.arange(g) + 1) * w // g)
            cover = np.array(
                [
                    [mask[rows[0][i, 0] : rows[1][i, 0], cols[0][j] : cols[1][j]].mean() for j in range(g)]
                    for i in range(g)
                ]
            )
            weights = cover >= 0.5 if (cover >= 0.5).any() else cover
        v = (feats * weights[..., None]).sum(axis=(0, 1)) / max(float(weights.sum()), 1e-9)
        return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def best_match(embedding: np.ndarray, gallery: dict[str, np.ndarray]) -> tuple[str | None, float]:
    """The gallery entry of highest cosine similarity to ``embedding`` (d,), and that similarity."""
    if not gallery:
        return None, 0.0
    names = list(gallery)
    sims = np.array([float(embedding @ gallery[n]) for n in names])
    k = int(np.argmax(sims))
    return names[k], float(sims[k])
