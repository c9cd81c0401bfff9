"""Built-in manipulation skills of the default humanoid: reach, grasp, lift, place, pick and
place, handover. The grasp comes from the object's shape (``skills.grasps``: from above for a
small box, from the side round a cup); every Cartesian stretch near an object or a surface is a
straight line of IK waypoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import Pose
from dynamical.skills.builtin.posture import withdraw_arm
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.builtin.sides import (
    choose_side,
    hand_is_empty,
    held_objects,
    other,
    preferred_sides,
)
from dynamical.skills.grasps import SIDE_SLIP_M, SIDE_STANDOFF_M, HandGrasp, NoGraspError, Obstacle, grasp_candidates
from dynamical.skills.hands import HAND_CLOSED, HAND_CUPPED, HAND_OPEN, arm_group, hand_group
from dynamical.skills.manifest import Predicate
from dynamical.skills.motion import (
    UnreachableError,
    line_waypoints,
    solve_reach,
    top_grasp_rotation,
)
from dynamical.skills.targets import approach_point
from dynamical.skills.world_model import WorldModel

SIDE_RISE = 0.08
"""m above its standoff a side-grasping hand arrives before going down beside the object."""
GRASP_LIFT = 0.04
"""m a grasp raises the object, enough that it rests on nothing."""
READY_ABOVE_TABLE = 0.20
"""m above the table the hand passes on its way from the rest pose, clear of the table's edge."""
CARRY_CLEARANCE = 0.035
"""m an object's bottom keeps above the surface it is carried onto."""
HAND_HEIGHT = 0.10
"""m from the grasp site to the top of a top-grasping hand: the headroom a carry needs."""
PLACE_DROP = 0.004
"""m above the surface an object is let go: it settles without being pressed into the board."""
SPOT_GRID = 0.02
"""m between candidate spots on a surface."""
SPOT_CLEARANCE = 0.10
"""m a placed object keeps from every other object (centre to centre, in x-y)."""
SLOW = 0.5
"""rad/s: the pace of moves with an object or a surface close by."""
HANDOVER_POINT = np.array([0.30, 0.0, 1.00])
"""m, world: where the giving hand holds the object for the other hand."""
HANDOVER_BELOW = 0.12
"""m below the object the taking hand starts its way up."""


