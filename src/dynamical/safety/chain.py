"""Forward kinematics of the monitored points along their chains of bodies, compiled.

The safety kernel needs, every tick, a handful of points (hands, wrists) and their Jacobians over
the joints that move them. A robot describes the bodies from its root to those points as a
``Chain`` (flat arrays, built once); ``forward`` walks it with MuJoCo's formulas (``mj_kinematics``:
parent frame, then each joint about its anchor; ``mj_jac``: axis × (point - anchor) for a hinge).
The kernel's compiled steps call ``forward`` directly, so no tick crosses from Python to do it.
Each ``Chain`` owns its buffers: the filter and the independent check each compute their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

SLIDE, HINGE = 2, 3  # mjtJoint values


@dataclass(frozen=True)
class Chain:
    """The bodies from the root to k points, b bodies with j one-dof joints in all, parents first.

    ``arrays`` (read by ``forward``): parent (b,) slot or -1 for the world; body_frame (b, 7)
    position (3) and quaternion (4) in the parent; joint_start (b+1,) each body's joints;
    joint_ints (j, 3) rows (type, description index or -1, coupled column or -1); joint_geometry
    (j, 7) rows (anchor (3) and axis (3) in the body, qpos0); site_body (k,) slot; site_pos (k, 3)
    in the body; moves (k, j) bool, joint j lies between the root and point k.
    """

    arrays: tuple[np.ndarray, ...]
    coupled: np.ndarray
    """(m,) description indices of the joints that move some point, ascending."""
    frames: np.ndarray
    """(b, 16) scratch: each body's world position (3), quaternion (4), rotation matrix (9)."""
    axes: np.ndarray
    """(j, 6) scratch: each joint's world anchor (3) and axis (3)."""
    positions: np.ndarray
    """(k, 3) the points' world positions at the last ``update``."""
    jacobians: np.ndarray
    """(k, 3, m) their Jacobians over ``coupled`` at the last ``update`` with Jacobians."""

    @classmethod
    def of(cls, arrays: tuple[np.ndarray, ...], coupled: np.ndarray) -> Chain:
        parent, joint_ints, site_body = arrays[0], arrays[3], arrays[5]
        return cls(
            arrays=arrays,
            coupled=coupled,
            frames=np.zeros((parent.shape[0], 16)),
            axes=np.zeros((joint_ints.shape[0], 6)),
            positions=np.zeros((site_body.shape[0], 3)),
            jacobians=np.zeros((site_body.shape[0], 3, coupled.shape[0])),
        )

    def update(self, q: np.ndarray, jacobians: bool = True) -> None:
        """Positions (and Jacobians) at q (n,), a writable float array in description order."""
        forward(q, self.arrays, self.frames, self.axes, self.positions, self.jacobians, jacobians)


@numba.njit(cache=True)
def forward(q, chain, frames, axes, positions, jacobians, with_jac):
    """Positions (k, 3) of the points at q (n,, description order) and, when asked, their
    Jacobians (k, 3, m) over the coupled joints.

    chain: ``Chain.arrays``; body_frame rows are the body's position (3) and quaternion (4) in its
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
            if joint_ints[j, 0] == SLIDE:
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
                if joint_ints[j, 0] == SLIDE:
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
