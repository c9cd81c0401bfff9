"""The base of the one-arm manipulation skills: a skill driving one arm and its hand, its moves
(IK to a pose, straight lines of IK waypoints) and its way to and from the table."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dynamical.robot.kinematics import Pose
from dynamical.runtime.channels import StateSample
from dynamical.skills.builtin.posture import withdraw_arm
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.executor import SkillStep
from dynamical.skills.grasps import HandGrasp
from dynamical.skills.hands import arm_group, hand_group
from dynamical.skills.manifest import Predicate
from dynamical.skills.motion import UnreachableError, line_waypoints, solve_reach

READY_ABOVE_TABLE = 0.20
"""m above the table the hand passes on its way from the rest pose, clear of the table's edge."""
HAND_HEIGHT = 0.10
"""m from the grasp site to the top of a top-grasping hand: the headroom a carry needs."""
TUCK_X = 0.12
"""m ahead of the body a hand comes in to before it swings down to rest: its fingers clear of
the table's edge (0.28 m)."""
SLOW = 0.5
"""rad/s: the pace of moves with an object or a surface close by."""


def top_grasp_rotation_yaw(yaw: float) -> np.ndarray:
    """(3, 3) a top grasp (palm down) with the fingers along (cos yaw, sin yaw, 0)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.column_stack([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])


LEVEL = top_grasp_rotation_yaw(0.0)
"""(3, 3) a top grasp with the fingers along +x."""


def holding_gate(obj: str, side: str) -> Predicate:
    """The gate a phase ends on when the hand must hold ``obj``."""
    return Predicate(name="holding", args={"obj": obj, "side": side})


class ArmSkill(ScriptedSkill):
    """A skill driving one arm and its hand, ``self.side``."""

    side: str

    lean = False
    """Whether IK may bend the waist too: a far object is out of the arm's reach alone."""

    options: tuple[tuple[str, bool], ...] = ()
    """(side, lean) choices ``resolve`` found feasible, best first: when the whole plan fails with
    the first (a quick reachability check cannot see every waypoint), ``prepare`` tries the next."""

    held_as: tuple[str, HandGrasp] | None = None
    """The object the planned motion holds and the grasp it is held by (set by the plan): a
    grip that fails says how far the object is from where that grasp should hold it."""

    def step(self, t: float, state: StateSample) -> SkillStep:
        out = super().step(t, state)
        if out.failed is not None and self.held_as is not None and "holding(" in out.failed:
            obj, grasp = self.held_as
            out = replace(out, failed=f"{out.failed}; {grip_offset(self, obj, grasp)}")
        return out

    def _use(self, side: str, lean: bool = False) -> None:
        self.side, self.lean = side, lean
        self.params["side"] = side
        self.groups = (*(("waist",) if lean else ()), arm_group(side), hand_group(side))

    def prepare(self, q_start: np.ndarray) -> MotionPlan:
        """Plan with each of ``options`` in turn (the resolved side alone when there are none):
        the arm alone first, leaning with the waist only when that fails. Raises SkillPlanError
        naming why each hand failed."""
        options = self.options or ((self.side, self.lean),)
        failures: list[str] = []
        for side, lean in options:
            self._use(side, lean)
            try:
                return self._prepare_leaning(q_start)
            except SkillPlanError as exc:
                failures.append(str(exc).removeprefix(f"{self.name}: "))
        if len(failures) == 1:
            raise SkillPlanError(f"{self.name}: {failures[0]}")
        raise SkillPlanError(f"{self.name}: neither hand has a plan ({'; '.join(failures)})")

    def _prepare_leaning(self, q_start: np.ndarray) -> MotionPlan:
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
        return ArmHand(self, self.side, self.lean).reach(q_from, pos, rot, fingers)

    def _line(
        self,
        q_from: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        rot: np.ndarray,
        fingers: np.ndarray,
        rot_end: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        return ArmHand(self, self.side, self.lean).line(q_from, start, end, rot, fingers, rot_end)

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
            # The fingers reach past the grasp site over the table's edge (the index fingertip
            # caught on it as the arm swung down, a kernel intervention in a nominal task):
            # the hand comes in toward the body at its height first.
            pose = self._site_pose(plan.end)
            if pose.pos[0] > TUCK_X + 0.01:
                inward = np.array([TUCK_X, pose.pos[1], pose.pos[2]])
                try:
                    line = self._line(plan.end, pose.pos, inward, pose.rot, plan.end[self._hand])
                except UnreachableError:
                    line = None  # as before: straight down from where it is
                if line is not None:
                    plan.go("in from the table's edge", line, speed=SLOW)
            current = plan.end
            arm = self.description.group_indices(arm_group(self.side))
            current[arm] = self.description.home[arm]
            plan.go("back to rest", current)
            return
        # A hand high up (over the upper shelf) comes down beside the table's edge first, still
        # leaning: straightening carries it forward and down, out of the upright arm's reach.
        pose = self._site_pose(plan.end)
        ready = self._ready_point()
        if pose.pos[2] > ready[2] + 0.05:
            low = np.array([pose.pos[0], pose.pos[1], ready[2]])
            fingers = plan.end[self._hand]
            plan.go("lower beside the table", self._line(plan.end, pose.pos, low, pose.rot, fingers), speed=SLOW)
        waist = self.description.group_indices("waist")
        plan.set_joints("straighten up", waist, self.description.home[waist], 1.2)
        withdraw_arm(self, plan, self.side)

    def _lean_if_leaning(self) -> None:
        """A skill that starts leaning (after a far grasp) drives the waist, so it can straighten."""
        waist = self.description.group_indices("waist")
        if np.max(np.abs(self.world.joint_positions()[waist] - self.description.home[waist])) > 0.02:
            self._use(self.side, lean=True)


GRIP_OFFSET_SHOWN_M = 0.005
"""m: an offset component smaller than this is left out of a grip's explanation."""
_DIRECTION_WORDS = (("forward", "back"), ("to the left", "to the right"), ("higher", "lower"))
"""The robot's x, y and z (the world's, its mount at the origin) in an operator's words."""


def grip_offset(skill: ArmSkill, obj: str, grasp: HandGrasp) -> str:
    """Where ``obj`` is against where ``grasp`` should hold it in the skill's hand now (its grasp
    site measured), in the robot's directions: "red_cup is 24.8 cm from where the left hand's
    grasp should hold it (24.7 cm forward, 1.9 cm lower)"."""
    pose = skill.kinematics.site_pose(skill.world.joint_positions(), skill.world.grasp_site(skill.side))
    offset = skill.world.object(obj).pos - (pose.pos + pose.rot @ grasp.in_hand)  # (3,) m, world
    words = []
    for value, (plus, minus) in zip(offset, _DIRECTION_WORDS, strict=True):
        if abs(value) >= GRIP_OFFSET_SHOWN_M:
            words.append(f"{abs(value) * 100:.1f} cm {plus if value > 0 else minus}")
    where = f" ({', '.join(words)})" if words else ""
    return (
        f"{obj} is {np.linalg.norm(offset) * 100:.1f} cm from where the {skill.side} hand's "
        f"{grasp.describe()} should hold it{where}"
    )


class ArmHand:
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


def held_from_above(skill: ScriptedSkill, side: str) -> bool:
    """Whether the ``side`` hand's palm faces down (a top grasp) now."""
    rot = skill.kinematics.site_pose(skill.world.joint_positions(), skill.world.grasp_site(side)).rot
    return bool(rot[2, 2] < -0.7)
