"""Pre- and postconditions: predicates over the world and the robot, evaluated on a WorldModel.

- ``holding(obj, side)``: the object touches at least two links of that hand (fingers closed on it)
  and rests on no surface; when it does not, the detail lists the contacts measured.
- ``on(obj, surface)``: the object's centre is over the surface, its bottom within 1.5 cm of the
  surface's top, it is (nearly) still and no hand touches it.
- ``hand_empty(side)``: no object touches that hand.
- ``reachable(obj, side)``: IK puts that hand's grasp site on the object's centre (within 5 mm), moving the
  arm, and the waist too when the arm alone falls short.
- ``at_home()``: every joint within 0.05 rad of the rest pose.
- ``near(obj, target)``: the object's centre within 5 cm of another object's.
- ``hand_open(side)``: every finger of that hand at least as open as ``HAND_OPEN`` (0.1 rad slack).
- ``hand_over(target, side)``: that hand's grasp site within 3 cm of the target's approach point.
- ``arm_at_rest(side)``: every joint of that arm within 0.05 rad of the rest pose.
- ``looking_at(target)``: the head camera's optical axis within 5° of the target.
- ``pointing_at(target, side)``: the ray along that hand's straight index finger within 8° of the target.

Any predicate with a ``side`` takes ``side=either``: it holds when it holds for at least one hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dynamical.robot.kinematics import Kinematics, Pose
from dynamical.skills.hands import HAND_OPEN, HAND_OPEN_TOLERANCE, arm_group, hand_group
from dynamical.skills.manifest import Predicate
from dynamical.skills.targets import approach_point, target_point
from dynamical.skills.world_model import SIDES, WorldModel

ON_TOLERANCE_M = 0.015
STILL_M_PER_S = 0.02
HOME_TOLERANCE_RAD = 0.05
NEAR_M = 0.05
REACH_TOLERANCE_M = 0.005
HAND_OVER_M = 0.03
LOOK_TOLERANCE_RAD = np.deg2rad(5.0)
POINT_TOLERANCE_RAD = np.deg2rad(8.0)
HEAD_CAMERA = "head"
EITHER_SIDE = "either"
"""A ``side`` argument that holds when the predicate holds for at least one of the hands."""


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
    """Evaluate predicate ``name`` with ``args`` on the world now.

    ``side=either`` holds when the predicate holds for at least one hand: a learned skill's
    demonstrations may have used either hand, so its conditions cannot name one.
    """
    check = _PREDICATES.get(name)
    if check is None:
        raise PredicateError(f"unknown predicate {name!r}; known: {sorted(_PREDICATES)}")
    if args.get("side") == EITHER_SIDE:
        results = [evaluate(name, {**args, "side": side}, world, kinematics) for side in SIDES]
        held = [r for r in results if r.holds]
        return held[0] if held else PredicateResult(False, "; ".join(r.detail for r in results))
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
    parts = hand_parts(hand)
    if holds:
        return PredicateResult(True, f"{obj.name} is held by the {side} hand's {parts} and rests on no surface")
    # What an operator needs to see why the grip failed: the parts of the hand it touches, what
    # it still rests on, and the rule.
    if not hand:
        touch = f"it touches no part of the {side} hand"
    elif len(hand) == 1:
        touch = f"it touches only the {side} hand's {parts}"
    else:
        touch = f"it touches the {side} hand's {parts}"
    rests = f" and still rests on the {', '.join(sorted(resting))}" if resting else ""
    return PredicateResult(
        False,
        f"{obj.name} is not in the {side} hand's grip: {touch}{rests} "
        f"(a hold needs two parts of the hand on it and no surface under it)",
    )


_FINGERS = ("thumb", "index", "middle", "ring", "little")


def hand_part(body: str) -> str:
    """A hand link's name in an operator's words: ``l_index_distal_link`` → "index fingertip",
    ``r_hand`` → "palm"; a name it does not know comes back with its underscores as spaces."""
    words = body.removesuffix("_link").split("_")
    if words and words[0] in ("l", "r", "left", "right"):
        words = words[1:]
    if words in (["hand"], ["palm"]):
        return "palm"
    if len(words) == 2 and words[0] in _FINGERS:
        finger, segment = words
        if segment == "distal":
            return "thumb tip" if finger == "thumb" else f"{finger} fingertip"
        if segment == "proximal":
            return "thumb" if finger == "thumb" else f"{finger} finger"
        if segment == "rotation":
            return "thumb's base"
    return " ".join(words)


def hand_parts(bodies: set[str] | frozenset[str]) -> str:
    """The hand links in ``bodies`` in words, thumb first, then the fingers and the palm."""
    names = sorted({hand_part(b) for b in bodies}, key=_part_order)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _part_order(part: str) -> tuple[int, str]:
    first = part.split(" ")[0].removesuffix("'s")
    return (_FINGERS.index(first) if first in _FINGERS else len(_FINGERS), part)


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
    kinematics = _needs(kinematics, "reachable")
    obj, side = world.object(args["obj"]), args["side"]
    site = world.grasp_site(side)
    q = world.joint_positions()
    start = kinematics.site_pose(q, site)
    error = np.inf
    # The arm alone, else leaning with the waist, as the skills do.
    centre = target_point(world, obj.name)
    for groups in ([f"arm_{side}"], ["waist", f"arm_{side}"]):
        result = kinematics.solve(q, {site: Pose(centre, start.rot)}, groups, orientation=False, restarts=5)
        error = min(error, result.position_error[site])
        if error <= REACH_TOLERANCE_M:
            break
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


def _needs(kinematics: Kinematics | None, name: str) -> Kinematics:
    if kinematics is None:
        raise PredicateError(f"{name} needs the robot's kinematics")
    return kinematics


def _hand_open(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    side = args["side"]
    fingers = world.joint_positions()[world.description.group_indices(hand_group(side))]
    excess = fingers - (HAND_OPEN + HAND_OPEN_TOLERANCE)
    return PredicateResult(
        bool(np.all(excess <= 0.0)), f"the {side} hand's fingers at {np.round(fingers, 2).tolist()} rad"
    )


def _hand_over(args: Mapping[str, str], world: WorldModel, kinematics: Kinematics | None) -> PredicateResult:
    kin, side, target = _needs(kinematics, "hand_over"), args["side"], args["target"]
    goal = approach_point(world, target)
    hand = kin.site_pose(world.joint_positions(), world.grasp_site(side)).pos
    distance = float(np.linalg.norm(hand - goal))
    return PredicateResult(distance <= HAND_OVER_M, f"the {side} hand is {distance * 1e3:.0f} mm from above {target}")


def _arm_at_rest(args: Mapping[str, str], world: WorldModel, _: Kinematics | None) -> PredicateResult:
    side = args["side"]
    joints = world.description.group_indices(arm_group(side))
    offset = float(np.max(np.abs(world.joint_positions()[joints] - world.description.home[joints])))
    return PredicateResult(offset <= HOME_TOLERANCE_RAD, f"the {side} arm is {offset:.3f} rad from its rest pose")


def _angle(axis: np.ndarray, origin: np.ndarray, point: np.ndarray) -> float:
    ray = point - origin
    cos = float(np.dot(axis, ray) / (np.linalg.norm(axis) * np.linalg.norm(ray)))
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def _looking_at(args: Mapping[str, str], world: WorldModel, kinematics: Kinematics | None) -> PredicateResult:
    kin, target = _needs(kinematics, "looking_at"), args["target"]
    camera = kin.camera_pose(world.joint_positions(), HEAD_CAMERA)
    angle = _angle(-camera.rot[:, 2], camera.pos, target_point(world, target))
    return PredicateResult(
        angle <= LOOK_TOLERANCE_RAD, f"the head camera looks {np.rad2deg(angle):.1f}° away from {target}"
    )


def _pointing_at(args: Mapping[str, str], world: WorldModel, kinematics: Kinematics | None) -> PredicateResult:
    kin, side, target = _needs(kinematics, "pointing_at"), args["side"], args["target"]
    q = world.joint_positions()
    # With the index straight it lies along the grasp frame's x axis; the ray starts at its tip.
    frame = kin.site_pose(q, world.grasp_site(side))
    tip = kin.site_pose(q, f"{side[0]}_index_tip").pos
    angle = _angle(frame.rot[:, 0], tip, target_point(world, target))
    return PredicateResult(
        angle <= POINT_TOLERANCE_RAD, f"the {side} index points {np.rad2deg(angle):.1f}° away from {target}"
    )


_PREDICATES = {
    "holding": _holding,
    "on": _on,
    "hand_empty": _hand_empty,
    "reachable": _reachable,
    "at_home": _at_home,
    "near": _near,
    "hand_open": _hand_open,
    "hand_over": _hand_over,
    "arm_at_rest": _arm_at_rest,
    "looking_at": _looking_at,
    "pointing_at": _pointing_at,
}
