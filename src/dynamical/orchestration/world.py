"""What the orchestrator knows of the world: a small, serialisable snapshot.

Planning runs on the server, far from any simulator, so it reads a ``WorldSnapshot`` (object
names, kinds, colours, nominal positions, surfaces and their heights, static obstacles, what the
hands hold) instead of a live ``WorldModel``. A snapshot is built from any ``WorldModel``
(``snapshot_from_world_model``: live positions, ``on``/``holding`` facts from the predicates) or,
with no simulator running, from a world's YAML and MJCF (``snapshot_from_world_spec``: nominal
positions, colours from the geoms' rgba, surfaces and obstacles from the static boxes).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dynamical.robot.world import WorldSpec
from dynamical.skills.predicates import evaluate
from dynamical.skills.world_model import SIDES, WorldModel

Side = Literal["left", "right"]
Vec3 = tuple[float, float, float]

# Basic colour names and a representative rgb each; a geom's rgba is named by the nearest one.
PALETTE: dict[str, Vec3] = {
    "red": (0.85, 0.12, 0.12),
    "green": (0.15, 0.70, 0.25),
    "blue": (0.15, 0.35, 0.85),
    "yellow": (0.90, 0.85, 0.15),
    "orange": (0.95, 0.55, 0.10),
    "purple": (0.55, 0.20, 0.70),
    "pink": (0.95, 0.55, 0.70),
    "brown": (0.50, 0.33, 0.20),
    "black": (0.05, 0.05, 0.05),
    "white": (0.95, 0.95, 0.95),
    "grey": (0.50, 0.50, 0.50),
}
# An object's bottom this close to a surface's top (and over it) counts as resting on it.
REST_TOLERANCE_M = 0.015


class Box(BaseModel):
    """An axis-aligned box in the world frame (m)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = ""
    center: Vec3
    half: Vec3

    def contains(self, point: np.ndarray, margin: float = 0.0) -> bool:
        return bool(np.all(np.abs(point - np.array(self.center)) <= np.array(self.half) + margin))


class ObjectInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    kind: str
    """The head noun of the name: ``cube`` for ``red_cube``."""
    colour: str | None = None
    position: Vec3 | None = None
    """Centre, m, world frame; nominal when the snapshot comes from a world file."""
    resting_on: str | None = None
    """The physical surface (board) it rests on, if known."""


class SurfaceInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    """Name objects are placed on (``shelf``); several names may share one board (``shelf_lower``)."""
    board: str
    """Geom whose top face this is."""
    box: Box

    @property
    def top_m(self) -> float:
        return self.box.center[2] + self.box.half[2]


