"""Image segmenters: an RGB-D frame → labelled pixel masks.

``Segmenter`` is the interface a learned segmenter (SAM 3 through ``backends.sam3``) plugs into;
``ColourSegmenter`` is the cheap tier that runs on every frame: HSV thresholds around the known
objects' hues, then 8-connected components (scipy), each component one segment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import ndimage

from dynamical.perception.camera import RgbdFrame

_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Segment:
    label: str
    """What the segmenter calls it: a colour class (``hue:0.00``) or a text prompt."""
    mask: np.ndarray
    """(h, w) bool."""
    score: float = 1.0
    """The segmenter's confidence, 0..1."""


class Segmenter(Protocol):
    def segment(self, frame: RgbdFrame) -> list[Segment]: ...


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB → (h, w, 3) float32 HSV, every channel 0..1."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    v = x.max(axis=-1)
    c = v - x.min(axis=-1)
    s = np.where(v > 0, c / np.maximum(v, 1e-6), 0.0)
    safe = np.maximum(c, 1e-6)
    h = np.where(v == r, ((g - b) / safe) % 6.0, np.where(v == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0))
    h = np.where(c > 0, h / 6.0, 0.0)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


def hue_label(hue: float) -> str:
    return f"hue:{hue:.2f}"


_LEVELS = 64
"""Colour lookup resolution per channel: 4 RGB codes a cell, finer than any threshold here."""


class ColourSegmenter:
    """Pixels within ``hue_tolerance`` of one of ``hues`` (0..1) and saturated and bright enough.

    The default thresholds pass a cube's shaded sides (value ≥ 0.12) and keep out the wooden
    table (hue 0.08, saturation 0.48) and the mannequin's skin (saturation 0.35). The thresholds
    are baked into a 64³ lookup table once, so a frame costs one table lookup a pixel and one
    connected-component pass, not an HSV conversion."""

    def __init__(
        self,
        hues: Iterable[float],
        hue_tolerance: float = 0.035,
        min_saturation: float = 0.55,
        min_value: float = 0.12,
        min_pixels: int = 4,
    ) -> None:
        self.hues = sorted({round(h, 2) for h in hues})
        if len(self.hues) > 254:
            raise ValueError("at most 254 colour classes")
        self.min_pixels = min_pixels
        codes = (np.arange(_LEVELS) * (256 // _LEVELS) + (256 // _LEVELS) // 2).astype(np.uint8)
        grid = np.stack(np.meshgrid(codes, codes, codes, indexing="ij"), axis=-1).reshape(-1, 1, 3)
        hsv = rgb_to_hsv(grid)[:, 0, :]
        vivid = (hsv[:, 1] >= min_saturation) & (hsv[:, 2] >= min_value)
        self._lut = np.zeros(len(grid), dtype=np.uint8)  # 0: no class; k + 1: hues[k]
        for k, hue in enumerate(self.hues):
            distance = np.abs(hsv[:, 0] - hue)
            distance = np.minimum(distance, 1.0 - distance)  # hue is an angle
            self._lut[vivid & (distance <= hue_tolerance) & (self._lut == 0)] = k + 1

    def classes(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w, 3) uint8 → (h, w) uint8: 0 for no class, k + 1 for ``hues[k]``."""
        q = (rgb >> 2).astype(np.int32)
        return self._lut[(q[..., 0] << 12) | (q[..., 1] << 6) | q[..., 2]]

    def segment(self, frame: RgbdFrame) -> list[Segment]:
        classes = self.classes(frame.rgb)
        classes[~(frame.depth > 0)] = 0
        # One labelling pass over every coloured pixel; a component touching two colours is split.
        labels, _ = ndimage.label(classes > 0, structure=_EIGHT)
        segments: list[Segment] = []
        for i, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None:
                continue
            part = labels[box] == i
            if int(part.sum()) < self.min_pixels:
                continue
            kinds = np.unique(classes[box][part])
            for k in kinds:
                own = part & (classes[box] == k)
                if len(kinds) > 1:
                    own = ndimage.binary_opening(own, structure=_EIGHT) | own  # keep it whole
                if int(own.sum()) < self.min_pixels:
                    continue
                mask = np.zeros(labels.shape, dtype=bool)
                mask[box] = own
                segments.append(Segment(label=hue_label(self.hues[int(k) - 1]), mask=mask))
        return segments
