"""L6: adapt a step to where the robot works.

A ``WorkspaceRecord`` holds what a workspace is like (surface heights such as the table and each
shelf level, static obstacles, keep-out zones, clearances). ``LocationAdaptiveSkillManager``
turns it into per-step location parameters: the height the hand approaches an object from, the
height an object is released at, the directions a hand must not come from (an obstacle or a
keep-out zone within ``probe_m`` of the target that way), and, for a skill that declares it, the
lift height that carries an object clear of the surface it goes to next.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from dynamical.orchestration.errors import UnknownWorkspaceError
from dynamical.orchestration.world import Box, WorldSnapshot
from dynamical.skills.manifest import SkillManifest

# Where a hand may come from, as the unit vector from the target toward the hand's start.
APPROACH_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "above": (0.0, 0.0, 1.0),
    "front": (-1.0, 0.0, 0.0),
    "behind": (1.0, 0.0, 0.0),
    "left": (0.0, 1.0, 0.0),
    "right": (0.0, -1.0, 0.0),
}
_PROBE_SAMPLES = 12


class WorkspaceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace_id: str
    surface_tops_m: dict[str, float]
    """Surface name → height of its top (the table, each shelf level), m."""
    obstacles: list[Box] = []
    keep_out_zones: list[Box] = []
    approach_clearance_m: float = Field(0.08, ge=0)
    """Height above an object's centre the hand starts its descent from."""
    place_clearance_m: float = Field(0.01, ge=0)
    """Height above a surface an object is released at."""
    carry_clearance_m: float = Field(0.05, ge=0)
    """How far above the destination surface a carried object travels."""
    probe_m: float = Field(0.25, gt=0)
    """Length of the corridor checked for obstacles in each approach direction."""

    @classmethod
    def from_snapshot(cls, workspace_id: str, world: WorldSnapshot, keep_out_zones: list[Box] = ()) -> WorkspaceRecord:
        return cls(
            workspace_id=workspace_id,
            surface_tops_m={s.name: s.top_m for s in world.surfaces},
            obstacles=world.obstacles,
            keep_out_zones=list(keep_out_zones),
        )


class LocationAdaptiveSkillManager:
    """Workspace records by id, and the location parameters of a step in one of them."""

    def __init__(self, records: list[WorkspaceRecord] = ()) -> None:
        self._lock = threading.Lock()
        self._records = {r.workspace_id: r for r in records}

    def register(self, record: WorkspaceRecord) -> None:
        with self._lock:
            self._records[record.workspace_id] = record

    def record(self, workspace_id: str) -> WorkspaceRecord:
        with self._lock:
            record = self._records.get(workspace_id)
        if record is None:
            raise UnknownWorkspaceError(
                f"no workspace record {workspace_id!r}; known: {', '.join(sorted(self._records)) or 'none'}"
            )
        return record

    def adapt(
        self,
        manifest: SkillManifest,
        params: dict[str, Any],
        workspace_id: str,
        world: WorldSnapshot,
        destination: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(parameters, location_params)`` of one step; ``destination`` is the surface the step's
        object goes to later in the plan, if any."""
        record = self.record(workspace_id)
        params = dict(params)
        location: dict[str, Any] = {}
        names = set(world.object_names)
        obj = params.get("obj") or (params.get("target") if params.get("target") in names else None)
        surface = params.get("surface") or (
            params.get("target") if params.get("target") in record.surface_tops_m else None
        )
        if obj is not None and obj in names and surface is None and world.object(obj).position is not None:
            pos = np.array(world.object(obj).position)
            location["approach_height_m"] = round(float(pos[2] + record.approach_clearance_m), 4)
            location["forbidden_approach_directions"] = _forbidden(record, pos, ignore=None)
        if surface is not None and surface in record.surface_tops_m:
            top = record.surface_tops_m[surface]
            location["place_height_m"] = round(top + record.place_clearance_m, 4)
            board = world.surface(surface)
            point = np.array([board.box.center[0], board.box.center[1], top + 0.03])
            location["forbidden_approach_directions"] = _forbidden(record, point, ignore=board.box)
        height = manifest.parameters_schema.get("properties", {}).get("height")
        if height is not None and obj is not None and destination in record.surface_tops_m:
            # Carry the object high enough to clear the destination's edge, within the schema's range.
            resting = world.object(obj).resting_on
            source_top = next((s.top_m for s in world.surfaces if s.board == resting), None)
            if source_top is not None:
                needed = record.surface_tops_m[destination] - source_top + record.carry_clearance_m
                lift = max(float(height.get("default", 0.0)), needed)
                params["height"] = round(min(lift, float(height.get("maximum", lift))), 4)
                location["carry_height_m"] = round(source_top + params["height"], 4)
        return params, location


def _forbidden(record: WorkspaceRecord, point: np.ndarray, ignore: Box | None) -> list[str]:
    """Approach directions whose corridor from ``point`` crosses an obstacle or a keep-out zone."""
    boxes = [b for b in (*record.obstacles, *record.keep_out_zones) if ignore is None or b.center != ignore.center]
    if not boxes:
        return []
    centers = np.array([b.center for b in boxes])  # (b, 3)
    halves = np.array([b.half for b in boxes])
    steps = np.linspace(0.02, record.probe_m, _PROBE_SAMPLES)
    # (directions, samples, 3) points along every corridor, tested against every box at once.
    samples = point + steps[None, :, None] * _DIRECTIONS[:, None, :]
    inside = np.all(np.abs(samples[:, :, None, :] - centers) <= halves, axis=-1)  # (d, s, b)
    blocked = inside.any(axis=(1, 2))
    return [name for name, hit in zip(APPROACH_DIRECTIONS, blocked, strict=True) if hit]


_DIRECTIONS = np.array(list(APPROACH_DIRECTIONS.values()))
