"""Grasps chosen from an object's shape (``WorldModel.object_shape``), never from its name.

Two grasps fit the default humanoid's hand:

- a **top grasp** (palm down, thumb and fingers closing along the fingers' direction from above):
  for an object at most ``TOP_SPAN_M`` across in some horizontal direction (a 5 cm cube);
- a **side grasp** (a power grasp: palm against the object's side, thumb up, the fingers wrapping
  round it): for a round object between ``SIDE_MIN_M`` and ``SIDE_MAX_M`` across and tall enough
  for the hand's lower edge to clear the surface it stands on (a cup, a can).

``grasp_candidates`` lists the grasps of one hand for an object in the order a skill should try
them; ``NoGraspError`` says why there is none, with the measured sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.shapes import ObjectShape
from dynamical.skills.builtin.scripted import SkillPlanError
from dynamical.skills.world_model import ObjectState

GraspKind = Literal["top", "side"]

TOP_SPAN_M = 0.065
"""m: the widest an object may be, along the fingers, for the thumb and the fingers to close
on it from above (the thumb's base and the fingers' base are 7.6 cm apart)."""
TOP_DEPTH_M = 0.025
"""m below an object's top the grasp site goes in a top grasp (the palm stays above the top)."""
SIDE_MIN_M = 0.05
"""m: thinner than this, a side grasp's fingers close past the object without wrapping it."""
SIDE_MAX_M = 0.09
"""m: wider than this, the thumb and the fingers cannot both reach round the object."""
PALM_TO_SITE_M = 0.045
"""m from the palm's pad to the grasp site, along the palm's normal."""
SIDE_GAP_M = 0.004
"""m left between the palm and the object when the hand arrives: the fingers pull it in."""
SIDE_LOW_M = 0.045
"""m the grasp site keeps above an object's bottom in a side grasp: the little finger (2.7 cm
below the site, 0.75 cm thick) stays above the surface the object stands on."""
SIDE_HEIGHT_M = 0.05
"""m above its bottom a side grasp holds a tall object: low on the body, for stability."""
SIDE_BELOW_TOP_M = 0.02
"""m a side grasp's site keeps below the object's top: the fingers need wall to close on."""
SIDE_STANDOFF_M = 0.08
"""m the hand waits away from the object, along the palm's normal, before moving in."""
SIDE_HEADINGS = np.deg2rad([0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0])
"""Turns of a side grasp's fingers away from the direction the arm reaches, tried in order."""
SIDE_SLIP_M = 0.015
"""m a side-held object may hang lower than planned (it slips while the fingers close and as it
is lifted): a side grasp carries it that much higher and lets go that much above the spot."""
MAX_SIDE_TILT_DEG = 20.0
"""Degrees an object's axis may lean from the vertical for a side grasp round it."""
TOP_HEAD_M = 0.10
"""m from the grasp site to the top of a top-grasping hand."""
SIDE_HEAD_M = 0.04
"""m from the grasp site to the top of a side-grasping hand (the thumb's base and the index)."""


@dataclass(frozen=True)
class HandGrasp:
    """One way for one hand to hold one object: where its grasp site goes and how it comes in."""

    kind: GraspKind
    rot: np.ndarray
    """(3, 3) the grasp site's frame at the grasp (x along the fingers, z out of the palm)."""
    site: np.ndarray
    """(3,) m, world: the grasp site at the grasp."""
    standoff: np.ndarray
    """(3,) m, world: where the grasp site waits before moving straight in to ``site``."""
    head_m: float
    """m the hand (and the object in it) reaches above the grasp site: the headroom a carry needs."""
    in_hand: np.ndarray
    """(3,) m: the object's origin in the grasp site's frame once the hand holds it, as planned."""

    def describe(self) -> str:
        return f"{self.kind} grasp"


@dataclass(frozen=True)
class Obstacle:
    """Another object near a grasp, as a vertical cylinder."""

    name: str
    xy: np.ndarray
    """(2,) m, world: its centre."""
    radius: float
    """m: half its widest width."""
    top: float
    """m: the height of its top."""