def top_grasp_rotation_yaw(yaw: float) -> np.ndarray:
    """(3, 3) a top grasp (palm down) with the fingers along (cos yaw, sin yaw, 0)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.column_stack([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])


LEVEL = top_grasp_rotation_yaw(0.0)
"""(3, 3) a top grasp with the fingers along +x."""


def _holding(obj: str, side: str) -> Predicate:
    return Predicate(name="holding", args={"obj": obj, "side": side})


class _ArmSkill(ScriptedSkill):
    """A skill driving one arm and its hand, ``self.side``."""

    side: str

    lean = False
    """Whether IK may bend the waist too: a far object is out of the arm's reach alone."""

    def _use(self, side: str, lean: bool = False) -> None:
        self.side, self.lean = side, lean
        self.params["side"] = side
        self.groups = (*(("waist",) if lean else ()), arm_group(side), hand_group(side))

    def prepare(self, q_start: np.ndarray) -> MotionPlan:
        """Plan with the arm alone; lean with the waist only when that fails."""
        try:
            return super().prepare(q_start)
        except SkillPlanError:
            if self.lean:
                raise
            self._use(self.side, lean=True)
            return super().prepare(q_start)

    @property
    def _site(self) -> str:
        return self.world.grasp_site(self.side)

    @property
    def _hand(self) -> np.ndarray:
        return self.description.group_indices(hand_group(self.side))

    def _reach(self, q_from: np.ndarray, pos: np.ndarray, rot: np.ndarray, fingers: np.ndarray) -> np.ndarray:
        return _Hand(self, self.side, self.lean).reach(q_from, pos, rot, fingers)

    def _line(
        self,
        q_from: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        rot: np.ndarray,
        fingers: np.ndarray,
        rot_end: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        return _Hand(self, self.side, self.lean).line(q_from, start, end, rot, fingers, rot_end)

    def _site_pose(self, q: np.ndarray) -> Pose:
        return self.kinematics.site_pose(q, self._site)

    def _ready_point(self) -> np.ndarray:
        table = "table" in self.world.surface_names()
        height = self.world.surface("table").top if table else 0.75
        return np.array([0.25, 0.25 if self.side == "left" else -0.25, height + READY_ABOVE_TABLE])

    def _approach(self, plan: MotionPlan, goal: np.ndarray, rot: np.ndarray, fingers: np.ndarray) -> None:
        """To ``goal`` (3,) with the hand at ``rot``, passing over the table's edge first when the
        hand starts low (at rest by the body)."""
        ready = self._ready_point()
        if self._site_pose(plan.end).pos[2] < ready[2] - 0.05:
            plan.go("clear the table", self._reach(plan.end, ready, rot, fingers))
        plan.go("approach", self._reach(plan.end, goal, rot, fingers))

    def _retreat_home(self, plan: MotionPlan) -> None:
        """From the ready point above the table's edge, to rest. Upright, the arm swings down
        beside the table; leaning, the body straightens first and the hand comes back in
        straight moves, as straightening carries it forward over the table."""
        if not self.lean:
            current = plan.end
            arm = self.description.group_indices(arm_group(self.side))
            current[arm] = self.description.home[arm]
            plan.go("back to rest", current)
            return
        waist = self.description.group_indices("waist")
        plan.set_joints("straighten up", waist, self.description.home[waist], 1.2)
        withdraw_arm(self, plan, self.side)

    def _lean_if_leaning(self) -> None:
        """A skill that starts leaning (after a far grasp) drives the waist, so it can straighten."""
        waist = self.description.group_indices("waist")
        if np.max(np.abs(self.world.joint_positions()[waist] - self.description.home[waist])) > 0.02:
            self._use(self.side, lean=True)


def _resolve_object_side(skill: _ArmSkill, obj: str, points: list[np.ndarray]) -> None:
    given = skill.params.get("side")
    if given is not None:
        skill._use(given)
        return
    rotations = grasp_rotations(skill.world.object(obj).quat) if obj in skill.world.object_names() else None
    for lean in (False, True):
        side = choose_side(skill.world, skill.kinematics, points, rotations=rotations, lean=lean)
        if side is not None:
            skill._use(side, lean)
            return
    raise SkillPlanError(f"{skill.name}: no empty hand reaches {obj} from above, even leaning")


class Reach(_ArmSkill):
    skill_id = "reach"

    def resolve(self) -> dict[str, Any]:
        target = self.params["target"]
        _resolve_object_side(self, target, [approach_point(self.world, target)])
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        target = self.params["target"]
        rot = self._target_rotation(target)
        plan = MotionPlan(self.description, q_start)
        self._approach(plan, approach_point(self.world, target), rot, HAND_OPEN)
        return plan

    def _target_rotation(self, target: str) -> np.ndarray:
        if target in self.world.object_names():
            return top_grasp_rotation(self.world.object(target).quat)
        return LEVEL


def grasp_rotations(quat: np.ndarray) -> list[np.ndarray]:
    """Top-grasp frames (3, 3) for a box, the one with the fingers nearest +x first, then the
    quarter turns: a box looks the same every 90°, and a far or off-centre one is often reachable
    only with the fingers across."""
    first = top_grasp_rotation(quat)
    turns = [Rotation.from_euler("z", a).as_matrix() for a in (0.0, np.pi / 2, -np.pi / 2)]
    return [turn @ first for turn in turns]


def _shoulder(skill: ScriptedSkill, side: str) -> np.ndarray:
    """(3,) m, world: where the ``side`` arm starts (the body of its first joint)."""
    model = skill.kinematics.model
    first = skill.description.joint_names[int(skill.description.group_indices(arm_group(side))[0])]
    body = model.body(int(model.jnt_bodyid[model.joint(first).id])).name
    return skill.kinematics.body_pose(skill.world.joint_positions(), body).pos


def _obstacles(world: WorldModel, obj: str) -> list[Obstacle]:
    out = []
    for name in world.object_names():
        if name == obj:
            continue
        state, shape = world.object(name), world.object_shape(name)
        out.append(Obstacle(name, state.pos[:2].copy(), shape.widest / 2.0, state.bottom + shape.height))
    return out


def grasps_for(skill: ScriptedSkill, obj: str, side: str) -> list[HandGrasp]:
    """The ``side`` hand's grasps of ``obj`` from its shape, in the order to try them."""
    world = skill.world
    return grasp_candidates(
        world.object(obj), world.object_shape(obj), side, _shoulder(skill, side), _obstacles(world, obj)
    )


CHOICE_TOLERANCE_M = 0.005
"""m: a hand is chosen when its IK (two restarts) ends this close to each point; the planner's
own IK (more restarts, ``motion.solve_reach``) settles the rest."""
CHOICE_ANGLE_RAD = 0.05


def _reaches(skill: ScriptedSkill, side: str, lean: bool, points: list[np.ndarray], rot: np.ndarray) -> bool:
    """Whether the ``side`` hand reaches every point (3,) in turn with its grasp frame at ``rot``
    (3, 3), position and orientation."""
    site = skill.world.grasp_site(side)
    groups = [*(["waist"] if lean else []), arm_group(side)]
    q = skill.world.joint_positions()
    for point in points:
        result = skill.kinematics.solve(q, {site: Pose(np.asarray(point, float), rot)}, groups, restarts=2)
        if result.position_error[site] > CHOICE_TOLERANCE_M or result.orientation_error[site] > CHOICE_ANGLE_RAD:
            return False
        q = result.q
    return True


def _resolve_grasp_side(
    skill: _ArmSkill, obj: str, then: Callable[[HandGrasp], list[np.ndarray]] | None = None
) -> None:
    """Choose the hand (and whether to lean) for grasping ``obj``: the first empty hand, nearest
    side first, with a grasp whose way in, and the grasp-site points ``then(grasp)`` (3,) after
    it, it reaches."""
    given = skill.params.get("side")
    if given is not None:
        skill._use(given)
        return
    state = skill.world.object(obj)
    reasons: list[str] = []
    for lean in (False, True):
        for side in preferred_sides(state.pos):
            if not hand_is_empty(skill.world, side):
                continue
            try:
                grasps = grasps_for(skill, obj, side)
            except NoGraspError as exc:
                reasons.append(str(exc))
                continue
            for grasp in grasps:
                points = [grasp.standoff, grasp.site, *(then(grasp) if then else [])]
                if _reaches(skill, side, lean, points, grasp.rot):
                    skill._use(side, lean)
                    return
    why = f" ({reasons[0]})" if reasons else ""
    raise SkillPlanError(f"{skill.name}: no empty hand reaches a grasp of {obj}, even leaning{why}")


def grasp_phases(skill: _ArmSkill, plan: MotionPlan, obj: str) -> HandGrasp:
    """Open, approach, move in, close, lift clear; gated on holding the object. Tries the hand's
    grasps of the object's shape in order; returns the one planned."""
    failures: list[str] = []
    grasps = grasps_for(skill, obj, skill.side)
    for grasp in grasps:
        trial = MotionPlan(skill.description, plan.start, list(plan.phases))
        try:
            _grasp_with(skill, trial, obj, grasp)
        except SkillPlanError as exc:
            failures.append(f"{grasp.describe()}: {exc}")
            continue
        plan.phases[:] = trial.phases
        return grasp
    kinds = sorted({g.kind for g in grasps})
    raise SkillPlanError(
        f"{skill.name}: none of {len(grasps)} {'/'.join(kinds)} grasps of {obj} is reachable; first: {failures[0]}"
    )


def _grasp_with(skill: _ArmSkill, plan: MotionPlan, obj: str, grasp: HandGrasp) -> None:
    plan.set_joints("open the hand", skill._hand, HAND_OPEN, 0.4)
    if grasp.kind == "side":
        # Down beside the object from above it, then in along the palm's normal: the open
        # fingers pass round the object's side, clear of it and of the surface.
        over = grasp.standoff + np.array([0.0, 0.0, SIDE_RISE])
        skill._approach(plan, over, grasp.rot, HAND_OPEN)
        plan.go("down beside", skill._line(plan.end, over, grasp.standoff, grasp.rot, HAND_OPEN), speed=SLOW)
        plan.go("move in", skill._line(plan.end, grasp.standoff, grasp.site, grasp.rot, HAND_OPEN), speed=SLOW)
    else:
        skill._approach(plan, grasp.standoff, grasp.rot, HAND_OPEN)
        plan.go("descend", skill._line(plan.end, grasp.standoff, grasp.site, grasp.rot, HAND_OPEN), speed=SLOW)
    plan.set_joints("close the hand", skill._hand, HAND_CLOSED, 0.6)
    lifted = grasp.site + np.array([0.0, 0.0, GRASP_LIFT])
    plan.go("lift clear", skill._line(plan.end, grasp.site, lifted, grasp.rot, HAND_CLOSED), speed=SLOW)
    plan.hold("check the grip", 0.2, gate=_holding(obj, skill.side))


class Grasp(_ArmSkill):
    skill_id = "grasp"

    def resolve(self) -> dict[str, Any]:
        _resolve_grasp_side(self, self.params["obj"])
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        grasp_phases(self, plan, self.params["obj"])
        return plan


def _resolve_held(skill: _ArmSkill) -> str:
    """Fill ``obj`` and ``side`` from what the hands hold; returns the object."""
    side, obj = skill.params.get("side"), skill.params.get("obj")
    for candidate in [side] if side is not None else ["right", "left"]:
        held = held_objects(skill.world, candidate)
        if obj is None and held:
            obj = held[0]
        if obj is not None and obj in held:
            skill._use(candidate)
            skill.params["obj"] = obj
            return obj
    what = obj or "anything"
    hands = f"the {side} hand does not hold" if side else "neither hand holds"
    raise SkillPlanError(f"{skill.name}: {hands} {what}")


class Lift(_ArmSkill):
    skill_id = "lift"

    def resolve(self) -> dict[str, Any]:
        _resolve_held(self)
        self._lean_if_leaning()
        self.params.setdefault("height", 0.1)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        pose = self._site_pose(q_start)
        fingers = q_start[self._hand]
        top = pose.pos + np.array([0.0, 0.0, float(self.params["height"])])
        plan.go("lift", self._line(q_start, pose.pos, top, pose.rot, fingers), speed=SLOW)
        plan.hold("check the grip", 0.2, gate=_holding(self.params["obj"], self.side))
        return plan


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


def held_grasp(skill: _ArmSkill, obj: str) -> HandGrasp:
    """How the skill's hand holds ``obj`` now, measured: the grasp site's pose and where the
    object sits in it. Palm down is a top grasp, anything else a side grasp."""
    pose = skill._site_pose(skill.world.joint_positions())
    state = skill.world.object(obj)
    shape = skill.world.object_shape(obj)
    kind = "top" if pose.rot[2, 2] < -0.7 else "side"
    top = state.bottom + shape.height
    head = HAND_HEIGHT if kind == "top" else max(0.04, top - pose.pos[2])
    in_hand = pose.rot.T @ (state.pos - pose.pos)
    return HandGrasp(kind, pose.rot, pose.pos, pose.pos, head, in_hand)


def place_phases(
    skill: _ArmSkill, plan: MotionPlan, obj: str, surface: str, grasp: HandGrasp, max_spots: int = 12
) -> None:
    """Carry the held ``obj`` (held by ``grasp``) to the first reachable free spot of ``surface``
    (under any board above it), lower it, let go, back away and bring the arm to rest. A top
    grasp carries the object level with the fingers along +x; a side grasp keeps its frame."""
    start = skill._site_pose(plan.end)
    fingers = plan.end[skill._hand]
    spots = free_spots(skill.world, surface, obj)
    if not spots:
        raise SkillPlanError(f"{skill.name}: no free spot on {surface} for {obj}")
    failures: list[str] = []
    for spot in spots[:max_spots]:
        for carry_rot in _carry_rotations(skill, grasp, spot):
            trial = MotionPlan(skill.description, plan.start, list(plan.phases))
            try:
                _carry_and_release(skill, trial, start, fingers, spot, obj, grasp, carry_rot)
            except SkillPlanError as exc:
                failures.append(str(exc))
                continue
            plan.phases[:] = trial.phases
            return
    raise SkillPlanError(f"{skill.name}: no reachable free spot on {surface}; first failure: {failures[0]}")


SIDE_CARRY_TURNS = np.deg2rad([0.0, 30.0, -30.0, 60.0, -60.0, 90.0, -90.0, 120.0, -120.0, 180.0])
"""Turns about the vertical a side grasp may make on its way to a spot (the object is round)."""


def _carry_rotations(skill: _ArmSkill, grasp: HandGrasp, spot: np.ndarray) -> list[np.ndarray]:
    """Frames (3, 3) to carry the object in: level for a top grasp; for a side grasp, the grasp's
    frame turned about the vertical so that the hand sits between the spot and the robot's
    ready point (it backs away the way it came, not past the object), the best three."""
    if grasp.kind == "top":
        return [LEVEL]
    home = skill._ready_point()[:2] - spot[:2]
    home /= max(float(np.linalg.norm(home)), 1e-9)
    turns = [Rotation.from_euler("z", a).as_matrix() @ grasp.rot for a in SIDE_CARRY_TURNS]
    # The palm's normal points from the hand to the object: away from the ready point is best.
    return sorted(turns, key=lambda rot: float(rot[:2, 2] @ home))[:3]


def _carry_and_release(
    skill: _ArmSkill,
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
    plan.go("carry", carry, speed=SLOW, gate=_holding(obj, skill.side))
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


class Place(_ArmSkill):
    skill_id = "place"

    def resolve(self) -> dict[str, Any]:
        _resolve_held(self)
        self._lean_if_leaning()
        self.world.surface(self.params["surface"])  # an unknown surface fails here, with the known ones
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        obj = self.params["obj"]
        place_phases(self, plan, obj, self.params["surface"], held_grasp(self, obj))
        return plan


class PickAndPlace(_ArmSkill):
    skill_id = "pick_and_place"

    def resolve(self) -> dict[str, Any]:
        obj, surface = self.params["obj"], self.params["surface"]
        state = self.world.object(obj)
        spots = free_spots(self.world, surface, obj)
        if not spots:
            raise SkillPlanError(f"{self.name}: no free spot on {surface} for {obj}")
        def over_first_spot(grasp: HandGrasp) -> list[np.ndarray]:
            # Where the grasp site lets go on the first spot, and above it at carry height (a
            # top grasp turns level on the way; the check keeps the grasp's frame, close enough).
            release = spots[0] + grasp.site - state.pos
            return [release + np.array([0.0, 0.0, CARRY_CLEARANCE + 0.02]), release]

        _resolve_grasp_side(self, obj, over_first_spot)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        grasp = grasp_phases(self, plan, self.params["obj"])
        place_phases(self, plan, self.params["obj"], self.params["surface"], grasp)
        return plan


class Handover(ScriptedSkill):
    """The giving hand brings the object in front of the chest, palm down; the other hand comes
    from below, palm up and fingers across, closes; the giver lets go and goes to rest."""

    skill_id = "handover"

    def resolve(self) -> dict[str, Any]:
        obj, giver, taker = self.params.get("obj"), self.params.get("from_side"), self.params.get("to_side")
        if giver is None and taker is not None:
            giver = other(taker)
        if giver is None:
            holders = [s for s in ("right", "left") if obj in held_objects(self.world, s)]
            if not holders:
                raise SkillPlanError(f"{self.name}: neither hand holds {obj}")
            giver = holders[0]
        taker = taker or other(giver)
        if giver == taker:
            raise SkillPlanError(f"{self.name}: from_side and to_side are both {giver}")
        if not hand_is_empty(self.world, taker):
            raise SkillPlanError(f"{self.name}: the {taker} hand is not empty")
        self.params.update(from_side=giver, to_side=taker)
        self.groups = ("arm_left", "arm_right", "hand_left", "hand_right")
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        obj, giver, taker = self.params["obj"], self.params["from_side"], self.params["to_side"]
        give, take = _Hand(self, giver), _Hand(self, taker)
        plan = MotionPlan(self.description, q_start)
        start = give.pose(q_start)
        fingers = q_start[give.hand]
        point = HANDOVER_POINT
        # The giver's fingers point across the body and hold two faces; the taker comes from below,
        # palm up with its fingers forward, and closes on the other two.
        across = top_grasp_rotation_yaw(np.pi / 2 if giver == "right" else -np.pi / 2)
        palm_up = np.eye(3)  # fingers forward (x), palm up (z)
        up = np.array([start.pos[0], start.pos[1], point[2]])
        plan.go("raise", give.line(plan.end, start.pos, up, start.rot, fingers), speed=SLOW)
        plan.go("bring to the chest", give.line(plan.end, up, point, start.rot, fingers, across), speed=SLOW)
        # Where the object will be: it sits in the giving hand where the grasp left it, not
        # exactly at the grasp site.
        in_hand = start.rot.T @ (self.world.object(obj).pos - start.pos)
        held_at = point + across @ in_hand
        below = held_at - np.array([0.0, 0.0, HANDOVER_BELOW])
        # Up beside the body first: rising from rest in front, the forward fingers would catch the
        # table's edge.
        rest = take.pose(plan.end)
        side_start = np.array([min(rest.pos[0], 0.10), 0.22 if taker == "left" else -0.22, below[2]])
        plan.set_joints("cup the other hand", take.hand, HAND_CUPPED, 0.4)
        raise_hand = take.line(plan.end, rest.pos, side_start, rest.rot, HAND_CUPPED, palm_up)
        plan.go("raise the other hand", raise_hand, speed=SLOW)
        plan.go("under the object", take.line(plan.end, side_start, below, palm_up, HAND_CUPPED), speed=SLOW)
        plan.go("up to the object", take.line(plan.end, below, held_at, palm_up, HAND_CUPPED), speed=SLOW)
        # The giver lets go first and the object settles into the cupped palm; closing while the
        # giver's fingers still wrap it would leave the taker's fingers nothing to close on.
        plan.set_joints("let go", give.hand, HAND_OPEN, 0.5)
        clear = point + np.array([0.0, 0.0, 0.10])
        plan.go("clear the object", give.line(plan.end, point, clear, across, HAND_OPEN), speed=SLOW)
        plan.set_joints("close the other hand", take.hand, HAND_CLOSED, 0.6)
        withdraw_arm(self, plan, giver)
        plan.hold("check the grip", 0.2, gate=_holding(obj, taker))
        return plan


class _Hand:
    """One side's arm and hand, for skills that drive both."""

    def __init__(self, skill: ScriptedSkill, side: str, lean: bool = False) -> None:
        self.skill, self.side = skill, side
        self.ik_groups = [*(["waist"] if lean else []), arm_group(side)]
        self.site = skill.world.grasp_site(side)
        self.hand = skill.description.group_indices(hand_group(side))
        self.arm = skill.description.group_indices(arm_group(side))

    def pose(self, q: np.ndarray) -> Pose:
        return self.skill.kinematics.site_pose(q, self.site)

    def reach(self, q_from: np.ndarray, pos: np.ndarray, rot: np.ndarray, fingers: np.ndarray) -> np.ndarray:
        try:
            q = solve_reach(self.skill.kinematics, q_from, self.site, Pose(pos, rot), self.ik_groups)
        except UnreachableError as exc:
            raise SkillPlanError(f"{self.skill.name}: the {self.side} hand {exc}") from None
        q[self.hand] = fingers
        return q

    def line(
        self,
        q_from: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        rot: np.ndarray,
        fingers: np.ndarray,
        rot_end: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        try:
            points = line_waypoints(
                self.skill.kinematics, q_from, self.site, start, end, rot, self.ik_groups, rot_end=rot_end
            )
        except UnreachableError as exc:
            raise SkillPlanError(f"{self.skill.name}: the {self.side} hand {exc}") from None
        for q in points:
            q[self.hand] = fingers
        return points
