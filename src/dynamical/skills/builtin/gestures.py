"""Built-in gestures: wave, point at a target."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from dynamical.robot.kinematics import IKResult, Pose
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.builtin.sides import hand_is_empty, preferred_sides
from dynamical.skills.hands import HAND_FLAT, HAND_POINTING, arm_group, hand_group
from dynamical.skills.targets import target_point

WAVE_RAISE = np.array([0.05, 0.12, 0.32])
"""m from the shoulder to the raised hand's grasp site: forward, outward, up (inside the shelf's
edge on the right, so the swing and the way down stay clear of it)."""
WAVE_SWING = 0.35
"""rad each way about the upper arm's axis."""
WAVE_HALF_PERIOD = 0.4
"""s per swing."""
POINT_REACH = (0.45, 0.40, 0.35, 0.30, 0.25)
"""m from the shoulder to the pointing hand's grasp site, tried in this order."""
POINT_ROLLS = (0.0, np.pi / 4, -np.pi / 4, np.pi / 2, -np.pi / 2)
"""rad about the finger's axis, tried in this order."""
POINT_STANDOFF = 0.32
"""m the grasp site stays from the target: the straight index reaches ~12 cm beyond it, and a
finger a few cm off the line must still point within tolerance."""


def _shoulder(skill: ScriptedSkill, q: np.ndarray, side: str) -> np.ndarray:
    return skill.kinematics.body_pose(q, f"{side[0]}_shoulder_pitch_link").pos


def _empty_side(skill: ScriptedSkill, point: np.ndarray) -> str:
    given = skill.params.get("side")
    if given is not None:
        return given
    for side in preferred_sides(point):
        if hand_is_empty(skill.world, side):
            return side
    raise SkillPlanError(f"{skill.name}: both hands are busy")


class Wave(ScriptedSkill):
    skill_id = "wave"

    def resolve(self) -> dict[str, Any]:
        # Wave with the hand on the side people stand on most: the right, unless it is busy.
        side = _empty_side(self, np.array([0.0, -1.0, 0.0]))
        self.params.update(side=side, cycles=int(self.params.get("cycles", 3)))
        self.groups = (arm_group(side), hand_group(side))
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        side = self.params["side"]
        arm = self.description.group_indices(arm_group(side))
        hand = self.description.group_indices(hand_group(side))
        offset = WAVE_RAISE * np.array([1.0, 1.0 if side == "left" else -1.0, 1.0])
        site = self.world.grasp_site(side)
        goal = _shoulder(self, q_start, side) + offset
        result = self.kinematics.solve(q_start, {site: Pose(goal, np.eye(3))}, [arm_group(side)], orientation=False)
        if not result.converged:
            raise SkillPlanError(f"wave: the {side} hand cannot be raised to {np.round(goal, 3).tolist()}")
        raised = result.q.copy()
        raised[hand] = HAND_FLAT
        plan = MotionPlan(self.description, q_start).go("raise the hand", raised)
        yaw = self.description.index(f"{side[0]}_shoulder_yaw")
        for k in range(int(self.params["cycles"])):
            for sign in (1.0, -1.0):
                swing = raised.copy()
                swing[yaw] = np.clip(
                    raised[yaw] + sign * WAVE_SWING, self.description.q_min[yaw], self.description.q_max[yaw]
                )
                plan.go(f"wave {k + 1}", swing, min_s=WAVE_HALF_PERIOD, speed=3.0)
        plan.go("centre", raised, min_s=WAVE_HALF_PERIOD / 2, speed=3.0)
        rest = raised.copy()
        rest[arm] = self.description.home[arm]
        rest[hand] = q_start[hand]
        return plan.go("lower the hand", rest)


class PointAt(ScriptedSkill):
    skill_id = "point_at"

    def resolve(self) -> dict[str, Any]:
        point = target_point(self.world, self.params["target"])
        side = _empty_side(self, point)
        self.params["side"] = side
        self.groups = (arm_group(side), hand_group(side))
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        side = self.params["side"]
        target = target_point(self.world, self.params["target"])
        shoulder = _shoulder(self, q_start, side)
        direction = (target - shoulder) / np.linalg.norm(target - shoulder)
        # Palm down as far as the pointing direction allows: z is world-down made orthogonal to x.
        down = np.array([0.0, 0.0, -1.0]) - direction * np.dot([0.0, 0.0, -1.0], direction)
        if np.linalg.norm(down) < 1e-3:
            down = np.array([1.0, 0.0, 0.0])
        down /= np.linalg.norm(down)
        rot = np.column_stack([direction, np.cross(down, direction), down])
        site = self.world.grasp_site(side)
        hand = self.description.group_indices(hand_group(side))
        distance = float(np.linalg.norm(target - shoulder))
        for reach in POINT_REACH:
            goal = shoulder + direction * min(reach, distance - POINT_STANDOFF)
            # The roll about the finger does not matter for pointing: palm down first, then turned.
            for roll in POINT_ROLLS:
                turned = rot @ Rotation.from_euler("x", roll).as_matrix()
                result = self._aim(q_start, site, goal, turned, target, side)
                if result is not None:
                    q = result.q.copy()
                    q[hand] = HAND_POINTING
                    plan = MotionPlan(self.description, q_start)
                    plan.set_joints("shape the hand", hand, HAND_POINTING, 0.4)
                    return plan.go("point", q)
        raise SkillPlanError(f"point_at: the {side} arm cannot point at {self.params['target']}")

    def _aim(
        self, q_start: np.ndarray, site: str, goal: np.ndarray, rot: np.ndarray, target: np.ndarray, side: str
    ) -> IKResult | None:
        """IK for the hand at ``goal`` (3,) and ``rot`` (3, 3), then shifted until the ray from the
        index tip (not the palm's centre line) passes through ``target``."""
        q = q_start.copy()
        q[self.description.group_indices(hand_group(side))] = HAND_POINTING
        for _ in range(3):
            result = self.kinematics.solve(q, {site: Pose(goal, rot)}, [arm_group(side)], restarts=3)
            if not result.converged:
                return None
            tip = self.kinematics.site_pose(result.q, f"{side[0]}_index_tip").pos
            away = target - tip
            miss = away - rot[:, 0] * np.dot(away, rot[:, 0])
            if np.linalg.norm(miss) < 0.005:
                break
            goal, q = goal + miss, result.q
        return result