class WorldSnapshot(BaseModel):
    """Everything planning reads about the world, JSON-serialisable."""

    model_config = ConfigDict(extra="forbid")
    world: str
    objects: list[ObjectInfo] = Field(min_length=1)
    surfaces: list[SurfaceInfo] = []
    obstacles: list[Box] = []
    """Static boxes that are not surfaces (shelf walls, table legs): they forbid approach directions."""
    holding: dict[Side, str] = {}
    """side → the object that hand holds."""

    @model_validator(mode="after")
    def _consistent(self) -> WorldSnapshot:
        names = [o.name for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError(f"object names must be unique, got {names}")
        for side, obj in self.holding.items():
            if obj not in names:
                raise ValueError(f"the {side} hand holds {obj!r}, which is not an object of the snapshot")
        return self

    def object(self, name: str) -> ObjectInfo:
        for obj in self.objects:
            if obj.name == name:
                return obj
        raise KeyError(name)

    def surface(self, name: str) -> SurfaceInfo:
        for surface in self.surfaces:
            if surface.name == name:
                return surface
        raise KeyError(name)

    def surface_on_board(self, board: str) -> str:
        """The first surface name of a board (``shelf`` for ``shelf_lower``): the one users say."""
        return next((s.name for s in self.surfaces if s.board == board), board)

    @property
    def object_names(self) -> list[str]:
        return [o.name for o in self.objects]

    @property
    def surface_names(self) -> list[str]:
        return [s.name for s in self.surfaces]


def colour_name(rgb: np.ndarray) -> str:
    """The palette colour nearest to ``rgb`` (3,) in [0, 1]."""
    return min(PALETTE, key=lambda c: float(np.sum((np.array(PALETTE[c]) - rgb[:3]) ** 2)))


def _tokens(name: str) -> list[str]:
    return name.lower().split("_")


def _colour_from_name(name: str) -> str | None:
    return next((t for t in _tokens(name) if t in PALETTE), None)


def _resting_on(
    position: np.ndarray, bottom: float, surfaces: list[SurfaceInfo], touching: frozenset[str] = frozenset()
) -> str | None:
    """The board under the object that its bottom is on, or that it touches (a contact is more
    reliable than a computed bottom for an object of many parts, such as the cup)."""
    over = [
        s for s in surfaces if np.all(np.abs(position[:2] - np.array(s.box.center[:2])) <= np.array(s.box.half[:2]))
    ]
    if not over:
        return None
    nearest = min(over, key=lambda s: abs(bottom - s.top_m))
    if abs(bottom - nearest.top_m) <= REST_TOLERANCE_M or nearest.box.name in touching:
        return nearest.board
    return None


def snapshot_from_world_model(world: WorldModel, name: str = "world") -> WorldSnapshot:
    """A snapshot of a live world: positions now, ``on`` and ``holding`` as the predicates see them."""
    raw = {n: world.surface(n) for n in world.surface_names()}
    surfaces = []
    for surface_name, s in raw.items():
        # Names with the same box are one board (``shelf`` and ``shelf_lower``); the longest name is the board's.
        same = [n for n, o in raw.items() if np.allclose(o.center, s.center) and np.allclose(o.half, s.half)]
        board = max(same, key=lambda n: (len(n), n))
        # The box carries the body's name: contacts are reported by body.
        box = Box(name=s.body, center=tuple(map(float, s.center)), half=tuple(map(float, s.half)))
        surfaces.append(SurfaceInfo(name=surface_name, board=board, box=box))
    objects, holding = [], {}
    for obj_name in world.object_names():
        state = world.object(obj_name)
        objects.append(
            ObjectInfo(
                name=obj_name,
                kind=_tokens(obj_name)[-1],
                colour=_colour_from_name(obj_name),
                position=tuple(map(float, state.pos)),
                resting_on=_resting_on(state.pos, state.bottom, surfaces, state.touching),
            )
        )
        for side in SIDES:
            if evaluate("holding", {"obj": obj_name, "side": side}, world).holds:
                holding[side] = obj_name
    return WorldSnapshot(world=name, objects=objects, surfaces=surfaces, holding=holding)


def snapshot_from_world_spec(spec: WorldSpec) -> WorldSnapshot:
    """A snapshot of a world as its files describe it (nominal object positions, nobody holding anything)."""
    return _spec_snapshot(spec.mjcf_path, spec.name, tuple(spec.objects), tuple(spec.surfaces.items()))


@lru_cache(maxsize=8)
def _spec_snapshot(
    mjcf: Path, world: str, object_names: tuple[str, ...], surface_items: tuple[tuple[str, str], ...]
) -> WorldSnapshot:
    import mujoco  # the server has it; imported here so that snapshots from a WorldModel never need it

    model = mujoco.MjModel.from_xml_path(str(mjcf))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    boards = {geom for _, geom in surface_items}
    surfaces = [
        SurfaceInfo(
            name=name, board=geom, box=_geom_box(model, data, mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, geom))
        )
        for name, geom in surface_items
    ]
    objects = []
    for name in object_names:
        body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]
        boxes = [_geom_box(model, data, g) for g in geoms]
        bottom = min(b.center[2] - b.half[2] for b in boxes)
        position = data.xpos[body].copy()
        objects.append(
            ObjectInfo(
                name=name,
                kind=_tokens(name)[-1],
                colour=_colour_from_name(name) or colour_name(model.geom_rgba[geoms[0]]),
                position=tuple(map(float, position)),
                resting_on=_resting_on(position, bottom, surfaces),
            )
        )
    # Static boxes that collide (walls, legs) and are not a surface board are obstacles.
    obstacles = []
    for g in range(model.ngeom):
        body = model.geom_bodyid[g]
        static = body == 0 or model.body_weldid[body] == 0
        if static and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX and model.geom_contype[g]:
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_GEOM, g) or f"geom{g}"
            if name not in boards:
                obstacles.append(_geom_box(model, data, g).model_copy(update={"name": name}))
    return WorldSnapshot(world=world, objects=objects, surfaces=surfaces, obstacles=obstacles)


def _geom_box(model, data, geom: int) -> Box:
    """The world-frame axis-aligned bounding box of one geom."""
    rot = data.geom_xmat[geom].reshape(3, 3)
    local_center, local_half = model.geom_aabb[geom][:3], model.geom_aabb[geom][3:]
    center = data.geom_xpos[geom] + rot @ local_center
    half = np.abs(rot) @ local_half
    return Box(center=tuple(map(float, center)), half=tuple(map(float, half)))


@lru_cache(maxsize=1)
def default_world_snapshot() -> WorldSnapshot:
    """The tabletop world as its files describe it."""
    return snapshot_from_world_spec(WorldSpec.load("tabletop"))
