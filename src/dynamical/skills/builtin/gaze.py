"""Built-in gaze skill: point the head camera at a target."""

from __future__ import annotations

from typing import Any

import numpy as np

from dynamical.robot.kinematics import Kinematics
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill, SkillPlanError
from dynamical.skills.predicates import HEAD_CAMERA, LOOK_TOLERANCE_RAD
from dynamical.skills.targets import target_point

HEAD_SPEED = 1.0
"""rad/s average."""


def camera_angles(kinematics: Kinematics, q: np.ndarray, point: np.ndarray) -> np.ndarray:
    """(2,) horizontal and vertical angle (rad) of ``point`` (3,) off the head camera's axis."""
    camera = kinematics.camera_pose(q, HEAD_CAMERA)
    local = camera.rot.T @ (point - camera.pos)
    return np.array([np.arctan2(local[0], -local[2]), np.arctan2(local[1], -local[2])])


class LookAt(ScriptedSkill):
    skill_id = "look_at"

    def resolve(self) -> dict[str, Any]:
        target_point(self.world, self.params["target"])  # unknown names fail here, listing the known ones
        self.groups = ("head",)
        return self.params

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        point = target_point(self.world, self.params["target"])
        head = self.description.group_indices("head")
        lo, hi = self.description.q_min[head], self.description.q_max[head]
        q = q_start.copy()
        # Start from the pan that faces the target: far from it the linearisation misleads.
        camera = self.kinematics.camera_pose(q, HEAD_CAMERA)
        pan = self.description.index("head_pan")
        away = point - camera.pos
        q[pan] = np.clip(np.arctan2(away[1], away[0]), self.description.q_min[pan], self.description.q_max[pan])
        # Gauss-Newton on (pan, tilt) with a finite-difference Jacobian: two joints, a few steps.
        for _ in range(20):
            error = camera_angles(self.kinematics, q, point)
            if np.max(np.abs(error)) < 0.1 * LOOK_TOLERANCE_RAD:
                break
            jacobian = np.empty((2, 2))
            for k, joint in enumerate(head):
                nudged = q.copy()
                nudged[joint] += 1e-4
                jacobian[:, k] = (camera_angles(self.kinematics, nudged, point) - error) / 1e-4
            q[head] = np.clip(q[head] - np.linalg.lstsq(jacobian, error, rcond=None)[0], lo, hi)
        error = camera_angles(self.kinematics, q, point)
        if np.max(np.abs(error)) > LOOK_TOLERANCE_RAD:
            raise SkillPlanError(
                f"look_at: {self.params['target']} lies {np.rad2deg(np.max(np.abs(error))):.0f}° outside "
                "what the head can turn to"
            )
        return MotionPlan(self.description, q_start).go("turn the head", q, speed=HEAD_SPEED, min_s=0.6)
