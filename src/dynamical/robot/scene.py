"""Compile a robot (from its description) into a world, ready to simulate.

The compiled model adds, for every commanded joint, a torque motor beside the joint's position
servo: the driver's feed-forward channel. The joint's ``actuatorfrcrange`` is set to the
description's effort limit, so MuJoCo clamps servo + feed-forward + gravity compensation together,
as a torque-limited drive would.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import mujoco
import numpy as np

from dynamical.robot.description import RobotDescription, joint_actuators
from dynamical.robot.errors import ProfileError
from dynamical.robot.world import WorldSpec

FEEDFORWARD_SUFFIX = "/ff"


def build_model(
    description: RobotDescription, world: WorldSpec | None = None, timestep: float = 0.001
) -> mujoco.MjModel:
    """The robot placed at the world's mount frame (or alone), with feed-forward motors."""
    robot = mujoco.MjSpec.from_file(str(description.mjcf_path))
    if world is None:
        spec = robot
    else:
        spec = mujoco.MjSpec.from_file(str(world.mjcf_path))
        mount = spec.frame(world.mount_frame)
        if mount is None:
            raise ProfileError(f"world {world.name!r} has no frame {world.mount_frame!r} to mount the robot")
        # An empty prefix keeps the profile's names; MuJoCo warns that such a model may not
        # save back to XML, which we never do, so that one warning is dropped.
        with _mujoco_warnings(drop="empty prefix"):
            spec.attach(robot, frame=mount, prefix="")
    spec.option.timestep = timestep
    for name, tau in zip(description.joint_names, description.tau_max, strict=True):
        joint = spec.joint(name)
        joint.actfrclimited = mujoco.mjtLimited.mjLIMITED_TRUE
        joint.actfrcrange = np.array([-tau, tau])
        motor = spec.add_actuator(name=name + FEEDFORWARD_SUFFIX, target=name)
        motor.trntype = mujoco.mjtTrn.mjTRN_JOINT
        motor.set_to_motor()
        motor.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        motor.ctrlrange = np.array([-tau, tau])
    try:
        with _mujoco_warnings(drop="empty prefix"):
            return spec.compile()
    except ValueError as exc:
        raise ProfileError(f"cannot compile {description.name!r} into the world: {exc}") from None


@contextlib.contextmanager
def _mujoco_warnings(drop: str) -> Iterator[None]:
    """Route MuJoCo's C warnings to Python warnings (not stdout and a log file), minus ``drop``."""
    previous = mujoco.get_mju_user_warning()

    def forward(message: str) -> None:
        if drop not in message:
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(forward)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=f".*{drop}.*")
            yield
    finally:
        mujoco.set_mju_user_warning(previous)


@dataclass(frozen=True)
class JointIndex:
    """Where the description's joints live in a compiled model; every array is (n,)."""

    qpos: np.ndarray
    dof: np.ndarray
    servo: np.ndarray
    """Position actuator ids."""
    feedforward: np.ndarray
    """Torque motor ids (-1 where the model has none, e.g. a kinematics-only model)."""
    kv: np.ndarray
    """Servo damping gains, N·m·s/rad; a velocity feed-forward v adds kv·v of torque."""

    @classmethod
    def of(cls, model: mujoco.MjModel, description: RobotDescription) -> JointIndex:
        qpos, dof, servo, ff = [], [], [], []
        for name in description.joint_names:
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
            if jid < 0:
                raise ProfileError(f"model has no joint {name!r} of robot {description.name!r}")
            qpos.append(model.jnt_qposadr[jid])
            dof.append(model.jnt_dofadr[jid])
            acts = joint_actuators(model, jid)
            servos = [a for a in acts if model.actuator_biasprm[a, 1] < 0]
            motors = [a for a in acts if a not in servos]
            servo.append(servos[0])
            ff.append(motors[0] if motors else -1)
        servo_ids = np.array(servo)
        return cls(
            qpos=np.array(qpos),
            dof=np.array(dof),
            servo=servo_ids,
            feedforward=np.array(ff),
            kv=-model.actuator_biasprm[servo_ids, 2].copy(),
        )
