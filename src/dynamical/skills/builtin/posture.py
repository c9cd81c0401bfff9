"""Built-in posture skills: back to the rest pose, open a hand."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.builtin.sides import hand_is_empty
from dynamical.skills.hands import HAND_OPEN, arm_group, hand_group
from dynamical.skills.motion import UnreachableError, line_waypoints
from dynamical.skills.world_model import SIDES

LOWER_TO = np.array([0.0, 0.0, 0.05])
"""m above the resting hand the straight way down ends; a joint move covers the rest."""
NEAR_HOME_RAD = 0.3
"""rad: an arm this close to rest on every joint goes straight home."""
WITHDRAW_X = 0.15
"""m: a hand further forward than this withdraws before the arms go home."""
CLEAR_ABOVE_TABLE = 0.15
"""m above the table a withdrawing hand rises to."""
HOME_SPEED = 0.6
"""rad/s average for the joint that travels furthest: slow, a reset is never urgent."""


def withdraw_arm(skill: ScriptedSkill, plan: MotionPlan, side: str) -> None:
    """An arm away from rest goes home in straight hand moves: up clear of the table when the
    hand is out in front, back beside the body, then down to where the hand rests. Straight
    joint-space interpolation would swing the hand forward through whatever lies below."""
    arm = skill.description.group_indices(arm_group(side))
    home = skill.description.home
    if np.max(np.abs(plan.end[arm] - home[arm])) <= NEAR_HOME_RAD:
        return
    site = skill.world.grasp_site(side)
    pose = skill.kinematics.site_pose(plan.end, site)
    rest = skill.kinematics.site_pose(home, site)
    hand = skill.description.group_indices(hand_group(side))
    fingers = np.minimum(plan.end[hand], HAND_OPEN)  # straight fingers would sweep the table
    plan.set_joints(f"relax the fingers ({side})", hand, fingers, 0.4)
    table = skill.world.surface("table").top if "table" in skill.world.surface_names() else 0.75
    height = max(pose.pos[2], table + CLEAR_ABOVE_TABLE) if pose.pos[0] > WITHDRAW_X else pose.pos[2]
    up = np.array([pose.pos[0], pose.pos[1], height])
    beside = np.array([min(pose.pos[0], WITHDRAW_X), rest.pos[1] + np.sign(rest.pos[1]) * 0.08, height])
    # First keep the hand's orientation on the way up (least motion); where that is out of reach,
    # turn it toward the rest orientation from the start.
    failure: UnreachableError | None = None
    for turn_early in (False, True):
        rise_end = rest.rot if turn_early else None
        withdraw_rot = rest.rot if turn_early else pose.rot
        legs = (
            ("rise", pose.pos, up, pose.rot, rise_end),
            ("withdraw", up, beside, withdraw_rot, None if turn_early else rest.rot),
        )
        trial = MotionPlan(plan.description, plan.start, list(plan.phases))
        try:
            for name, a, b, rot, rot_end in legs:
                if np.linalg.norm(b - a) < 0.01 and rot_end is None:
                    continue
                _leg(skill, trial, site, side, name, a, b, rot, rot_end, fingers)
        except UnreachableError as exc:
            failure = exc
            continue
        # Down beside the body in a straight line where IK allows (a joint-space swing from up
        # here could reach forward), then onto the rest pose's joints exactly.
        with contextlib.suppress(UnreachableError):
            _leg(skill, trial, site, side, "lower", beside, rest.pos + LOWER_TO, rest.rot, None, fingers)
        q = trial.end
        q[arm] = home[arm]
        trial.go(f"rest ({side})", q, speed=HOME_SPEED)
        plan.phases[:] = trial.phases
        return
    raise SkillPlanError(f"{skill.name}: the {side} hand cannot withdraw: {failure}")


def _leg(
    skill: ScriptedSkill,
    plan: MotionPlan,
    site: str,
    side: str,
    name: str,
    start: np.ndarray,
    end: np.ndarray,
    rot: np.ndarray,
    rot_end: np.ndarray | None,
    fingers: np.ndarray,
) -> None:
    points = line_waypoints(skill.kinematics, plan.end, site, start, end, rot, [arm_group(side)], rot_end=rot_end)
    hand = skill.description.group_indices(hand_group(side))
    for q in points:
        q[hand] = fingers
    plan.go(f"{name} ({side})", points, speed=HOME_SPEED)


class GoHome(ScriptedSkill):
    skill_id = "go_home"

    def resolve(self) -> dict[str, Any]:
        self.groups = ("waist", "head", "arm_left", "arm_right", "hand_left", "hand_right")
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        for side in SIDES:
            withdraw_arm(self, plan, side)
        q = plan.end
        for group in self.groups:
            joints = self.description.group_indices(group)
            q[joints] = self.description.home[joints]
        return plan.go("to the rest pose", q, speed=HOME_SPEED, min_s=1.0)


class OpenHand(ScriptedSkill):
    skill_id = "open_hand"

    def resolve(self) -> dict[str, Any]:
        if self.params.get("side") is None:
            # The hand that holds something is the one to open; else the right one.
            busy = [s for s in ("right", "left") if not hand_is_empty(self.world, s)]
            self.params["side"] = busy[0] if busy else "right"
        self.groups = (hand_group(self.params["side"]),)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        joints = self.description.group_indices(self.groups[0])
        fingers = np.minimum(q_start[joints], HAND_OPEN)
        return MotionPlan(self.description, q_start).set_joints("open", joints, fingers, 0.6)