HAND_CLEARANCE_M = 0.045
"""m the centre line of a side-grasping hand (its palm and fingers, 2.5 cm to either side of
it, and a finger's thickness) keeps from another object's side."""


class NoGraspError(SkillPlanError):
    """The object's shape fits no grasp of this hand."""


def shape_summary(shape: ObjectShape) -> str:
    across, _ = shape.narrowest
    kind = "round" if shape.round else "not round"
    return f"{across * 100:.1f}–{shape.widest * 100:.1f} cm across ({kind}), {shape.height * 100:.1f} cm tall"


def grasp_kinds(shape: ObjectShape) -> tuple[list[GraspKind], list[str]]:
    """The grasps the shape allows, best first, and why each other one does not fit."""
    kinds: list[GraspKind] = []
    why: list[str] = []
    across, _ = shape.narrowest
    if across <= TOP_SPAN_M:
        kinds.append("top")
    else:
        why.append(f"a top grasp closes on at most {TOP_SPAN_M * 100:.1f} cm")
    if not shape.round:
        why.append("a side grasp needs a round body")
    elif not SIDE_MIN_M <= shape.widest <= SIDE_MAX_M:
        why.append(f"a side grasp wraps {SIDE_MIN_M * 100:.0f}–{SIDE_MAX_M * 100:.0f} cm")
    elif shape.height < SIDE_LOW_M + SIDE_BELOW_TOP_M:
        why.append(f"a side grasp needs {(SIDE_LOW_M + SIDE_BELOW_TOP_M) * 100:.1f} cm of height")
    else:
        kinds.append("side")
    return kinds, why


def grasp_candidates(
    state: ObjectState,
    shape: ObjectShape,
    side: str,
    reach_from: np.ndarray,
    obstacles: list[Obstacle] | tuple[Obstacle, ...] = (),
) -> list[HandGrasp]:
    """The grasps of the ``side`` hand for an object at ``state`` with ``shape``, in the order to
    try them; ``reach_from`` (3,) is where the arm reaches from (its shoulder), for the side
    grasp's natural heading. A side grasp whose hand would pass through one of ``obstacles`` on
    its way in is left out. Raises NoGraspError when the shape fits none."""
    kinds, why = grasp_kinds(shape)
    rot_obj = Rotation.from_quat(np.asarray(state.quat)[[1, 2, 3, 0]]).as_matrix()
    tilt = float(np.degrees(np.arccos(np.clip(rot_obj[2, 2], -1.0, 1.0))))
    if "side" in kinds and tilt > MAX_SIDE_TILT_DEG:
        kinds.remove("side")
        why.append(f"a side grasp needs it upright (it is tilted {tilt:.0f}°)")
    if not kinds:
        raise NoGraspError(f"{state.name} is {shape_summary(shape)}: no grasp fits ({'; '.join(why)})")
    centre = state.pos + rot_obj @ shape.center
    top = float(state.pos[2] + (rot_obj @ (shape.center + [0, 0, shape.half[2]]))[2])
    bottom = float(state.bottom)
    grasps: list[HandGrasp] = []
    for kind in kinds:
        if kind == "top":
            grasps += _top_grasps(state, shape, rot_obj, centre, top)
        else:
            side_grasps = _side_grasps(state, shape, centre, bottom, top, side, reach_from)
            grasps += [g for g in side_grasps if _blocked_by(g, obstacles) is None]
            if not any(g.kind == "side" for g in grasps) and side_grasps:
                blocker = _blocked_by(side_grasps[0], obstacles)
                why.append(f"{blocker} stands where a side grasp's hand goes")
    if not grasps:
        raise NoGraspError(f"{state.name} is {shape_summary(shape)}: no grasp fits ({'; '.join(why)})")
    return grasps


