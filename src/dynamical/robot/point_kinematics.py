"""MuJoCo implementation of the safety kernel's PointKinematics (the profile's safety points).

The kernel needs, every tick, a handful of points (hands, wrists) and their Jacobians over the
joints that move them. MuJoCo's ``mj_kinematics`` computes every body of the scene (the robot,
the mannequin, the objects: ~50 bodies) and ``mj_jacSite`` a full 3 × nv Jacobian per point:
about 7 µs a tick, 10 µs with the cache cold after a physics step. Only ~15 bodies lie on the
way from the root to a point, so this module walks those alone, in one compiled call, with the
model's own frames and MuJoCo's own formulas (``mj_kinematics``: parent frame, then each joint
about its anchor; ``mj_jac``: axis × (point - anchor) for a hinge). Construction checks the
result against MuJoCo at several configurations and refuses to start on any difference.
"""

from __future__ import annotations

import mujoco
import numba
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import ProfileError
from dynamical.robot.scene import JointIndex

_SLIDE, _HINGE = int(mujoco.mjtJoint.mjJNT_SLIDE), int(mujoco.mjtJoint.mjJNT_HINGE)
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
        chain = _Chain.of(model, self._sites, self._joints.qpos)
        self.coupled = chain.coupled
        self._chain = chain.arrays
        k, b, j = len(self.names), chain.bodies, chain.joints
        # Scratch: each body's world frame (position 3, quaternion 4, rotation matrix 9) and each
        # joint's world anchor (3) and axis (3).
        self._frames = np.zeros((b, 16))
        self._axes = np.zeros((j, 6))
        self._positions = np.zeros((k, 3))
        self._jacobians = np.zeros((k, 3, len(self.coupled)))
        self._verify(description)

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        q = np.asarray(q, dtype=float)
        if not q.flags.writeable:  # numba compiles read-only arrays apart: keep to one signature
            q = q.copy()
        forward(q, self._chain, self._frames, self._axes, self._positions, self._jacobians, jacobians)

    def positions(self) -> np.ndarray:
        """(k, 3), valid until the next update (a buffer, refilled in place)."""
        return self._positions

    def jacobians(self) -> np.ndarray:
        """(k, 3, m) over ``coupled``, valid until the next update (a buffer, refilled in place)."""
        return self._jacobians

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
                position_error = np.abs(self._positions[k] - data.site_xpos[site]).max()
                jacobian_error = np.abs(self._jacobians[k] - jac[:, dofs]).max()
                if not position_error <= _VERIFY_TOLERANCE or not jacobian_error <= _VERIFY_TOLERANCE:
                    raise ProfileError(
                        f"the safety points' kinematics disagree with MuJoCo at {self.names[k]!r} "
                        f"(position {position_error:.3g} m, Jacobian {jacobian_error:.3g})"
                    )


class _Chain:
    """The bodies from the root to the safety points, as flat arrays for ``forward``.

    Bodies keep MuJoCo's order (a parent before its children). ``arrays`` is the tuple
    (parent (b,), body_frame (b, 7), joint_start (b+1,), joint_ints (j, 3), joint_geometry (j, 7),
    site_body (k,), site_pos (k, 3), moves (k, j)), described in ``forward``.
    """

    def __init__(self, arrays: tuple[np.ndarray, ...], coupled: np.ndarray, bodies: int, joints: int) -> None:
        self.arrays, self.coupled, self.bodies, self.joints = arrays, coupled, bodies, joints

    @classmethod
    def of(cls, model: mujoco.MjModel, sites: np.ndarray, description_qpos: np.ndarray) -> _Chain:
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
                kind = int(model.jnt_type[jid])
                if kind not in (_SLIDE, _HINGE):
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
        return cls(arrays, coupled, len(bodies), len(joint_ints))


