"""Plan-time refusal of a target inside a keep-out zone: a plan that sends a hand into a zone
would be stopped there by the safety kernel, and the step would then fail for a reason the
operator cannot see in the plan. Refusing it at plan time names the zone instead.

A step's targets are the objects and surfaces its parameters name (``obj``, ``target``,
``surface``): an object's centre, and for a surface the centre of its top face. A target is
refused when it lies inside a box zone grown by ``MARGIN_M`` (the hand's own size: it must get
around the object), or on the forbidden side of a half-space zone.

Zones are the server's stored definitions (``safety.config`` shapes as dicts: ``kind`` ``box``
with ``center`` and ``half_size``, or ``halfspace`` with ``normal`` and ``offset``, allowed side
``normal·p ≥ offset``); this module does not import the safety kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dynamical.orchestration.plan import SkillExecutionPlan
from dynamical.orchestration.world import WorldSnapshot

MARGIN_M = 0.03
TARGET_KEYS = ("obj", "target", "surface")


class TargetInZoneError(ValueError):
    """A plan's target lies inside a keep-out zone; the message names the step, target and zone."""


def targets(step_parameters: Mapping[str, Any], world: WorldSnapshot) -> list[tuple[str, np.ndarray]]:
    """(name, position (3,) m) of every object or surface the parameters name and the world knows."""
    out = []
    objects = {o.name: o for o in world.objects}
    surfaces = {s.name: s for s in world.surfaces}
    for key in TARGET_KEYS:
        name = step_parameters.get(key)
        if not isinstance(name, str):
            continue
        if name in objects and objects[name].position is not None:
            out.append((name, np.asarray(objects[name].position, dtype=float)))
        elif name in surfaces:
            box = surfaces[name].box
            out.append((name, np.array([box.center[0], box.center[1], surfaces[name].top_m])))
    return out


def zone_containing(point: np.ndarray, zones: Sequence[Mapping[str, Any]], margin: float = MARGIN_M) -> str | None:
    """The name of the first zone ``point`` (3,) m lies in (boxes grown by ``margin``), or None."""
    for zone in zones:
        kind = zone.get("kind")
        if kind == "box":
            centre = np.asarray(zone["center"], dtype=float)
            half = np.asarray(zone["half_size"], dtype=float) + margin
            if np.all(np.abs(point - centre) <= half):
                return str(zone.get("name", "?"))
        elif kind == "halfspace":
            normal = np.asarray(zone["normal"], dtype=float)
            if float(normal @ point) < float(zone["offset"]):
                return str(zone.get("name", "?"))
    return None


def check_plan_zones(plan: SkillExecutionPlan, world: WorldSnapshot, zones: Sequence[Mapping[str, Any]]) -> None:
    """Raise ``TargetInZoneError`` naming the first step whose target is inside a zone."""
    if not zones:
        return
    for step in plan.steps:
        for name, point in targets(step.parameters, world):
            zone = zone_containing(point, zones)
            if zone is not None:
                where = ", ".join(f"{x:.2f}" for x in point)
                raise TargetInZoneError(
                    f"step {step.step_id} ({step.skill_id}) would reach {name} at ({where}) m, inside keep-out "
                    f"zone {zone!r}: move the zone or the {name}, then ask again"
                )
