"""Fit an upright object's pose and size to its back-projected points.

The top face is what every camera above the table sees whole: the points within
``TOP_BAND_M`` of the highest one. A box's top face gives its centre, yaw and size through the
minimum-area rectangle around it (rotating calipers on the convex hull); a round object's rim
gives its centre and radius through a least-squares circle (Kåsa's fit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

TOP_BAND_M = 0.004
"""Points this close below the highest one belong to the top face (a 5 cm cube's top face at
0.7 m spans 24 px; the next horizontal surface of the cup, its base, is 86 mm lower)."""


@dataclass(frozen=True)
class TopFace:
    """What the top face of a set of points tells."""

    z_top: float
    """m, world frame."""
    center_xy: np.ndarray
    """(2,) m."""
    extent: np.ndarray
    """(2,) m: the sides of the rectangle around it (long first), or the circle's diameter twice."""
    yaw: float
    """rad, direction of the rectangle's first side; 0 for a circle."""
    coverage: float
    """0..1: how much of the face the points cover (rectangle fill, or the rim's angular span)."""
    n_points: int


def top_points(points: np.ndarray) -> np.ndarray:
    """(k, 3) → (m, 3): the points of the top face."""
    z_top = float(points[:, 2].max())
    return points[points[:, 2] >= z_top - TOP_BAND_M]


def fit_rectangle(points: np.ndarray, pixel: float) -> TopFace | None:
    """The minimum-area rectangle around ``points`` (k, 3) top-face points; ``pixel`` m is their
    sampling step (the hull runs through pixel centres, half a pixel inside each edge)."""
    xy = points[:, :2]
    try:
        hull = xy[ConvexHull(xy).vertices]
    except (QhullError, ValueError):
        return None
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    for a in angles:
        rot = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])  # world → rectangle axes
        local = hull @ rot.T
        low, high = local.min(axis=0), local.max(axis=0)
        area = float(np.prod(high - low))
        if best is None or area < best[0]:
            best = (area, float(a), low, high)
    assert best is not None
    _, a, low, high = best
    mid = (low + high) / 2.0
    center = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ mid
    extent = (high - low) + pixel
    if extent[1] > extent[0]:
        extent, a = extent[::-1], a + np.pi / 2
    filled = len(points) * pixel**2 / max(float(np.prod(extent)), 1e-9)
    return TopFace(
        z_top=float(points[:, 2].max()),
        center_xy=center,
        extent=extent,
        yaw=float(_wrap(a, np.pi)),
        coverage=float(min(filled, 1.0)),
        n_points=len(points),
    )


def fit_circle(points: np.ndarray, pixel: float) -> TopFace | None:
    """The least-squares circle through ``points`` (k, 3) on a rim (Kåsa's algebraic fit)."""
    if len(points) < 3:
        return None
    x, y = points[:, 0], points[:, 1]
    a = np.column_stack([x, y, np.ones_like(x)])
    b = x**2 + y**2
    try:
        (cx2, cy2, c), *_ = np.linalg.lstsq(a, b, rcond=None)
    except np.linalg.LinAlgError:
        return None
    center = np.array([cx2 / 2.0, cy2 / 2.0])
    r2 = c + center @ center
    if not np.isfinite(r2) or r2 <= 0:
        return None
    radius = float(np.sqrt(r2)) + pixel / 2.0
    bearings = np.arctan2(y - center[1], x - center[0])
    covered = np.unique(np.floor((bearings + np.pi) / (np.pi / 6)).astype(int) % 12)
    return TopFace(
        z_top=float(points[:, 2].max()),
        center_xy=center,
        extent=np.array([2 * radius, 2 * radius]),
        yaw=0.0,
        coverage=len(covered) / 12.0,
        n_points=len(points),
    )


def _wrap(angle: float, period: float) -> float:
    """``angle`` into (−period/2, period/2]."""
    return float(-((-angle + period / 2) % period - period / 2))


def wrap_yaw(angle: float, period: float) -> float:
    return _wrap(angle, period)