def _blocked_by(grasp: HandGrasp, obstacles: list[Obstacle] | tuple[Obstacle, ...]) -> str | None:
    """The first obstacle the hand's way in (standoff to site, and the wrist behind each) passes
    through, or None."""
    wrist = -grasp.rot[:, 0] * 0.07 - grasp.rot[:, 2] * 0.06  # from the grasp site, in the world
    path = [grasp.standoff + (grasp.site - grasp.standoff) * s for s in np.linspace(0.0, 1.0, 5)]
    points = np.array([*path, *(p + wrist for p in path)])
    for obstacle in obstacles:
        low = points[:, 2] - SIDE_HEAD_M < obstacle.top
        gaps = np.linalg.norm(points[low, :2] - obstacle.xy, axis=1)
        if len(gaps) and gaps.min() < obstacle.radius + HAND_CLEARANCE_M:
            return obstacle.name
    return None


def _frame(fingers: np.ndarray, palm: np.ndarray) -> np.ndarray:
    """(3, 3) a grasp frame from its x (fingers) and z (palm normal) axes."""
    x = fingers / np.linalg.norm(fingers)
    z = palm / np.linalg.norm(palm)
    return np.column_stack([x, np.cross(z, x), z])


def _in_hand(rot: np.ndarray, site: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return rot.T @ (origin - site)


def _top_grasps(
    state: ObjectState, shape: ObjectShape, rot_obj: np.ndarray, centre: np.ndarray, top: float
) -> list[HandGrasp]:
    """Palm down, the fingers along a narrow direction of the object (and the quarter turns that
    are narrow enough too), the one with the fingers nearest +x first."""
    _, heading = shape.narrowest
    yaw_obj = float(np.arctan2(rot_obj[1, 0], rot_obj[0, 0]))
    site = np.array([centre[0], centre[1], top - min(TOP_DEPTH_M, shape.height / 2.0)])
    grasps = []
    for turn in (0.0, np.pi / 2, -np.pi / 2, np.pi):
        local = heading + turn
        if shape.width_at(local) > TOP_SPAN_M:
            continue
        yaw = yaw_obj + local
        rot = _frame(np.array([np.cos(yaw), np.sin(yaw), 0.0]), np.array([0.0, 0.0, -1.0]))
        standoff = site + np.array([0.0, 0.0, 0.08])
        grasps.append(HandGrasp("top", rot, site, standoff, TOP_HEAD_M, _in_hand(rot, site, state.pos)))
    # Fingers nearest +x first: the hand's natural way over a table in front of the robot.
    return sorted(grasps, key=lambda g: -g.rot[0, 0])[:3]


def _side_grasps(
    state: ObjectState,
    shape: ObjectShape,
    centre: np.ndarray,
    bottom: float,
    top: float,
    side: str,
    reach_from: np.ndarray,
) -> list[HandGrasp]:
    """Palm against the object's side with the thumb up and the fingers round it, the fingers
    pointing along the arm's reach first, then turned away from it."""
    radius = shape.widest / 2.0
    height = min(max(SIDE_HEIGHT_M, SIDE_LOW_M), shape.height - SIDE_BELOW_TOP_M)
    axis = np.array([centre[0], centre[1], bottom + height])
    reach = axis[:2] - np.asarray(reach_from)[:2]
    base = float(np.arctan2(reach[1], reach[0]))
    # The thumb is on the grasp frame's -y side of a right hand and +y of a left one: up is
    # y = -z_world for the right hand, +z_world for the left, and the palm faces
    # z = y × x, the object.
    up = np.array([0.0, 0.0, 1.0 if side == "left" else -1.0])
    grasps = []
    for turn in SIDE_HEADINGS:
        yaw = base + turn
        fingers = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        palm = np.cross(fingers, up)
        rot = _frame(fingers, palm)
        site = axis + palm * (PALM_TO_SITE_M - radius - SIDE_GAP_M)
        standoff = site - palm * SIDE_STANDOFF_M
        head = max(SIDE_HEAD_M, top - site[2])
        grasps.append(HandGrasp("side", rot, site, standoff, head, _in_hand(rot, site, state.pos)))
    return grasps
