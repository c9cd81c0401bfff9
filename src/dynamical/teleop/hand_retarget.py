"""Glove → robot hand: the 21 human joint angles → the robot hand's 6 actuated joints, by
optimisation (dex-retargeting's method on our MJCF hand).

Objective, per frame: the robot's fingertips (in its hand body's frame) at the human model's
fingertips scaled to the robot hand's size, plus thumb-to-finger distances that match the human
ones, weighted up as the human pinches (DexPilot's pinch term: a pinch must close on the robot
even where its fingers cannot copy the human's shape). Solved by damped Gauss-Newton within the
joint ranges, warm-started from the previous frame (a few iterations a frame suffice while the
hand moves continuously). The robot's distal joints are coupled 1:1 to their proximal ones.
"""

from __future__ import annotations

import mujoco
import numpy as np
from pydantic import BaseModel

from dynamical.robot.description import RobotDescription
from dynamical.robot.scene import build_model
from dynamical.teleop import human_hand

ITERATIONS = 3
"""Gauss-Newton steps a frame: warm-started from the last frame, three track a moving hand (a
static pose converges over a few frames)."""
DAMPING = 1e-4
PINCH_NEAR_M = 0.03
"""A human thumb-finger distance below this counts as a pinch: its distance term weighs more."""
PINCH_WEIGHT = 4.0
TIP_ORDER = ("thumb", "index", "middle", "ring", "little")


class RetargetError(BaseModel):
    """Fingertip position error of one retargeted frame, m (robot tip vs scaled human tip)."""

    per_tip: list[float]
    mean: float


class HandRetargeter:
    """One robot hand (``side``) of ``description``; call :meth:`retarget` per glove frame."""

    def __init__(self, description: RobotDescription, side: str) -> None:
        group = f"hand_{side}"
        if group not in description.groups or group not in description.fingertips:
            raise ValueError(f"robot {description.name!r} has no {side} hand with fingertips to retarget to")
        self.side = side
        self.model = build_model(description)
        self.data = mujoco.MjData(self.model)
        self.data.qpos[:] = self.model.qpos0
        index = description.group_indices(group)
        self.q_min, self.q_max = description.q_min[index], description.q_max[index]
        names = description.groups[group]
        jid = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in names]
        self._qpos = np.array([self.model.jnt_qposadr[j] for j in jid])
        self._dof = np.array([self.model.jnt_dofadr[j] for j in jid])
        # Passive distal joints follow their proximal joint (the MJCF's equality couplings).
        coupled: list[tuple[int, int, int]] = []
        for k, name in enumerate(names):
            distal = name.replace("_proximal", "_distal")
            d = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_JOINT, distal) if distal != name else -1
            if d >= 0:
                coupled.append((k, int(self.model.jnt_qposadr[d]), int(self.model.jnt_dofadr[d])))
        self._coupled = coupled
        tip_sites = description.fingertips[group]
        self._sites = [mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, s) for s in tip_sites]
        hand_body = description.fingertips[group][0][0] + "_hand"  # l_hand / r_hand: the hand's body
        self._body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, hand_body)
        if self._body < 0 or min(self._sites) < 0 or len(self._sites) != 5:
            raise ValueError(
                f"robot {description.name!r}: the {side} hand needs body {hand_body!r} and five fingertip sites"
            )
        self.q = np.clip(np.zeros(len(names)), self.q_min, self.q_max)
        tips_open, _ = self._tips(np.clip(np.zeros(len(names)), self.q_min, self.q_max), jacobian=False)
        self.scale = float(np.linalg.norm(tips_open[2])) / human_hand.hand_length()
        """Robot hand length / human hand length: human fingertips are scaled by it."""
        self._jac = np.zeros((3, self.model.nv))

    def _tips(self, q: np.ndarray, jacobian: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Fingertips (5, 3) in the hand body's frame at hand joints ``q`` (6,), and their
        Jacobian (5, 3, 6) w.r.t. ``q`` (distal couplings included)."""
        self.data.qpos[self._qpos] = q
        for k, qadr, _ in self._coupled:
            self.data.qpos[qadr] = q[k]
        mujoco.mj_kinematics(self.model, self.data)
        origin = self.data.xpos[self._body]
        rot = self.data.xmat[self._body].reshape(3, 3)
        tips = (self.data.site_xpos[self._sites] - origin) @ rot
        if not jacobian:
            return tips, None
        mujoco.mj_comPos(self.model, self.data)
        jac = np.zeros((5, 3, len(q)))
        for i, site in enumerate(self._sites):
            mujoco.mj_jacSite(self.model, self.data, self._jac, None, site)
            full = rot.T @ self._jac  # the wrist does not move: no frame-rate term
            jac[i] = full[:, self._dof]
            for k, _, dadr in self._coupled:
                jac[i][:, k] += full[:, dadr]
        return tips, jac

    def retarget(self, human_joints: np.ndarray) -> np.ndarray:
        """The robot hand's joints (6,) rad for the human hand at ``human_joints`` (21,) rad
        (calibrated: the human model's angles)."""
        human = human_hand.fingertips(human_joints, self.side) * self.scale
        pinch_human = np.linalg.norm(human[1:] - human[0], axis=1)  # (4,)
        weights = np.where(pinch_human < PINCH_NEAR_M, PINCH_WEIGHT, 0.5)
        q = self.q.copy()
        eye = DAMPING * np.eye(len(q))
        for _ in range(ITERATIONS):
            tips, jac = self._tips(q)
            assert jac is not None
            diff = tips[1:] - tips[0]  # (4, 3) thumb → finger
            dist = np.linalg.norm(diff, axis=1)
            unit = diff / np.maximum(dist, 1e-9)[:, None]
            pinch_rows = weights[:, None] * np.einsum("fi,fij->fj", unit, jac[1:] - jac[0])  # (4, 6)
            r = np.concatenate([(tips - human).reshape(-1), weights * (dist - pinch_human)])
            jr = np.vstack([jac.reshape(15, -1), pinch_rows])
            q = np.clip(q + np.linalg.solve(jr.T @ jr + eye, -jr.T @ r), self.q_min, self.q_max)
        self.q = q
        return q.copy()

    def error(self, human_joints: np.ndarray, q: np.ndarray | None = None) -> RetargetError:
        """How far the robot's fingertips at ``q`` (default: the last result) are from the scaled
        human ones."""
        tips, _ = self._tips(self.q if q is None else q, jacobian=False)
        human = human_hand.fingertips(human_joints, self.side) * self.scale
        per = np.linalg.norm(tips - human, axis=1)
        return RetargetError(per_tip=[float(x) for x in per], mean=float(per.mean()))
