"""What the robot knows before it looks: the objects it may find (colour, shape) and the
furniture (static boxes) they rest on.

A real deployment writes this from its object models; in simulation it is read from the compiled
world (each free object's geom colour and ``ObjectShape``), which is the same information a CAD
catalog holds — never the objects' poses.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable
from dataclasses import dataclass

import mujoco
import numpy as np

from dynamical.robot.shapes import ObjectShape, object_shape


@dataclass(frozen=True)
class KnownObject:
    """One object the robot may see."""

    name: str
    rgb: tuple[float, float, float]
    """Its surface colour, 0..1."""
    shape: ObjectShape

    @property
    def hue(self) -> float:
        """0..1 (HSV hue)."""
        return colorsys.rgb_to_hsv(*self.rgb)[0]

    @property
    def footprint(self) -> float:
        """m, the larger of its two horizontal bounding extents."""
        return float(2.0 * max(self.shape.half[0], self.shape.half[1]))


@dataclass(frozen=True)
class StaticBox:
    """A piece of furniture: an axis-aligned box in the world frame (m)."""

    name: str
    center: np.ndarray
    """(3,) m."""
    half: np.ndarray
    """(3,) m."""

    @property
    def top(self) -> float:
        return float(self.center[2] + self.half[2])

    def contains(self, points: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """(k,) bool: which of ``points`` (k, 3) lie inside the box grown by ``margin`` m."""
        return np.all(np.abs(points - self.center) <= self.half + margin, axis=-1)


@dataclass(frozen=True)
class ObjectCatalog:
    objects: tuple[KnownObject, ...]
    furniture: tuple[StaticBox, ...]
    """Every static box geom of the world (tables, shelves, their legs)."""

    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objects)

    def get(self, name: str) -> KnownObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(name)

    def support_height(self, xy: np.ndarray, below: float) -> float:
        """m: the top of the highest furniture box under ``xy`` (2,) whose top is at or below
        ``below`` m (the floor, 0, when none)."""
        tops = [
            b.top for b in self.furniture if b.top <= below + 1e-3 and np.all(np.abs(xy - b.center[:2]) <= b.half[:2])
        ]
        return max(tops, default=0.0)

    @classmethod
    def from_sim(cls, model: mujoco.MjModel, data: mujoco.MjData, objects: Iterable[str]) -> ObjectCatalog:
        """The catalog of a compiled world: the free ``objects`` (body names) and its static
        (world-body) boxes."""
        known = []
        for name in objects:
            bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
            geoms = np.flatnonzero(model.geom_bodyid == bid)
            # The colour of the geom with the largest area stands for the object.
            sizes = [float(np.prod(model.geom_size[g][:2])) for g in geoms]
            rgba = model.geom_rgba[geoms[int(np.argmax(sizes))]]
            known.append(KnownObject(name=name, rgb=tuple(float(c) for c in rgba[:3]), shape=object_shape(model, name)))
        furniture = []
        # A subtree with a joint (the robot, an object) or a mocap body (the mannequin) moves.
        moving_roots = {int(model.body_rootid[model.jnt_bodyid[j]]) for j in range(model.njnt)}
        moving_roots |= {int(model.body_rootid[b]) for b in range(model.nbody) if model.body_mocapid[b] >= 0}
        for g in range(model.ngeom):
            body = int(model.geom_bodyid[g])
            if (
                int(model.geom_type[g]) != int(mujoco.mjtGeom.mjGEOM_BOX)
                or int(model.body_rootid[body]) in moving_roots
            ):
                continue
            rot = data.geom_xmat[g].reshape(3, 3)
            half = np.abs(rot) @ model.geom_size[g]  # the world-aligned box around it
            furniture.append(
                StaticBox(name=model.geom(g).name or f"geom{g}", center=data.geom_xpos[g].copy(), half=half)
            )
        return cls(objects=tuple(known), furniture=tuple(furniture))
