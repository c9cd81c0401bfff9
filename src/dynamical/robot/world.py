"""Worlds the robot is placed in: an MJCF of the surroundings plus a YAML of object bounds.

Object poses are drawn from the bounds at every reset with a seeded generator, so one seed is
one layout everywhere (tests, demos, benchmarks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from dynamical.robot.errors import ProfileError

WORLDS_DIR = Path(__file__).parent / "assets" / "worlds"
MAX_LAYOUT_DRAWS = 1000


class ObjectBounds(BaseModel):
    """Where one free object may rest: x, y and yaw uniform in their ranges, z fixed (m, rad)."""

    model_config = ConfigDict(extra="forbid")
    x: tuple[float, float]
    y: tuple[float, float]
    z: float
    yaw: tuple[float, float] = (0.0, 0.0)

    @model_validator(mode="after")
    def _ordered(self) -> ObjectBounds:
        for axis in ("x", "y", "yaw"):
            low, high = getattr(self, axis)
            if low > high:
                raise ValueError(f"{axis} range [{low}, {high}] is reversed")
        return self


class WorldSpec(BaseModel):
    """A world YAML, validated; ``mjcf`` is relative to the YAML file."""

    model_config = ConfigDict(extra="forbid")
    name: str
    mjcf: str
    mount_frame: str
    mannequin: str | None = None
    cameras: list[str] = []
    min_separation: float = 0.0
    objects: dict[str, ObjectBounds] = {}
    surfaces: dict[str, str] = {}
    """Places objects can be put on: surface name → the box geom whose top face it is."""
    path: Path | None = None

    @property
    def mjcf_path(self) -> Path:
        base = self.path.parent if self.path else WORLDS_DIR
        return (base / self.mjcf).resolve()

    @classmethod
    def load(cls, world: str | Path) -> WorldSpec:
        """Load a world by path, or a built-in one by name (``tabletop``)."""
        path = Path(world)
        if path.suffix not in (".yaml", ".yml"):
            path = WORLDS_DIR / f"{world}.yaml"
            if not path.is_file():
                names = sorted(p.stem for p in WORLDS_DIR.glob("*.yaml"))
                raise ProfileError(f"unknown world {str(world)!r}: give a .yaml path or one of {names}")
        if not path.is_file():
            raise ProfileError(f"world file {path} does not exist")
        try:
            spec = cls.model_validate({**yaml.safe_load(path.read_text()), "path": path})
        except (ValidationError, yaml.YAMLError, TypeError) as exc:
            raise ProfileError(f"{path}: {exc}") from None
        if not spec.mjcf_path.is_file():
            raise ProfileError(f"{path}: MJCF {spec.mjcf_path} does not exist")
        return spec

    def sample_layout(self, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Draw a pose for every object: {name: (pos (3,) m, quat (4,) wxyz)}."""
        names = list(self.objects)
        for _ in range(MAX_LAYOUT_DRAWS):
            xy = np.array([[rng.uniform(*self.objects[n].x), rng.uniform(*self.objects[n].y)] for n in names])
            yaw = np.array([rng.uniform(*self.objects[n].yaw) for n in names])
            if len(names) < 2 or _min_pairwise(xy) >= self.min_separation:
                break
        else:
            raise ProfileError(
                f"world {self.name!r}: no layout with min_separation {self.min_separation} m "
                f"in {MAX_LAYOUT_DRAWS} draws; widen the bounds"
            )
        return {
            n: (np.array([*xy[i], self.objects[n].z]), np.array([np.cos(yaw[i] / 2), 0, 0, np.sin(yaw[i] / 2)]))
            for i, n in enumerate(names)
        }


def _min_pairwise(xy: np.ndarray) -> float:
    """Smallest distance between rows of xy (k, 2)."""
    diff = xy[:, None, :] - xy[None, :, :]
    dist = np.linalg.norm(diff, axis=-1)
    return float(dist[np.triu_indices(len(xy), k=1)].min())
