"""Placing what one hand holds: free spots on a surface, the hold measured or planned, and the
phases of a carry and a release under any board above."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import Pose
from dynamical.skills.builtin.arm import (
    HAND_HEIGHT,
    SLOW,
    ArmSkill,
    held_from_above,
    holding_gate,
    top_grasp_rotation_yaw,
)
from dynamical.skills.builtin.scripted import MotionPlan, SkillPlanError
from dynamical.skills.grasps import SIDE_SLIP_M, SIDE_STANDOFF_M, HandGrasp
from dynamical.skills.hands import HAND_OPEN, arm_group
from dynamical.skills.world_model import WorldModel

CARRY_CLEARANCE = 0.035
"""m an object's bottom keeps above the surface it is carried onto."""
PLACE_DROP = 0.004
"""m above the surface an object is let go: it settles without being pressed into the board."""
SPOT_GRID = 0.02
"""m between candidate spots on a surface."""
SPOT_CLEARANCE = 0.10
"""m a placed object keeps from every other object (centre to centre, in x-y)."""


def _headroom(world: WorldModel, point: np.ndarray) -> float:
    """Height of the lowest surface's underside above ``point`` (3,) (inf when open above)."""
    low = np.inf
    for name in world.surface_names():
        surface = world.surface(name)
        bottom = float(surface.center[2] - surface.half[2])
        if bottom > point[2] and surface.covers(point[:2]):
            low = min(low, bottom)
    return low


def free_spots(world: WorldModel, surface: str, obj: str) -> list[np.ndarray]:
    """Where ``obj``'s origin could be when it stands on ``surface`` (3,): a grid at least 6 cm
    inside the edges (more for a wide object: a hand closes round it), ``SPOT_CLEARANCE`` from
    every other object, nearest the robot first."""
    board = world.surface(surface)
    state = world.object(obj)
    above_bottom = float(state.pos[2] - state.bottom)
    margin = max(0.06, world.object_shape(obj).widest / 2.0 + 0.03)
    lo = board.center[:2] - board.half[:2] + margin
    hi = board.center[:2] + board.half[:2] - margin
    xs = np.arange(lo[0], hi[0] + 1e-9, SPOT_GRID) if hi[0] >= lo[0] else np.array([board.center[0]])
    ys = np.arange(lo[1], hi[1] + 1e-9, SPOT_GRID) if hi[1] >= lo[1] else np.array([board.center[1]])
    grid = np.array([[x, y] for x in xs for y in ys])
    others = np.array([world.object(n).pos[:2] for n in world.object_names() if n != obj]).reshape(-1, 2)
    if len(others):
        gaps = np.linalg.norm(grid[:, None, :] - others[None, :, :], axis=2).min(axis=1)
        grid = grid[gaps >= SPOT_CLEARANCE]
    grid = grid[np.argsort(np.linalg.norm(grid, axis=1), kind="stable")]
    return [np.array([x, y, board.top + above_bottom]) for x, y in grid]


def held_grasp(skill: ArmSkill, obj: str) -> HandGrasp:
    """How the skill's hand holds ``obj`` now, measured: the grasp site's pose and where the
    object sits in it. Palm down is a top grasp, anything else a side grasp."""
    pose = skill._site_pose(skill.world.joint_positions())
    state = skill.world.object(obj)
    shape = skill.world.object_shape(obj)
    kind = "top" if held_from_above(skill, skill.side) else "side"
    top = state.bottom + shape.height
    head = HAND_HEIGHT if kind == "top" else max(0.04, top - pose.pos[2])
    in_hand = pose.rot.T @ (state.pos - pose.pos)
    return HandGrasp(kind, pose.rot, pose.pos, pose.pos, head, in_hand)


def place_phases(
    skill: ArmSkill, plan: MotionPlan, obj: str, surface: str, grasp: HandGrasp, max_spots: int = 12
) -> None:
    """Carry the held ``obj`` (held by ``grasp``) to the first reachable free spot of ``surface``
    (under any board above it), lower it, let go, back away and bring the arm to rest. A top
    grasp carries the object level with the fingers along +x; a side grasp keeps its frame."""
    start = skill._site_pose(plan.end)
    fingers = plan.end[skill._hand]
    spots = free_spots(skill.world, surface, obj)
    if not spots:
        raise SkillPlanError(f"{skill.name}: no free spot on {surface} for {obj}")
    skill.held_as = (obj, grasp)
    failures: list[str] = []
    for spot in spots[:max_spots]:
        for carry_rot in _carry_rotations(skill, grasp, spot):
            if not _release_in_reach(skill, plan.end, spot, grasp, carry_rot):
                where = np.round(spot, 3).tolist()
                failures.append(f"{skill.name}: the {skill.side} hand cannot set {obj} down at {where}")
                continue
            trial = MotionPlan(skill.description, plan.start, list(plan.phases))
            try:
                _carry_and_release(skill, trial, start, fingers, spot, obj, grasp, carry_rot)
            except SkillPlanError as exc:
                failures.append(str(exc))
                continue
            plan.phases[:] = trial.phases
            return
    raise SkillPlanError(f"{skill.name}: no reachable free spot on {surface}; first failure: {failures[0]}")


RELEASE_CHECK_M = 0.01
"""m: a release point whose quick IK ends further than this is not planned in full (the full
plan, waypoint by waypoint, is ten times the work; its own tolerance is tighter)."""


