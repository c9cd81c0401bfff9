"""MuJoCo implementation of the safety kernel's PointKinematics (the profile's safety points)."""

from __future__ import annotations

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError
from dynamical.robot.scene import JointIndex


class MujocoPointKinematics:
    """Site positions and Jacobians from a compiled model holding the robot.

    Each instance owns its MjData, so the filter and the independent check compute kinematics
    separately. Joints outside the description (objects, passive finger joints) stay at qpos0.
    """

    def __init__(self, model: mujoco.MjModel, description: RobotDescription) -> None:
        if not description.safety_points:
            raise ProfileError(f"profile {description.name!r} lists no safety_points")
        self.model = model
        self.data = mujoco.MjData(model)
        self.names = tuple(description.safety_points)
        self.radii = np.array(list(description.safety_points.values()))
        self._sites = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, s) for s in self.names])
        if np.any(self._sites < 0):
            raise ProfileError(f"safety points not in the model: {self.names}")
        joints = JointIndex.of(model, description)
        self._qpos = joints.qpos
        # Only joints on the way from the root to a point's body can move it: the rest of each
        # Jacobian is zero by construction, so it is never computed into the filter.
        moving: set[int] = set()
        for body in model.site_bodyid[self._sites]:
            while body > 0:
                start, count = model.body_dofadr[body], model.body_dofnum[body]
                moving.update(range(start, start + count))
                body = model.body_parentid[body]
        self.coupled = np.array([i for i, dof in enumerate(joints.dof) if dof in moving], dtype=np.int64)
        self._coupled_dof = joints.dof[self.coupled]
        self._jac = np.zeros((len(self.names), 3, model.nv))
        self._jacobians = np.zeros((len(self.names), 3, len(self.coupled)))
        self._positions = np.zeros((len(self.names), 3))
        # Views into MjData, taken once: each attribute access builds a new array object (µs at 1 kHz).
        self._qpos_view = self.data.qpos
        self._site_xpos = self.data.site_xpos

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        self._qpos_view[self._qpos] = q
        mujoco.mj_kinematics(self.model, self.data)
        if not jacobians:
            return
        mujoco.mj_comPos(self.model, self.data)
        for k, site in enumerate(self._sites):
            mujoco.mj_jacSite(self.model, self.data, self._jac[k], None, site)
        self._jac.take(self._coupled_dof, axis=2, out=self._jacobians)

    def positions(self) -> np.ndarray:
        """(k, 3), valid until the next update (a buffer, refilled in place)."""
        return self._site_xpos.take(self._sites, axis=0, out=self._positions)

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) over ``coupled``, valid until the next update (a buffer, refilled in place)."""
        return self._jacobians
