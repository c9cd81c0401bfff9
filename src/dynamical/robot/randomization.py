"""Domain randomization of a simulated world, for recording demonstrations a policy generalizes from.

Each kind is off unless asked for; what an episode drew is returned (and recorded beside the data).
Ranges, drawn uniformly and independently per object, light or camera:

- ``friction``: every free object's sliding friction × U[0.7, 1.3].
- ``mass``: every free object's mass (and inertia, so the density scales) × U[0.8, 1.2].
- ``lighting``: every light's diffuse colour × U[0.6, 1.4] (clipped to 1), position ± 0.3 m per axis.
- ``camera``: every named camera's position ± 2 cm per axis and orientation by a rotation of up to
  3° about a random axis (in its parent body's frame: a head camera stays on the head).

A world is randomized once, after it is built and before the episode's first step; a new episode
builds a new world, so draws never accumulate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import mujoco
import numpy as np
from pydantic import BaseModel, ConfigDict

RandomizationKind = Literal["friction", "mass", "lighting", "camera"]
KINDS: tuple[str, ...] = ("friction", "mass", "lighting", "camera")
FRICTION_SCALE = (0.7, 1.3)
MASS_SCALE = (0.8, 1.2)
LIGHT_DIFFUSE_SCALE = (0.6, 1.4)
LIGHT_SHIFT_M = 0.3
CAMERA_SHIFT_M = 0.02
CAMERA_TILT_RAD = np.deg2rad(3.0)


class DomainRandomization(BaseModel):
    """Which kinds of randomization are on (all off by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    friction: bool = False
    mass: bool = False
    lighting: bool = False
    camera: bool = False

    @classmethod
    def of(cls, kinds: Iterable[str]) -> DomainRandomization:
        """From kind names (``["friction", "camera"]``); raises ValueError for an unknown one."""
        chosen = list(kinds)
        unknown = [k for k in chosen if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown randomization {unknown}; choose from {list(KINDS)}")
        return cls(**dict.fromkeys(chosen, True))

    @property
    def enabled(self) -> list[str]:
        return [k for k in KINDS if getattr(self, k)]

    def apply(
        self, model: mujoco.MjModel, objects: Sequence[str], cameras: Sequence[str], rng: np.random.Generator
    ) -> dict[str, Any]:
        """Perturb ``model`` in place: ``objects`` are the free objects' body names, ``cameras``
        the cameras to move. Returns what was drawn, JSON-able ({kind: {name: values}})."""
        drawn: dict[str, Any] = {}
        if self.friction:
            drawn["friction"] = {}
            for name in objects:
                scale = float(rng.uniform(*FRICTION_SCALE))
                for geom in _body_geoms(model, name):
                    model.geom_friction[geom, 0] *= scale
                drawn["friction"][name] = round(scale, 4)
        if self.mass:
            drawn["mass"] = {}
            for name in objects:
                body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
                scale = float(rng.uniform(*MASS_SCALE))
                model.body_mass[body] *= scale
                model.body_inertia[body] *= scale
                drawn["mass"][name] = round(scale, 4)
        if self.lighting:
            drawn["lighting"] = {}
            for light in range(model.nlight):
                scale = float(rng.uniform(*LIGHT_DIFFUSE_SCALE))
                shift = rng.uniform(-LIGHT_SHIFT_M, LIGHT_SHIFT_M, 3)
                model.light_diffuse[light] = np.clip(model.light_diffuse[light] * scale, 0.0, 1.0)
                model.light_pos[light] += shift
                name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_LIGHT, light) or f"light{light}"
                drawn["lighting"][name] = {"diffuse_scale": round(scale, 4), "shift_m": _rounded(shift)}
        if self.camera:
            drawn["camera"] = {}
            for name in cameras:
                cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name)
                if cam < 0:
                    raise ValueError(f"no camera {name!r} to randomize")
                shift = rng.uniform(-CAMERA_SHIFT_M, CAMERA_SHIFT_M, 3)
                axis = rng.normal(size=3)
                axis /= np.linalg.norm(axis)
                angle = float(rng.uniform(0.0, CAMERA_TILT_RAD))
                tilt = np.empty(4)
                mujoco.mju_axisAngle2Quat(tilt, axis, angle)
                quat = np.empty(4)
                mujoco.mju_mulQuat(quat, model.cam_quat[cam].copy(), tilt)
                model.cam_pos[cam] += shift
                model.cam_quat[cam] = quat / np.linalg.norm(quat)
                drawn["camera"][name] = {"shift_m": _rounded(shift), "tilt_deg": round(float(np.rad2deg(angle)), 3)}
        return drawn


def _body_geoms(model: mujoco.MjModel, body_name: str) -> list[int]:
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body_name)
    if body < 0:
        raise ValueError(f"no body {body_name!r} to randomize")
    return [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]
