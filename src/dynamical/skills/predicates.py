"""Pre- and postconditions: predicates over the world and the robot, evaluated on a WorldModel.

- ``holding(obj, side)``: the object touches at least two links of that hand (fingers closed on it)
  and rests on no surface.
- ``on(obj, surface)``: the object's centre is over the surface, its bottom within 1.5 cm of the
  surface's top, it is (nearly) still and no hand touches it.
- ``hand_empty(side)``: no object touches that hand.
- ``reachable(obj, side)``: IK puts that hand's grasp site on the object (within 5 mm).
- ``at_home()``: every joint within 0.05 rad of the rest pose.
- ``near(obj, target)``: the object's centre within 5 cm of another object's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.skills.manifest import Predicate
from dynamical.skills.world_model import SIDES, WorldModel

ON_TOLERANCE_M = 0.015
STILL_M_PER_S = 0.02
HOME_TOLERANCE_RAD = 0.05
NEAR_M = 0.05
REACH_TOLERANCE_M = 0.005


@dataclass(frozen=True)
class PredicateResult:
    holds: bool
    detail: str
    """Why, in words a user reads in a refusal or a failure report."""


class PredicateError(ValueError):
    """A predicate is unknown or misses an argument."""


def evaluate(
    name: str, args: Mapping[str, str], world: WorldModel, kinematics: Kinematics | None = None
) -> PredicateResult:
    """Evaluate predicate ``name`` with ``args`` on the world now."""
    check = _PREDICATES.get(name)
    if check is None:
        raise PredicateError(f"unknown predicate {name!r}; known: {sorted(_PREDICATES)}")
    try:
        return check(args, world, kinematics)
    except KeyError as exc:
        raise PredicateError(f"predicate {name!r} needs argument {exc.args[0]!r}") from None


def check(predicate: Predicate, world: WorldModel, kinematics: Kinematics | None = None) -> PredicateResult:
    """Evaluate a manifest's (bound) predicate, honouring ``negate``."""
    result = evaluate(predicate.name, predicate.args, world, kinematics)
    if not predicate.negate:
        return result
    return PredicateResult(not result.holds, f"not ({result.detail})")


def _holding(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    obj, side = world.object(args["obj"]), args["side"]
    hand = obj.touching & world.hand_bodies(side)
    surfaces = {world.surface(s).body for s in world.surface_names()}
    resting = obj.touching & surfaces
    holds = len(hand) >= 2 and not resting
    return PredicateResult(holds, f"{obj.name} touches {sorted(hand)} of the {side} hand and {sorted(resting)}")


def _on(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    obj, surface = world.object(args["obj"]), world.surface(args["surface"])
    bottom = obj.bottom
    over = surface.covers(obj.pos[:2])
    height = abs(bottom - surface.top) <= ON_TOLERANCE_M
    held = any(obj.touching & world.hand_bodies(side) for side in SIDES)
    still = obj.speed <= STILL_M_PER_S
    holds = over and height and still and not held
    return PredicateResult(
        holds,
        f"{obj.name} at {np.round(obj.pos, 3).tolist()}: over {surface.name}={over}, "
        f"bottom {bottom:.3f} m vs top {surface.top:.3f} m, speed {obj.speed:.3f} m/s, held={held}",
    )


def _hand_empty(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    side = args["side"]
    holding = [n for n in world.object_names() if world.object(n).touching & world.hand_bodies(side)]
    return PredicateResult(not holding, f"the {side} hand touches {holding or 'nothing'}")


def _reachable(args: Mapping[str, str], world: WorldModel, kinematics: Kinematics | None) -> PredicateResult:
    if kinematics is None:
        raise PredicateError("reachable needs the robot's kinematics")
    obj, side = world.object(args["obj"]), args["side"]
    site = world.grasp_site(side)
    q = world.joint_positions()
    start = kinematics.site_pose(q, site)
    result = kinematics.solve(q, {site: Pose(obj.pos, start.rot)}, [f"arm_{side}"], orientation=False)
    error = result.position_error[site]
    return PredicateResult(
        error <= REACH_TOLERANCE_M, f"IK for the {side} hand to {obj.name}: {error * 1e3:.1f} mm off"
    )


def _at_home(_: Mapping[str, str], world: WorldModel, __: Kinematics | None) -> PredicateResult:
    offset = np.abs(world.joint_positions() - world.description.home)
    worst = int(np.argmax(offset))
    return PredicateResult(
        bool(offset[worst] <= HOME_TOLERANCE_RAD),
        f"furthest joint from home: {world.description.joint_names[worst]} by {offset[worst]:.3f} rad",
    )


def _near(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    a, b = world.object(args["obj"]), world.object(args["target"])
    distance = float(np.linalg.norm(a.pos - b.pos))
    return PredicateResult(distance <= NEAR_M, f"{a.name} is {distance:.3f} m from {b.name}")


_PREDICATES = {
    "holding": _holding,
    "on": _on,
    "hand_empty": _hand_empty,
    "reachable": _reachable,
    "at_home": _at_home,
    "near": _near,
}
