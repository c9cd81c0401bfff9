"""MuJoCo implementation of the safety kernel's PointKinematics (the profile's safety points)."""

from __future__ import annotations

import glob
import os

import mujoco
import numba
import numpy as np
from llvmlite import binding
from numba import types

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError
from dynamical.robot.scene import JointIndex

# The kernel updates these every tick; through the Python bindings that costs about 10 µs, most
# of it call overhead. The compiled update calls MuJoCo's C functions by name (resolved in this
# process when the code, maybe from numba's cache, is loaded); pointers travel as intp.
binding.load_library_permanently(glob.glob(os.path.join(os.path.dirname(mujoco.__file__), "libmujoco.so*"))[0])
_mj_kinematics = types.ExternalFunction("mj_kinematics", types.void(types.intp, types.intp))
_mj_com_pos = types.ExternalFunction("mj_comPos", types.void(types.intp, types.intp))
_mj_jac_site = types.ExternalFunction(
    "mj_jacSite", types.void(types.intp, types.intp, types.intp, types.intp, types.intc)
)


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
        self._sites = np.array(
            [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, s) for s in self.names], dtype=np.int32
        )
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
        q = np.asarray(q, dtype=float)
        if not q.flags.writeable:  # numba compiles read-only arrays apart: keep to one signature
            q = q.copy()
        _update(
            self.model._address, self.data._address, self._qpos_view, self._qpos, q,
            self._sites, self._site_xpos, self._jac, self._coupled_dof, self._jacobians, self._positions, jacobians,
        )  # fmt: skip

    def positions(self) -> np.ndarray:
        """(k, 3), valid until the next update (a buffer, refilled in place)."""
        return self._positions

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) over ``coupled``, valid until the next update (a buffer, refilled in place)."""
        return self._jacobians


@numba.njit(cache=True)
def _update(model, data, qpos, qpos_index, q, sites, site_xpos, jac, coupled_dof, jacobians, positions, with_jac):
    """Write q (n,) into qpos, run forward kinematics, gather the sites' positions (k, 3) and,
    when asked, their Jacobians (k, 3, m) over the coupled joints' dofs."""
    for i in range(q.shape[0]):
        qpos[qpos_index[i]] = q[i]
    _mj_kinematics(model, data)
    for k in range(sites.shape[0]):
        for a in range(3):
            positions[k, a] = site_xpos[sites[k], a]
    if with_jac:
        _mj_com_pos(model, data)
        for k in range(sites.shape[0]):
            _mj_jac_site(model, data, jac[k].ctypes.data, 0, sites[k])
            for a in range(3):
                for c in range(coupled_dof.shape[0]):
                    jacobians[k, a, c] = jac[k, a, coupled_dof[c]]
