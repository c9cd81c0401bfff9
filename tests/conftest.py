import pytest

import dynamical  # noqa: F401  (sets MUJOCO_GL before anything imports mujoco)
from dynamical.robot import RobotDescription, SimRobot, WorldSpec


@pytest.fixture(scope="session")
def humanoid() -> RobotDescription:
    return RobotDescription.load("humanoid")


@pytest.fixture(scope="session")
def tabletop() -> WorldSpec:
    return WorldSpec.load("tabletop")


@pytest.fixture
def sim(humanoid: RobotDescription, tabletop: WorldSpec) -> SimRobot:
    robot = SimRobot(humanoid, tabletop, seed=0)
    yield robot
    robot.close()
