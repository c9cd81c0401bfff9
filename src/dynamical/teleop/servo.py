"""Hand targets → joint commands, one control tick at a time (a servo, as in MoveIt Servo).

Each tick solves one step of differential IK (mink, DAQP) for the arms toward the operator's palm
targets, sets the head, waist and fingers toward theirs, and shapes the result so that no joint
goes faster than ``speed_scale`` of its limit, changes speed faster than ``accel_scale`` of its
acceleration limit, or arrives at a target faster than it could brake. The safety kernel bounds
all of this again; shaping here means the operator's motion is smooth and the kernel has little
to correct. Whatever a step cannot reach this tick it reaches on later ticks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription
from dynamical.robot.scene import JointIndex, build_model
from dynamical.teleop.inputs import HandTarget, Side, TeleopConfig

SIDES: tuple[Side, ...] = ("left", "right")
IK_DAMPING = 1e-3
"""Levenberg-Marquardt damping of the servo's IK: keeps a step near a singularity (a straight
elbow) small instead of large and sign-flipping."""
POSTURE_COST = 1e-2
"""Pull toward the arm posture the session started with: redundancy resolution, never a goal."""


@dataclass(frozen=True)
class ServoGroups:
    """Indices (k,) into the robot's joint vector of what teleop drives."""

    arms: dict[Side, np.ndarray]
    hands: dict[Side, np.ndarray]
    head: np.ndarray
    waist: np.ndarray

    @classmethod
    def of(cls, description: RobotDescription) -> ServoGroups:
        def group(name: str) -> np.ndarray:
            return description.group_indices(name) if name in description.groups else np.zeros(0, dtype=int)

        return cls(
            arms={s: group(f"arm_{s}") for s in SIDES},
            hands={s: group(f"hand_{s}") for s in SIDES},
            head=group("head"),
            waist=group("waist"),
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The joint groups teleop commands (the executor's action space for it)."""
        named = [f"arm_{s}" for s in SIDES if len(self.arms[s])]
        named += [f"hand_{s}" for s in SIDES if len(self.hands[s])]
        named += [g for g, idx in (("head", self.head), ("waist", self.waist)) if len(idx)]
        return tuple(named)


def quat_to_matrix(quat_wxyz: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion (4,) w x y z."""
    out = np.zeros(9)
    mujoco.mju_quat2Mat(out, np.asarray(quat_wxyz, dtype=float))
    return out.reshape(3, 3)


class TeleopServo:
    """Steps a joint command (n,) toward the operator's targets, one control period at a time."""

    def __init__(self, description: RobotDescription, config: TeleopConfig, control_period: float) -> None:
        if not control_period > 0:
            raise ValueError(f"control_period must be > 0 s, got {control_period}")
        self.description = description
        self.config = config
        self.dt = float(control_period)
        self.groups = ServoGroups.of(description)
        self.model = build_model(description)
        self._joints = JointIndex.of(self.model, description)
        self._configuration = mink.Configuration(self.model)
        self._qpos = self.model.qpos0.copy()
        arm_dofs = {int(self._joints.dof[i]) for s in SIDES for i in self.groups.arms[s]}
        frozen = [d for d in range(self.model.nv) if d not in arm_dofs]
        self._constraints = [mink.DofFreezingTask(self.model, dof_indices=frozen)] if frozen else []
        self._limits = [mink.ConfigurationLimit(self.model)]
        self._sites = {s: description.end_effectors.get(f"arm_{s}") for s in SIDES}
        self._tasks: dict[Side, mink.FrameTask] = {}
        for side, site in self._sites.items():
            if site is not None:
                task = mink.FrameTask(
                    site, "site", position_cost=1.0, orientation_cost=0.5 if config.orientation else 0.0
                )
                self._tasks[side] = task
        self._posture = mink.PostureTask(self.model, cost=POSTURE_COST)
        self.v_max = description.v_max * config.speed_scale
        self.a_max = description.a_max * config.accel_scale
        self._velocity = np.zeros(description.n_joints)

    # ---- state ----

    def reset(self, q: np.ndarray, velocity: np.ndarray | None = None) -> None:
        """Start from the command ``q`` (n,) moving at ``velocity`` (n,) rad/s (default still);
        the arm posture the IK keeps near is this one."""
        self._set(q)
        self._posture.set_target_from_configuration(self._configuration)
        self._velocity = np.zeros(self.description.n_joints) if velocity is None else np.array(velocity, dtype=float)

    @property
    def arm_sides(self) -> tuple[Side, ...]:
        """The sides whose palm the servo can place (the robot has that arm's end effector)."""
        return tuple(side for side in SIDES if self._sites[side] is not None)

    @property
    def velocity(self) -> np.ndarray:
        """(n,) rad/s of the last step."""
        return self._velocity.copy()

    def palm_pose(self, q: np.ndarray, side: Side) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) m and rotation (3, 3) of ``side``'s palm site with the robot at ``q``."""
        site = self._sites[side]
        if site is None:
            raise KeyError(f"robot {self.description.name!r} has no {side} arm end effector")
        self._set(q)
        transform = self._configuration.get_transform_frame_to_world(site, "site")
        return transform.translation().copy(), transform.rotation().as_matrix().copy()

    def _set(self, q: np.ndarray) -> None:
        self._qpos[self._joints.qpos] = np.clip(q, self.description.q_min, self.description.q_max)
        self._configuration.update(self._qpos)

    # ---- one tick ----

    def goal(
        self,
        q: np.ndarray,
        hands: Mapping[Side, HandTarget],
        hand_joints: Mapping[Side, np.ndarray],
        head: np.ndarray | None,
        waist: np.ndarray | None,
    ) -> np.ndarray:
        """Where the joints (n,) should be to meet the targets, as far as one IK step from ``q``
        (n,) sees: the arms from IK, the rest set directly; clipped to the joint ranges."""
        goal = np.array(q, dtype=float)
        active = [side for side in SIDES if side in hands and side in self._tasks]
        if active:
            self._set(q)
            tasks: list[mink.Task] = [self._posture]
            for side in active:
                target = hands[side]
                rot = quat_to_matrix(np.array(target.quat)) if target.quat is not None else None
                task = self._tasks[side]
                if rot is None:  # position only: keep the palm's current orientation as its target
                    frame = self._configuration.get_transform_frame_to_world(task.frame_name, "site")
                    rot = frame.rotation().as_matrix()
                task.set_target(
                    mink.SE3.from_rotation_and_translation(mink.SO3.from_matrix(rot), np.array(target.pos, dtype=float))
                )
                tasks.append(task)
            # One step of length dt: velocity that would close the error in one tick (the shaping
            # below then limits it), feasible within the joint ranges.
            v = mink.solve_ik(
                self._configuration,
                tasks,
                self.dt,
                "daqp",
                damping=IK_DAMPING,
                limits=self._limits,
                constraints=self._constraints,
            )
            stepped = self._configuration.integrate(v, self.dt)[self._joints.qpos]
            for side in active:
                idx = self.groups.arms[side]
                goal[idx] = stepped[idx]
        for side, joints in hand_joints.items():
            idx = self.groups.hands[side]
            if len(idx) == len(joints):
                goal[idx] = joints
        if head is not None and len(self.groups.head) == len(head):
            goal[self.groups.head] = head
        if waist is not None and len(self.groups.waist) == len(waist):
            goal[self.groups.waist] = waist
        return np.clip(goal, self.description.q_min, self.description.q_max)

    def step(self, q: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """The next command (n,) from ``q`` (n,) toward ``goal`` (n,): speed, acceleration and
        braking distance limited per joint (a goal that jumps is approached, never jumped to)."""
        error = goal - q
        # The fastest speed from which the joint can still stop at the goal: sqrt(2 a |e|).
        reach = np.minimum(np.abs(error) / self.dt, np.sqrt(2.0 * self.a_max * np.abs(error)))
        wanted = np.sign(error) * np.minimum(reach, self.v_max)
        dv = np.clip(wanted - self._velocity, -self.a_max * self.dt, self.a_max * self.dt)
        self._velocity = self._velocity + dv
        nxt = np.clip(q + self._velocity * self.dt, self.description.q_min, self.description.q_max)
        self._velocity = (nxt - q) / self.dt  # a joint stopped at its range has stopped
        return nxt

    def stopping_point(self, q: np.ndarray) -> np.ndarray:
        """Where each joint (n,) comes to rest from ``q`` (n,) braking at the shaped limit: the
        hold target after the deadman lets go (braking, not snapping back)."""
        travel = self._velocity * np.abs(self._velocity) / (2.0 * self.a_max)
        return np.clip(q + travel, self.description.q_min, self.description.q_max)
