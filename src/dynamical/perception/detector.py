"""One camera's object detections: segments → world points → a catalog object and its pose.

An object is named by its colour (which segments it) and its 3D size (which tells the red cube,
5 cm, from the red cup, 8.2 cm across and 9.4 cm tall). A segment no catalog object of its colour
fits is reported unnamed: seen, but not guessed to be anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dynamical.perception.camera import RgbdFrame
from dynamical.perception.catalog import KnownObject, ObjectCatalog
from dynamical.perception.pose_fit import TopFace, fit_circle, fit_rectangle, top_points, wrap_yaw
from dynamical.perception.segmenter import ColourSegmenter, Segment, Segmenter, hue_label

MERGE_DISTANCE_M = 0.04
"""Two components of one colour whose points come this close are one object split by an
occluder (a finger across a cube); objects of one colour stand ≥ 12 cm apart in our worlds."""
MAX_SIZE_MISMATCH = 0.35
"""Largest relative difference between the measured and the catalog size for a match."""


@dataclass(frozen=True)
class Detection:
    """One object seen by one camera, in the world frame."""

    camera: str
    t: float
    label: str
    name: str | None
    """The catalog object, or None when nothing in the catalog fits."""
    pos: np.ndarray
    """(3,) m: the body origin (as the catalog shape defines it) in the world frame."""
    yaw: float
    """rad about world z; for a square top face in (−π/4, π/4], for a round object 0."""
    yaw_period: float
    """rad: the yaw is known modulo this (π/2 for a square, 2π when it is unobservable)."""
    size: np.ndarray
    """(3,) m: measured extent (x, y along the yaw, z the height above its support)."""
    confidence: float
    sigma: float
    """m: one pixel's footprint at the object (the measurement's resolution)."""
    mask: np.ndarray = field(repr=False)
    """(h, w) bool: the pixels it was found in."""


class ObjectDetector:
    def __init__(self, catalog: ObjectCatalog, segmenter: Segmenter | None = None) -> None:
        self.catalog = catalog
        self.segmenter = segmenter or ColourSegmenter([o.hue for o in catalog.objects])
        self._by_label: dict[str, list[KnownObject]] = {}
        for obj in catalog.objects:
            self._by_label.setdefault(hue_label(round(obj.hue, 2)), []).append(obj)

    def detect(self, frame: RgbdFrame) -> list[Detection]:
        groups = self._merge(frame, self.segmenter.segment(frame))
        detections = [d for label, mask, pts in groups if (d := self._fit(frame, label, mask, pts)) is not None]
        return _one_per_name(detections)

    def _merge(self, frame: RgbdFrame, segments: list[Segment]) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Join segments of one label whose world points touch: [(label, mask, points (k, 3))]."""
        items = [(s.label, s.mask, frame.points_world(s.mask)) for s in segments]
        items = [it for it in items if len(it[2]) >= 3]
        merged: list[tuple[str, np.ndarray, np.ndarray]] = []
        for label, mask, pts in items:
            for i, (other_label, other_mask, other_pts) in enumerate(merged):
                if other_label == label and _gap(pts, other_pts) <= MERGE_DISTANCE_M:
                    merged[i] = (label, other_mask | mask, np.vstack([other_pts, pts]))
                    break
            else:
                merged.append((label, mask, pts))
        return merged

    def _fit(self, frame: RgbdFrame, label: str, mask: np.ndarray, points: np.ndarray) -> Detection | None:
        top = top_points(points)
        depth = float(np.median(frame.depth[mask]))
        pixel = frame.pixel_size(depth)
        support = self.catalog.support_height(top[:, :2].mean(axis=0), below=float(top[:, 2].max()) - 0.01)
        height = float(top[:, 2].max()) - support
        best: tuple[float, KnownObject, TopFace] | None = None
        for known in self._by_label.get(label, []):
            face = fit_circle(top, pixel) if known.shape.round else fit_rectangle(top, pixel)
            if face is None:
                continue
            mismatch = abs(float(face.extent[0]) - known.footprint) / known.footprint
            resting = abs(height - known.shape.height) / known.shape.height
            # A lifted object has no support under it to measure a height from: its top face decides.
            score = mismatch + (resting if resting < MAX_SIZE_MISMATCH else 0.0)
            if mismatch <= MAX_SIZE_MISMATCH and (best is None or score < best[0]):
                best = (score, known, face)
        if best is None:
            face = fit_rectangle(top, pixel)
            if face is None:
                return None
            center = np.array([*face.center_xy, (face.z_top + support) / 2.0])
            return Detection(
                camera=frame.camera,
                t=frame.t,
                label=label,
                name=None,
                pos=center,
                yaw=face.yaw,
                yaw_period=np.pi,
                size=np.array([*face.extent, height]),
                confidence=0.0,
                sigma=pixel,
                mask=mask,
            )
        score, known, face = best
        shape = known.shape
        period = 2 * np.pi if shape.round else (np.pi / 2 if np.isclose(shape.half[0], shape.half[1]) else np.pi)
        yaw = 0.0 if shape.round else wrap_yaw(face.yaw, period)
        c, s = np.cos(yaw), np.sin(yaw)
        offset_xy = np.array([[c, -s], [s, c]]) @ shape.center[:2]
        pos = np.array([*(face.center_xy - offset_xy), face.z_top - shape.center[2] - shape.half[2]])
        confidence = float(np.clip(face.coverage * (1.0 - score), 0.0, 1.0))
        return Detection(
            camera=frame.camera,
            t=frame.t,
            label=label,
            name=known.name,
            pos=pos,
            yaw=yaw,
            yaw_period=period,
            size=np.array([*face.extent, height]),
            confidence=confidence,
            sigma=pixel,
            mask=mask,
        )


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """m between the closest points of two clouds (k, 3), (m, 3) (subsampled to stay cheap)."""
    box_gap = np.maximum(0.0, np.maximum(a.min(0) - b.max(0), b.min(0) - a.max(0)))
    if float(np.linalg.norm(box_gap)) > MERGE_DISTANCE_M:
        return float(np.linalg.norm(box_gap))  # their bounding boxes are already too far apart
    a, b = a[:: max(1, len(a) // 200)], b[:: max(1, len(b) // 200)]
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def _one_per_name(detections: list[Detection]) -> list[Detection]:
    """Each catalog object once: where two segments claim it, the more confident one."""
    named: dict[str, Detection] = {}
    unnamed = []
    for d in detections:
        if d.name is None:
            unnamed.append(d)
        elif d.name not in named or d.confidence > named[d.name].confidence:
            named[d.name] = d
    return [*named.values(), *unnamed]
