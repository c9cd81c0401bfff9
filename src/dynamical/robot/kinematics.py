"""Forward kinematics and inverse kinematics for the robot's arms (mink, solved with DAQP).

IK moves only the joints of the groups it is given; every other degree of freedom of the model
is held by an equality constraint (mink's DofFreezingTask), so solving for the right arm never
moves the waist, the other arm, or an object in the world.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.errors import RobotError, UnknownNameError
from dynamical.robot.scene import JointIndex

# Integration step of the differential IK, s. Larger steps converge in fewer iterations but
# overshoot near joint limits; 50 ms solved every benchmark target (see `dynamical bench ik`).
IK_STEP_S = 0.05
STALL_ITERATIONS = 30
"""A descent whose error has not fallen by ``STALL_GAIN`` of itself for this many iterations has
stalled (a joint limit, a target out of reach) and stops: measured, such descents sit at one
error from their tenth iteration on, and 300 iterations of each of 21 seeds made an unreachable
grasp cost minutes of planning on a loaded machine."""
STALL_GAIN = 0.01


class IKInterruptedError(RobotError):
    """``Kinematics.interrupt`` asked a solve to stop (the caller cancelled the planning)."""


@dataclass(frozen=True)
class Pose:
    """A frame in the world: position (3,) m and rotation matrix (3, 3)."""

    pos: np.ndarray
    rot: np.ndarray

    def as_se3(self) -> mink.SE3:
        return mink.SE3.from_rotation_and_translation(mink.SO3.from_matrix(self.rot), self.pos)


@dataclass(frozen=True)
class IKResult:
    """The joint positions (n,) that IK found and how close they came to every target."""

    q: np.ndarray
    position_error: dict[str, float]
    """Per site, metres."""
    orientation_error: dict[str, float]
    """Per site, radians (0 where orientation was not asked for)."""
    iterations: int
    converged: bool


class Kinematics:
    """FK and IK on a compiled model holding the robot (alone or in a world)."""

    def __init__(self, model: mujoco.MjModel, description: RobotDescription, solver: str = "daqp") -> None:
        self.model = model
        self.description = description
        self.solver = solver
        self._joints = JointIndex.of(model, description)
        self._configuration = mink.Configuration(model)
        self._q0 = model.qpos0.copy()
        self._q0[self._joints.qpos] = description.home
        self._limits = [mink.ConfigurationLimit(model)]
        one_dof = np.isin(model.jnt_type, [mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE])
        limited = np.flatnonzero(one_dof & model.jnt_limited.astype(bool))
        self._limited_qpos = model.jnt_qposadr[limited]
        self._limited_range = model.jnt_range[limited]
        self.interrupt: Callable[[], str | None] | None = None
        """Asked at every IK iteration: a reason makes the solve raise ``IKInterruptedError`` (a
        cancelled or e-stopped plan stops planning within an iteration, not after minutes)."""

    def _qpos(self, q: np.ndarray, base: np.ndarray | None) -> np.ndarray:
        qpos = (self._q0 if base is None else base).copy()
        qpos[self._joints.qpos] = q
        # A measured state sits a hair outside a range now and then (contacts, soft limits);
        # mink's limit constraint would then be infeasible for a frozen joint.
        lo, hi = self._limited_range.T
        qpos[self._limited_qpos] = np.clip(qpos[self._limited_qpos], lo, hi)
        return qpos

    def site_pose(self, q: np.ndarray, site: str, qpos: np.ndarray | None = None) -> Pose:
        """World pose of ``site`` with the robot at ``q`` (n,); other DoFs from ``qpos`` or rest."""
        self._check_site(site)
        self._configuration.update(self._qpos(q, qpos))
        transform = self._configuration.get_transform_frame_to_world(site, "site")
        return Pose(pos=transform.translation().copy(), rot=transform.rotation().as_matrix().copy())

    def body_pose(self, q: np.ndarray, body: str, qpos: np.ndarray | None = None) -> Pose:
        """World pose of ``body``'s frame with the robot at ``q`` (n,)."""
        if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, body) < 0:
            raise UnknownNameError(f"robot {self.description.name!r} has no body {body!r}")
        self._configuration.update(self._qpos(q, qpos))
        transform = self._configuration.get_transform_frame_to_world(body, "body")
        return Pose(pos=transform.translation().copy(), rot=transform.rotation().as_matrix().copy())

    def camera_pose(self, q: np.ndarray, camera: str, qpos: np.ndarray | None = None) -> Pose:
        """World pose of ``camera`` with the robot at ``q`` (n,). The camera looks along the
        frame's -z axis (MuJoCo's convention), with +y up in the image."""
        camera_id = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        if camera_id < 0:
            raise UnknownNameError(f"robot {self.description.name!r} has no camera {camera!r}")
        self._configuration.update(self._qpos(q, qpos))
        data = self._configuration.data
        mujoco.mj_camlight(self.model, data)  # kinematics alone leaves cameras where they were
        return Pose(pos=data.cam_xpos[camera_id].copy(), rot=data.cam_xmat[camera_id].reshape(3, 3).copy())

    def solve(
        self,
        q_start: np.ndarray,
        targets: Mapping[str, Pose],
        groups: Sequence[str],
        *,
        orientation: bool = True,
        position_tolerance: float = 1e-3,
        orientation_tolerance: float = 1e-2,
        max_iterations: int = 300,
        restarts: int = 20,
        qpos: np.ndarray | None = None,
    ) -> IKResult:
        """Joint positions (n,) that put each site at its target, moving only ``groups``.

        ``q_start`` (n,) seeds the solve and fixes every joint outside ``groups``. When the
        descent from it stalls (a joint limit, a local minimum), it restarts from up to
        ``restarts`` seeds drawn in the moving joints' ranges and returns the best result.
        """
        for site in targets:
            self._check_site(site)
        movable = {int(self._joints.dof[i]) for g in groups for i in self.description.group_indices(g)}
        frozen = [d for d in range(self.model.nv) if d not in movable]
        constraints = [mink.DofFreezingTask(self.model, dof_indices=frozen)] if frozen else []
        tasks = []
        for site, pose in targets.items():
            task = mink.FrameTask(site, "site", position_cost=1.0, orientation_cost=0.5 if orientation else 0.0)
            task.set_target(pose.as_se3())
            tasks.append(task)
        # A light pull toward the start keeps redundant arms away from odd elbow solutions.
        posture = mink.PostureTask(self.model, cost=1e-3)
        self._configuration.update(self._qpos(q_start, qpos))
        posture.set_target_from_configuration(self._configuration)
        tasks.append(posture)

        movable_joints = np.concatenate([self.description.group_indices(g) for g in groups])
        rng = np.random.default_rng(0)  # restarts are part of the answer: keep them reproducible
        best: IKResult | None = None
        for attempt in range(restarts + 1):
            q_seed = np.array(q_start, dtype=float)
            if attempt > 0:
                lo, hi = self.description.q_min[movable_joints], self.description.q_max[movable_joints]
                q_seed[movable_joints] = rng.uniform(lo, hi)
            result = self._descend(
                q_seed,
                targets,
                tasks,
                constraints,
                orientation,
                qpos,
                position_tolerance,
                orientation_tolerance,
                max_iterations,
            )
            if best is None or _total_error(result) < _total_error(best):
                best = result
            if result.converged:
                break
        assert best is not None
        return best

    def _descend(
        self,
        q_seed: np.ndarray,
        targets: Mapping[str, Pose],
        tasks: list[mink.Task],
        constraints: list[mink.Task],
        orientation: bool,
        qpos: np.ndarray | None,
        position_tolerance: float,
        orientation_tolerance: float,
        max_iterations: int,
    ) -> IKResult:
        self._configuration.update(self._qpos(q_seed, qpos))

        def within(pos_err: dict[str, float], rot_err: dict[str, float]) -> bool:
            return max(pos_err.values()) < position_tolerance and max(rot_err.values()) < orientation_tolerance

        pos_err, rot_err = self._errors(targets, orientation)
        iterations = 0
        best, gained_at = _error(pos_err, rot_err), 0
        while iterations < max_iterations and not within(pos_err, rot_err):
            if iterations - gained_at >= STALL_ITERATIONS:
                break
            if self.interrupt is not None and (why := self.interrupt()) is not None:
                raise IKInterruptedError(why)
            velocity = mink.solve_ik(
                self._configuration,
                tasks,
                IK_STEP_S,
                self.solver,
                damping=1e-4,
                limits=self._limits,
                constraints=constraints,
            )
            self._configuration.integrate_inplace(velocity, IK_STEP_S)
            pos_err, rot_err = self._errors(targets, orientation)
            iterations += 1
            if (error := _error(pos_err, rot_err)) < (1.0 - STALL_GAIN) * best:
                best, gained_at = error, iterations
        return IKResult(
            q=self._configuration.q[self._joints.qpos].copy(),
            position_error=pos_err,
            orientation_error=rot_err,
            iterations=iterations,
            converged=within(pos_err, rot_err),
        )

    def _errors(self, targets: Mapping[str, Pose], orientation: bool) -> tuple[dict[str, float], dict[str, float]]:
        pos_err, rot_err = {}, {}
        for site, target in targets.items():
            current = self._configuration.get_transform_frame_to_world(site, "site")
            pos_err[site] = float(np.linalg.norm(current.translation() - target.pos))
            if orientation:
                delta = current.rotation().inverse() @ mink.SO3.from_matrix(target.rot)
                rot_err[site] = float(np.linalg.norm(delta.log()))
            else:
                rot_err[site] = 0.0
        return pos_err, rot_err

    def _check_site(self, site: str) -> None:
        if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, site) < 0:
            raise UnknownNameError(f"no site named {site!r} in the kinematic model")


def _total_error(result: IKResult) -> float:
    return _error(result.position_error, result.orientation_error)


def _error(position: Mapping[str, float], orientation: Mapping[str, float]) -> float:
    return sum(position.values()) + 0.1 * sum(orientation.values())