def _release_in_reach(skill: ArmSkill, q: np.ndarray, spot: np.ndarray, grasp: HandGrasp, rot: np.ndarray) -> bool:
    """Whether the hand, from joints ``q`` (n,), puts the held object's origin on ``spot`` (3,)
    with its grasp frame at ``rot`` (3, 3): one IK, before the carry is planned waypoint by
    waypoint."""
    slip = SIDE_SLIP_M if grasp.kind == "side" else 0.0
    release = spot + np.array([0.0, 0.0, PLACE_DROP + slip]) - rot @ grasp.in_hand
    groups = [*(["waist"] if skill.lean else []), arm_group(skill.side)]
    result = skill.kinematics.solve(q, {skill._site: Pose(release, rot)}, groups, restarts=2)
    return bool(result.position_error[skill._site] <= RELEASE_CHECK_M)


SIDE_CARRY_TURNS = np.deg2rad([0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0, 120.0, -120.0, 180.0])
"""Turns about the vertical a side grasp may make on its way to a spot (the object is round)."""


TOP_CARRY_YAWS = np.deg2rad([0.0, -90.0, 90.0])
"""Headings (about the vertical, from +x) a top grasp's fingers may carry an object at: forward
first; across the body when the spot is on the far side for this hand (the left hand to a shelf
on the right reaches it only with its fingers pointing right)."""


def carry_frames(grasp: HandGrasp) -> list[np.ndarray]:
    """Frames (3, 3) a held object may be carried and set down in, best first: palm down with the
    fingers at each of ``TOP_CARRY_YAWS`` for a top grasp (a box held from above may land turned;
    a round one looks the same), the grasp's own frame for a side grasp (then turned about the
    vertical per spot, ``_carry_rotations``)."""
    if grasp.kind == "top":
        return [top_grasp_rotation_yaw(float(yaw)) for yaw in TOP_CARRY_YAWS]
    return [grasp.rot]


def _carry_rotations(skill: ArmSkill, grasp: HandGrasp, spot: np.ndarray) -> list[np.ndarray]:
    """Frames (3, 3) to carry the object in: palm down for a top grasp (``carry_frames``); for a
    side grasp, the grasp's frame turned about the vertical so that the hand sits between the
    spot and the robot's ready point (it backs away the way it came, not past the object), the
    best three."""
    if grasp.kind == "top":
        return carry_frames(grasp)
    home = skill._ready_point()[:2] - spot[:2]
    home /= max(float(np.linalg.norm(home)), 1e-9)
    turns = [Rotation.from_euler("z", a).as_matrix() @ grasp.rot for a in SIDE_CARRY_TURNS]
    # The palm's normal points from the hand to the object: away from the ready point is best.
    return sorted(turns, key=lambda rot: float(rot[:2, 2] @ home))[:3]


def _carry_and_release(
    skill: ArmSkill,
    plan: MotionPlan,
    start: Pose,
    fingers: np.ndarray,
    spot: np.ndarray,
    obj: str,
    grasp: HandGrasp,
    carry_rot: np.ndarray,
) -> None:
    slip = SIDE_SLIP_M if grasp.kind == "side" else 0.0
    # The grasp site where the object's origin lands on the spot, let go just above it.
    release = spot + np.array([0.0, 0.0, PLACE_DROP + slip]) - carry_rot @ grasp.in_hand
    ceiling = _headroom(skill.world, release) - grasp.head_m
    carry_z = min(max(start.pos[2], release[2] + CARRY_CLEARANCE + 2.0 * slip), ceiling)
    if carry_z < release[2]:
        raise SkillPlanError(f"{skill.name}: no headroom above {np.round(spot, 3).tolist()}")
    up = np.array([start.pos[0], start.pos[1], carry_z])
    over = np.array([release[0], release[1], carry_z])
    # A top grasp turns level as it rises; a side grasp turns on the way over (a turn straight
    # above where it picked is often out of the arm's reach).
    side = grasp.kind == "side"
    raised_rot = start.rot if side else carry_rot
    raise_ = skill._line(plan.end, start.pos, up, start.rot, fingers, raised_rot)
    plan.go("raise to carry height", raise_, speed=SLOW)
    carry = skill._line(plan.end, up, over, raised_rot, fingers, carry_rot)
    plan.go("carry", carry, speed=SLOW, gate=holding_gate(obj, skill.side))
    plan.go("lower", skill._line(plan.end, over, release, carry_rot, fingers), speed=SLOW)
    plan.set_joints("let go", skill._hand, HAND_OPEN, 0.5)
    ready = skill._ready_point()
    if grasp.kind == "side":
        # Out along the palm's normal first: the open fingers leave the object's side the way
        # they came, and nothing above (an upper board) is in the way.
        out = release - carry_rot[:, 2] * SIDE_STANDOFF_M
        plan.go("clear the object", skill._line(plan.end, release, out, carry_rot, HAND_OPEN), speed=SLOW)
        clear_z = min(max(out[2], ready[2]), ceiling)
        lifted = np.array([out[0], out[1], max(clear_z, out[2])])
        plan.go("rise", skill._line(plan.end, out, lifted, carry_rot, HAND_OPEN), speed=SLOW)
    else:
        # Up off the object, and at least to the height the hand passes the table's edge at,
        # unless a board above is lower.
        clear_z = min(max(release[2] + 0.03, ready[2]), ceiling)
        lifted = np.array([release[0], release[1], max(clear_z, release[2])])
        plan.go("clear the object", skill._line(plan.end, release, lifted, carry_rot, HAND_OPEN), speed=SLOW)
    back = np.array([ready[0], ready[1], lifted[2]])
    plan.go("back away", skill._line(plan.end, lifted, back, carry_rot, HAND_OPEN), speed=SLOW)
    skill._retreat_home(plan)