@numba.njit(cache=True)
def forward(q, chain, frames, axes, positions, jacobians, with_jac):
    """Positions (k, 3) of the points at q (n,, description order) and, when asked, their
    Jacobians (k, 3, m) over the coupled joints.

    chain: see ``_Chain``; body_frame rows are the body's position (3) and quaternion (4) in its
    parent; joint_ints rows (type, description index or -1, coupled column or -1); joint_geometry
    rows (anchor (3) and axis (3) in the body, qpos0). frames (b, 16) and axes (j, 6) are scratch.
    """
    parent, body_frame, joint_start, joint_ints, geometry, site_body, site_pos, moves = chain
    for b in range(parent.shape[0]):
        f = frames[b]
        p = parent[b]
        if p >= 0:  # the parent's frame, then this body's fixed offset in it
            _mat_vec(frames[p, 7:16], body_frame[b, 0:3], f[0:3])
            for a in range(3):
                f[a] += frames[p, a]
            _mul_quat(frames[p, 3:7], body_frame[b, 3:7], f[3:7])
        else:
            f[0:7] = body_frame[b]
        for j in range(joint_start[b], joint_start[b + 1]):
            g, ax = geometry[j], axes[j]
            _rot_vec_quat(g[3:6], f[3:7], ax[3:6])  # axis in the world
            _rot_vec_quat(g[0:3], f[3:7], ax[0:3])  # anchor in the world
            for a in range(3):
                ax[a] += f[a]
            index = joint_ints[j, 1]
            value = (q[index] if index >= 0 else g[6]) - g[6]
            if joint_ints[j, 0] == _SLIDE:
                for a in range(3):
                    f[a] += ax[3 + a] * value
            else:
                _rotate_about(g, value, ax, f)
        _normalize_quat(f[3:7])
        _quat_to_mat(f[3:7], f[7:16])
    for k in range(site_body.shape[0]):
        f = frames[site_body[k]]
        _mat_vec(f[7:16], site_pos[k], positions[k])
        for a in range(3):
            positions[k, a] += f[a]
    if with_jac:
        jacobians[:] = 0.0
        for k in range(site_body.shape[0]):
            for j in range(joint_ints.shape[0]):
                c = joint_ints[j, 2]
                if c < 0 or not moves[k, j]:
                    continue
                ax = axes[j]
                if joint_ints[j, 0] == _SLIDE:
                    for a in range(3):
                        jacobians[k, a, c] = ax[3 + a]
                    continue
                dx, dy, dz = positions[k, 0] - ax[0], positions[k, 1] - ax[1], positions[k, 2] - ax[2]
                jacobians[k, 0, c] = ax[4] * dz - ax[5] * dy
                jacobians[k, 1, c] = ax[5] * dx - ax[3] * dz
                jacobians[k, 2, c] = ax[3] * dy - ax[4] * dx


@numba.njit(cache=True)
def _rotate_about(geometry, angle, axes, frame):
    """A hinge turns the body's frame (16,) by angle about its axis, through its anchor (mj_kinematics)."""
    w, x, y, z = 1.0, 0.0, 0.0, 0.0
    if angle != 0.0:
        s = np.sin(angle / 2)
        w, x, y, z = np.cos(angle / 2), geometry[3] * s, geometry[4] * s, geometry[5] * s
    a0, a1, a2, a3 = frame[3], frame[4], frame[5], frame[6]
    frame[3] = a0 * w - a1 * x - a2 * y - a3 * z
    frame[4] = a0 * x + a1 * w + a2 * z - a3 * y
    frame[5] = a0 * y - a1 * z + a2 * w + a3 * x
    frame[6] = a0 * z + a1 * y - a2 * x + a3 * w
    # Off-centre rotation: the body's origin is where the anchor, rotated back, puts it.
    _rot_vec_quat(geometry[0:3], frame[3:7], frame[0:3])
    for a in range(3):
        frame[a] = axes[a] - frame[a]


@numba.njit(cache=True)
def _mul_quat(a, b, out):
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
    out[0] = a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3
    out[1] = a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2
    out[2] = a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1
    out[3] = a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0


@numba.njit(cache=True)
def _rot_vec_quat(v, quat, out):
    """out (3,) = v rotated by the unit quaternion (w, x, y, z), as mju_rotVecQuat."""
    w, x, y, z = quat[0], quat[1], quat[2], quat[3]
    t0 = w * v[0] + y * v[2] - z * v[1]
    t1 = w * v[1] + z * v[0] - x * v[2]
    t2 = w * v[2] + x * v[1] - y * v[0]
    out[0] = v[0] + 2 * (y * t2 - z * t1)
    out[1] = v[1] + 2 * (z * t0 - x * t2)
    out[2] = v[2] + 2 * (x * t1 - y * t0)


@numba.njit(cache=True)
def _mat_vec(mat, v, out):
    """out (3,) = mat (9,, row-major 3 × 3) times v (3,)."""
    for r in range(3):
        out[r] = mat[3 * r] * v[0] + mat[3 * r + 1] * v[1] + mat[3 * r + 2] * v[2]


@numba.njit(cache=True)
def _normalize_quat(quat):
    norm = np.sqrt(quat[0] * quat[0] + quat[1] * quat[1] + quat[2] * quat[2] + quat[3] * quat[3])
    if norm < 1e-15:  # mjMINVAL: MuJoCo falls back to the identity
        quat[0], quat[1], quat[2], quat[3] = 1.0, 0.0, 0.0, 0.0
    else:
        for a in range(4):
            quat[a] /= norm


@numba.njit(cache=True)
def _quat_to_mat(quat, mat):
    """mat (9,, row-major) of the unit quaternion (4,)."""
    w, x, y, z = quat[0], quat[1], quat[2], quat[3]
    mat[0] = w * w + x * x - y * y - z * z
    mat[4] = w * w - x * x + y * y - z * z
    mat[8] = w * w - x * x - y * y + z * z
    mat[1] = 2 * (x * y - w * z)
    mat[2] = 2 * (x * z + w * y)
    mat[3] = 2 * (x * y + w * z)
    mat[5] = 2 * (y * z - w * x)
    mat[6] = 2 * (x * z - w * y)
    mat[7] = 2 * (y * z + w * x)
