"""Whole-body retargeting (GMR's approach): a human skeleton → the robot's arms, waist and head,
solved with mink within the joint limits and speed limits.

Per frame: the human's limbs are scaled to the robot's (upper arm and forearm lengths), rooted at
the robot's shoulders as the waist leaves them; the torso's lean and turn become waist targets and
the neck-to-head direction the head's. The IK (DAQP) tracks the elbows and wrists as frame tasks,
with mink's collision-avoidance limit between each arm and the torso, pelvis and head (known
gap: a wrist target placed inside the pelvis still draws the palm into it, ~9 cm; the limit
is not yet effective there), a few iterations a frame, warm-started from the previous one. The
legs stay as they are (kinematic on the stand).
"""

from __future__ import annotations

import mink
import mujoco
import numpy as np
from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.scene import JointIndex, build_model
from dynamical.teleop.skeleton import KEYPOINTS

ITERATIONS = 2
STEP_S = 0.05
SIDES = ("left", "right")
SELF_COLLISION_BIT = 1 << 5
SOLVER = "daqp"
_K = {name: i for i, name in enumerate(KEYPOINTS)}


class BodyRetargetError(BaseModel):
    """Wrist and elbow position error of one frame against the scaled human targets, m."""

    wrist: float
    elbow: float


class BodyRetargeter:
    def __init__(self, description: RobotDescription) -> None:
        self.description = description
        self.model = build_model(description)
        self._joints = JointIndex.of(self.model, description)
        self.configuration = mink.Configuration(self.model)
        qpos = self.model.qpos0.copy()
        qpos[self._joints.qpos] = description.home
        self.configuration.update(qpos)
        moving = [g for g in ("arm_left", "arm_right", "waist", "head") if g in description.groups]
        dofs = {int(self._joints.dof[i]) for g in moving for i in description.group_indices(g)}
        frozen = [d for d in range(self.model.nv) if d not in dofs]
        self._constraints = [mink.DofFreezingTask(self.model, dof_indices=frozen)] if frozen else []
        self._wrist = {s: mink.FrameTask(f"{s[0]}_wrist", "site", 1.0, 0.0) for s in SIDES}
        self._elbow = {s: mink.FrameTask(f"{s[0]}_elbow_link", "body", 0.3, 0.0) for s in SIDES}
        self._torso = mink.FrameTask("torso", "body", position_cost=0.0, orientation_cost=0.5)
        self._head = mink.FrameTask("head", "body", position_cost=0.0, orientation_cost=0.2)
        self._posture = mink.PostureTask(self.model, cost=1e-3)
        self._posture.set_target_from_configuration(self.configuration)
        # Speed limits bound how far one IK step moves (a target across the body is approached,
        # not jumped to, so the collision limit sees the body coming).
        speeds = {
            name: float(description.v_max[description.index(name)])
            for g in moving
            for name in description.groups[g]
        }
        self._limits: list[mink.Limit] = [mink.ConfigurationLimit(self.model), mink.VelocityLimit(self.model, speeds)]
        body = self._geoms(["torso", "pelvis", "head"])
        for side in SIDES:
            arm = self._geoms([f"{side[0]}_elbow_link", f"{side[0]}_hand"])
            if arm and body:
                # The simulator's robot does not collide with itself; this IK copy of the model
                # does, between arm and body (a bit of its own), so that mink keeps them apart.
                self.model.geom_contype[arm] |= SELF_COLLISION_BIT
                self.model.geom_conaffinity[body] |= SELF_COLLISION_BIT
                self._limits.append(
                    mink.CollisionAvoidanceLimit(
                        self.model,
                        [(arm, body)],
                        minimum_distance_from_collisions=0.02,
                        collision_detection_distance=0.3,
                        broadphase=False,
                    )
                )
        home = self.configuration.q.copy()
        self._shoulder = {s: self._body_pos(f"{s[0]}_shoulder_pitch_link") for s in SIDES}
        self._upper = {s: np.linalg.norm(self._body_pos(f"{s[0]}_elbow_link") - self._shoulder[s]) for s in SIDES}
        self._fore = {
            s: np.linalg.norm(self._site_pos(f"{s[0]}_wrist") - self._body_pos(f"{s[0]}_elbow_link")) for s in SIDES
        }
        self.configuration.update(home)
        self._targets: dict[str, np.ndarray] = {}

    def _geoms(self, bodies: list[str]) -> list[int]:
        ids = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, b) for b in bodies]
        return [g for g in range(self.model.ngeom) if self.model.geom_bodyid[g] in ids]

    def _body_pos(self, name: str) -> np.ndarray:
        return self.configuration.get_transform_frame_to_world(name, "body").translation().copy()

    def _site_pos(self, name: str) -> np.ndarray:
        return self.configuration.get_transform_frame_to_world(name, "site").translation().copy()

    @property
    def q(self) -> np.ndarray:
        """(n,) the robot's joints after the last frame."""
        return self.configuration.q[self._joints.qpos].copy()

    def retarget(self, keypoints: np.ndarray) -> np.ndarray:
        """The robot's joints (n,) for one human frame (9, 3) (``KEYPOINTS`` order, m)."""
        k = keypoints
        spine = k[_K["neck"]] - k[_K["hips"]]
        shoulders = k[_K["left_shoulder"]] - k[_K["right_shoulder"]]
        self._torso.set_target(_orientation(_frame(spine, shoulders)))
        self._head.set_target(_orientation(_frame(k[_K["head"]] - k[_K["neck"]], shoulders)))
        for _ in range(ITERATIONS):
            tasks: list[mink.Task] = [self._torso, self._head, self._posture]
            for side in SIDES:
                # The human limb, scaled segment by segment, hung from the robot's shoulder where
                # the waist puts it now.
                shoulder = self._body_pos(f"{side[0]}_shoulder_pitch_link")
                h_sh, h_el, h_wr = (k[_K[f"{side}_{p}"]] for p in ("shoulder", "elbow", "wrist"))
                elbow = shoulder + _scaled(h_el - h_sh, self._upper[side])
                wrist = elbow + _scaled(h_wr - h_el, self._fore[side])
                self._targets[f"{side}_elbow"], self._targets[f"{side}_wrist"] = elbow, wrist
                self._elbow[side].set_target(mink.SE3.from_translation(elbow))
                self._wrist[side].set_target(mink.SE3.from_translation(wrist))
                tasks += [self._elbow[side], self._wrist[side]]
            velocity = mink.solve_ik(
                self.configuration,
                tasks,
                STEP_S,
                SOLVER,
                damping=1e-3,
                limits=self._limits,
                constraints=self._constraints,
            )
            self.configuration.integrate_inplace(velocity, STEP_S)
        return self.q

    def error(self) -> BodyRetargetError:
        """The last frame's worst wrist and elbow errors, m."""
        wrist = max(np.linalg.norm(self._site_pos(f"{s[0]}_wrist") - self._targets[f"{s}_wrist"]) for s in SIDES)
        elbow = max(np.linalg.norm(self._body_pos(f"{s[0]}_elbow_link") - self._targets[f"{s}_elbow"]) for s in SIDES)
        return BodyRetargetError(wrist=float(wrist), elbow=float(elbow))


def _orientation(rot: np.ndarray) -> mink.SE3:
    return mink.SE3.from_rotation_and_translation(mink.SO3.from_matrix(rot), np.zeros(3))


def _scaled(vector: np.ndarray, length: float) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector * (length / norm) if norm > 1e-6 else np.zeros(3)


def _frame(up: np.ndarray, left: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose z is ``up`` and whose y is ``left`` made orthogonal to it (x forward)."""
    z = up / max(np.linalg.norm(up), 1e-9)
    y = left - z * (left @ z)
    y = y / max(np.linalg.norm(y), 1e-9)
    return np.column_stack([np.cross(y, z), y, z])
