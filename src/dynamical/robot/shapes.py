"""The shape of a free object in a world, from its collision geoms: what a hand has to close around.

A grasp planner needs an object's size and whether it is round, not its name. ``ObjectShape`` is
computed once from the compiled model (the geoms of the object's body, in the body's frame), so
the simulator's world model and the two-process robot's channel world model describe an object
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from dynamical.robot.errors import UnknownNameError

ROUND_TOLERANCE = 0.06
"""Largest relative spread of an object's width across its vertical axis (over every heading) for
it to count as round: a regular 12-sided cup wall spreads 3.5 %, a square box 41 %."""
_HEADINGS = np.linspace(0.0, np.pi, 36, endpoint=False)
_RING = 32
"""Points on each circle of a round geom: the sampled width is within 0.5 % of the true one."""


@dataclass(frozen=True)
class ObjectShape:
    """An object's extent in its own body frame (z up when it stands upright)."""

    center: np.ndarray
    """(3,) m: the centre of its bounding box, in its body frame."""
    half: np.ndarray
    """(3,) m: half sizes of its bounding box along the body axes."""
    widths: np.ndarray
    """(36,) m: its width across, horizontally in its body frame, at headings 0, 5°, … 175°
    (the distance between two parallel vertical planes squeezing it)."""

    @property
    def height(self) -> float:
        """m, from its lowest point to its highest, along its body z."""
        return float(2.0 * self.half[2])

    @property
    def round(self) -> bool:
        """Whether it looks the same from every side around its vertical axis (a cup, a can)."""
        return bool(np.ptp(self.widths) <= ROUND_TOLERANCE * np.max(self.widths))

    @property
    def narrowest(self) -> tuple[float, float]:
        """(width m, heading rad in the body frame) of its narrowest horizontal width."""
        k = int(np.argmin(self.widths))
        return float(self.widths[k]), float(_HEADINGS[k])

    def width_at(self, heading: float) -> float:
        """m across at ``heading`` rad in the body frame (the nearest sampled heading)."""
        k = int(np.round((heading % np.pi) / (np.pi / len(self.widths)))) % len(self.widths)
        return float(self.widths[k])

    @property
    def widest(self) -> float:
        """m, its widest horizontal width."""
        return float(np.max(self.widths))


def object_shape(model: mujoco.MjModel, body: str) -> ObjectShape:
    """The shape of ``body`` from its geoms (boxes, cylinders, spheres, capsules, ellipsoids;
    a mesh or other geom counts as its bounding box)."""
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    if bid < 0:
        raise UnknownNameError(f"no body named {body!r} in the compiled world")
    geoms = np.flatnonzero(model.geom_bodyid == bid)
    if len(geoms) == 0:
        raise UnknownNameError(f"body {body!r} has no geoms: it has no shape")
    points = np.vstack([_geom_points(model, int(g)) for g in geoms])  # (k, 3) in the body frame
    low, high = points.min(axis=0), points.max(axis=0)
    directions = np.column_stack([np.cos(_HEADINGS), np.sin(_HEADINGS)])  # (36, 2)
    along = points[:, :2] @ directions.T  # (k, 36)
    widths = along.max(axis=0) - along.min(axis=0)
    return ObjectShape(center=(low + high) / 2.0, half=(high - low) / 2.0, widths=widths)


def object_shapes(model: mujoco.MjModel, bodies: tuple[str, ...] | list[str]) -> dict[str, ObjectShape]:
    """``object_shape`` of each body, by name."""
    return {name: object_shape(model, name) for name in bodies}


def _geom_points(model: mujoco.MjModel, gid: int) -> np.ndarray:
    """(k, 3) points whose convex hull is the geom (exact for boxes, to 0.5 % for round geoms),
    in its body's frame."""
    size = model.geom_size[gid]
    kind = int(model.geom_type[gid])
    angles = np.linspace(0.0, 2.0 * np.pi, _RING, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles), np.zeros(_RING)])
    if kind == int(mujoco.mjtGeom.mjGEOM_CYLINDER):
        local = np.vstack([ring * size[0] + [0, 0, z] for z in (-size[1], size[1])])
    elif kind == int(mujoco.mjtGeom.mjGEOM_CAPSULE):
        local = np.vstack([ring * size[0] + [0, 0, z] for z in (-size[1], size[1])])
        local = np.vstack([local, [[0, 0, size[1] + size[0]], [0, 0, -size[1] - size[0]]]])
    elif kind in (int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_ELLIPSOID)):
        radii = np.full(3, size[0]) if kind == int(mujoco.mjtGeom.mjGEOM_SPHERE) else size
        local = np.vstack([ring, ring[:, [0, 2, 1]], ring[:, [2, 0, 1]]]) * radii
    else:
        half = size if kind == int(mujoco.mjtGeom.mjGEOM_BOX) else model.geom_aabb[gid, 3:]
        offset = np.zeros(3) if kind == int(mujoco.mjtGeom.mjGEOM_BOX) else model.geom_aabb[gid, :3]
        corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
        local = corners * half + offset
    rot = np.zeros(9)
    mujoco.mju_quat2Mat(rot, model.geom_quat[gid])
    return local @ rot.reshape(3, 3).T + model.geom_pos[gid]
