"""MuJoCo implementation of the safety kernel's PointKinematics (the profile's safety points).

MuJoCo's ``mj_kinematics`` computes every body of the scene (the robot, the mannequin, the
objects: ~50 bodies) and ``mj_jacSite`` a full 3 × nv Jacobian per point: about 7 µs a tick,
10 µs with the cache cold after a physics step. Only ~15 bodies lie on the way from the root to
a point: this module describes those as a ``Chain`` (the model's own frames and joints), which
the kernel's compiled steps walk. Construction checks the walk against MuJoCo at several
configurations and refuses to start on any difference.
"""

from __future__ import annotations

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError
from dynamical.robot.scene import JointIndex
from dynamical.safety.chain import HINGE, SLIDE, Chain

_JOINT_KINDS = {int(mujoco.mjtJoint.mjJNT_SLIDE): SLIDE, int(mujoco.mjtJoint.mjJNT_HINGE): HINGE}
_VERIFY_TOLERANCE = 1e-9  # m, and m/rad: far below anything the filter or the check resolves
_VERIFY_CONFIGURATIONS = 8


class MujocoPointKinematics:
    """Site positions and Jacobians from a compiled model holding the robot.

    Each instance owns its buffers, so the filter and the independent check compute kinematics
    separately. Joints outside the description (objects, passive finger joints) stay at qpos0.
    """

    def __init__(self, model: mujoco.MjModel, description: RobotDescription) -> None:
        if not description.safety_points:
            raise ProfileError(f"profile {description.name!r} lists no safety_points")
        self.model = model
        self.names = tuple(description.safety_points)
        self.radii = np.array(list(description.safety_points.values()))
        self._sites = np.array(
            [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, s) for s in self.names], dtype=np.int64
        )
        if np.any(self._sites < 0):
            raise ProfileError(f"safety points not in the model: {self.names}")
        self._joints = JointIndex.of(model, description)
        self.chain = _chain(model, self._sites, self._joints.qpos)
        self.coupled = self.chain.coupled
        self._verify(description)

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        q = np.asarray(q, dtype=float)
        if not q.flags.writeable:  # numba compiles read-only arrays apart: keep to one signature
            q = q.copy()
        self.chain.update(q, jacobians)

    def positions(self) -> np.ndarray:
        """(k, 3), valid until the next update (a buffer, refilled in place)."""
        return self.chain.positions

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) over ``coupled``, valid until the next update (a buffer, refilled in place)."""
        return self.chain.jacobians

    def _verify(self, description: RobotDescription) -> None:
        """Compare with MuJoCo (mj_kinematics, mj_jacSite) at home and random configurations."""
        model, data = self.model, mujoco.MjData(self.model)
        rng = np.random.default_rng(11)
        lower, upper = description.q_min.astype(float), description.q_max.astype(float)
        configurations = [description.home.astype(float)]
        configurations += [rng.uniform(lower, upper) for _ in range(_VERIFY_CONFIGURATIONS)]
        dofs = self._joints.dof[self.coupled]
        jac = np.zeros((3, model.nv))
        for q in configurations:
            data.qpos[:] = model.qpos0
            data.qpos[self._joints.qpos] = q
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            self.update(q)
            for k, site in enumerate(self._sites):
                mujoco.mj_jacSite(model, data, jac, None, int(site))
                position_error = np.abs(self.chain.positions[k] - data.site_xpos[site]).max()
                jacobian_error = np.abs(self.chain.jacobians[k] - jac[:, dofs]).max()
                if not position_error <= _VERIFY_TOLERANCE or not jacobian_error <= _VERIFY_TOLERANCE:
                    raise ProfileError(
                        f"the safety points' kinematics disagree with MuJoCo at {self.names[k]!r} "
                        f"(position {position_error:.3g} m, Jacobian {jacobian_error:.3g})"
                    )


def _chain(model: mujoco.MjModel, sites: np.ndarray, description_qpos: np.ndarray) -> Chain:
    """The bodies from the root to the sites, in MuJoCo's order (a parent before its children)."""
    on_chain: set[int] = set()
    for body in model.site_bodyid[sites]:
        while body > 0:
            on_chain.add(int(body))
            body = model.body_parentid[body]
    bodies = sorted(on_chain)
    slot = {body: s for s, body in enumerate(bodies)}
    parent = np.array([slot.get(int(model.body_parentid[b]), -1) for b in bodies], dtype=np.int64)
    body_frame = np.array([[*model.body_pos[b], *model.body_quat[b]] for b in bodies]).reshape(-1, 7)
    description_index = {int(adr): i for i, adr in enumerate(description_qpos)}
    joint_start, joint_ints, joint_geometry, joint_body = [0], [], [], []
    for b in bodies:
        if model.body_mocapid[b] >= 0:
            raise ProfileError(f"body {model.body(b).name!r} on a safety point's chain is a mocap body")
        for jid in range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b]):
            kind = _JOINT_KINDS.get(int(model.jnt_type[jid]), -1)
            if kind < 0:
                raise ProfileError(f"joint {model.joint(jid).name!r} on a safety point's chain is not 1-dof")
            adr = int(model.jnt_qposadr[jid])
            joint_ints.append((kind, description_index.get(adr, -1), -1))
            joint_geometry.append((*model.jnt_pos[jid], *model.jnt_axis[jid], model.qpos0[adr]))
            joint_body.append(slot[b])
        joint_start.append(len(joint_ints))
    ints = np.array(joint_ints, dtype=np.int64).reshape(-1, 3)
    # The coupled joints: those of the description on some chain, in description order.
    moving = sorted(int(i) for i in ints[:, 1] if i >= 0)
    coupled = np.array(moving, dtype=np.int64)
    for row in ints:
        row[2] = moving.index(row[1]) if row[1] >= 0 else -1
    site_body = np.array([slot[int(model.site_bodyid[s])] for s in sites], dtype=np.int64)
    site_pos = np.array([model.site_pos[s] for s in sites], dtype=float).reshape(-1, 3)
    # moves[k, j]: joint j lies on the way from the root to point k's body.
    moves = np.zeros((len(sites), len(joint_ints)), dtype=np.bool_)
    for k, b in enumerate(site_body):
        while b >= 0:
            moves[k, [j for j, jb in enumerate(joint_body) if jb == b]] = True
            b = parent[b]
    geometry = np.array(joint_geometry, dtype=float).reshape(-1, 7)
    arrays = (parent, body_frame, np.array(joint_start, dtype=np.int64), ints, geometry, site_body, site_pos, moves)
    return Chain.of(arrays, coupled)
