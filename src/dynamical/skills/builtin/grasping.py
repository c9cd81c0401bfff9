"""Grasping with one hand: which hand takes an object (and whether it leans), the grasps its
shape allows (``skills.grasps``), and the phases of a grasp: open, approach, move in, close, lift
clear, check the grip."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import Pose
from dynamical.skills.builtin.arm import SLOW, ArmSkill, holding_gate
from dynamical.skills.builtin.placing import carry_frames
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.builtin.sides import choose_side, hand_is_empty, preferred_sides
from dynamical.skills.grasps import HandGrasp, NoGraspError, Obstacle, grasp_candidates
from dynamical.skills.hands import HAND_CLOSED, HAND_OPEN, arm_group
from dynamical.skills.motion import top_grasp_rotation
from dynamical.skills.world_model import WorldModel

SIDE_RISE = 0.08
"""m above its standoff a side-grasping hand arrives before going down beside the object."""
GRASP_LIFT = 0.04
"""m a grasp raises the object, enough that it rests on nothing."""


def resolve_object_side(skill: ArmSkill, obj: str, points: list[np.ndarray]) -> None:
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


def _reaches(
    skill: ScriptedSkill,
    side: str,
    lean: bool,
    points: list[np.ndarray],
    rot: np.ndarray,
    then: list[np.ndarray] = (),
    then_rots: list[np.ndarray] = (),
) -> bool:
    """Whether the ``side`` hand reaches every point (3,) in turn with its grasp frame at ``rot``
    (3, 3), position and orientation, then every point of ``then`` with one of ``then_rots``."""
    q = _reach_all(skill, side, lean, skill.world.joint_positions(), points, rot)
    if q is None:
        return False
    return not then or any(_reach_all(skill, side, lean, q, then, r) is not None for r in then_rots)


def _reach_all(
    skill: ScriptedSkill, side: str, lean: bool, q: np.ndarray, points: list[np.ndarray], rot: np.ndarray
) -> np.ndarray | None:
    """The joints (n,) reaching the last of ``points`` (3,) in turn at ``rot`` (3, 3), each IK
    seeded with the previous solution and, where that ends short, again from the measured
    joints (an arm crossing the body finds its way from rest more easily); None when one is out
    of reach."""
    site = skill.world.grasp_site(side)
    groups = [*(["waist"] if lean else []), arm_group(side)]
    seeds = [skill.world.joint_positions()]
    for point in points:
        target = {site: Pose(np.asarray(point, float), rot)}
        for seed in (q, *seeds):
            result = skill.kinematics.solve(seed, target, groups, restarts=2)
            if (
                result.position_error[site] <= CHOICE_TOLERANCE_M
                and result.orientation_error[site] <= CHOICE_ANGLE_RAD
            ):
                break
        else:
            return None
        q = result.q
    return q


def resolve_grasp_side(skill: ArmSkill, obj: str, then: Callable[[HandGrasp], list[np.ndarray]] | None = None) -> None:
    """Choose the hand (and whether to lean) for grasping ``obj``: the first empty hand, nearest
    side first, with a grasp whose way in it reaches, and then the grasp-site points
    ``then(grasp)`` (3,) after it in one of the frames the object may be carried in. Every
    feasible hand goes to ``skill.options``, for ``prepare`` to fall back on."""
    given = skill.params.get("side")
    if given is not None:
        skill._use(given)
        return
    state = skill.world.object(obj)
    reasons: list[str] = []
    options: list[tuple[str, bool]] = []
    for lean in (False, True):
        for side in preferred_sides(state.pos):
            if any(side == chosen for chosen, _ in options) or not hand_is_empty(skill.world, side):
                continue
            try:
                grasps = grasps_for(skill, obj, side)
            except NoGraspError as exc:
                reasons.append(str(exc))
                continue
            for grasp in grasps:
                after = then(grasp) if then else []
                if _reaches(skill, side, lean, [grasp.standoff, grasp.site], grasp.rot, after, carry_frames(grasp)):
                    options.append((side, lean))
                    break
    if not options:
        why = f" ({reasons[0]})" if reasons else ""
        raise SkillPlanError(f"{skill.name}: no empty hand reaches a grasp of {obj}, even leaning{why}")
    # The first choice plans; the others are there for when its whole plan fails (a check of a
    # few points cannot see every waypoint of the way).
    skill._use(*options[0])
    skill.options = tuple(options)


def grasp_phases(
    skill: ArmSkill,
    plan: MotionPlan,
    obj: str,
    then: Callable[[MotionPlan, HandGrasp], None] | None = None,
) -> HandGrasp:
    """Open, approach, move in, close, lift clear; gated on holding the object. Tries the hand's
    grasps of the object's shape in order, each with ``then(plan, grasp)`` (the phases that
    follow, e.g. a place) planned after it; returns the first grasp with which both plan."""
    failures: list[str] = []
    grasps = grasps_for(skill, obj, skill.side)
    then_failed: set[str] = set()
    for grasp in grasps:
        if grasp.kind in then_failed:
            # The phases after a grasp try every frame the object may be carried in, whatever
            # the hand's heading at the grasp: another grasp of the same kind fails them again.
            continue
        trial = MotionPlan(skill.description, plan.start, list(plan.phases))
        try:
            _grasp_with(skill, trial, obj, grasp)
        except SkillPlanError as exc:
            failures.append(f"{grasp.describe()}: {exc}")
            continue
        try:
            if then is not None:
                then(trial, grasp)
        except SkillPlanError as exc:
            failures.append(f"{grasp.describe()}: {exc}")
            then_failed.add(grasp.kind)
            continue
        plan.phases[:] = trial.phases
        if then is None:
            skill.held_as = (obj, grasp)
        return grasp
    kinds = sorted({g.kind for g in grasps})
    raise SkillPlanError(
        f"{skill.name}: none of {len(grasps)} {'/'.join(kinds)} grasps of {obj} is reachable; first: {failures[0]}"
    )


def _grasp_with(skill: ArmSkill, plan: MotionPlan, obj: str, grasp: HandGrasp) -> None:
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
    plan.hold("check the grip", 0.2, gate=holding_gate(obj, skill.side))
