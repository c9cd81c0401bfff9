"""Robot descriptions, the driver protocol, and the MuJoCo simulated robot."""

from dynamical.robot.description import GROUP_NAMES, RobotDescription, RobotProfile
from dynamical.robot.errors import CommandError, ProfileError, RobotError, UnknownNameError
from dynamical.robot.protocol import CameraFrame, JointCommand, Robot, RobotState
from dynamical.robot.sim_robot import SimRobot
from dynamical.robot.world import WorldSpec

__all__ = [
    "GROUP_NAMES",
    "CameraFrame",
    "CommandError",
    "JointCommand",
    "ProfileError",
    "Robot",
    "RobotDescription",
    "RobotError",
    "RobotProfile",
    "RobotState",
    "SimRobot",
    "UnknownNameError",
    "WorldSpec",
]
