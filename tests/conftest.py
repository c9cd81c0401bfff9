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


FAR = (4.0, 4.0)  # where the mannequin stands when a test needs no person near the robot


@pytest.fixture
def runtime(humanoid: RobotDescription, tabletop: WorldSpec):
    """Both tiers lock-step with the default safety configuration, nobody near the robot."""
    from dynamical.runtime.lockstep import LockstepRuntime
    from dynamical.safety.config import SafetyConfig

    rt = LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=0)
    rt.set_mannequin_pose(*FAR)
    yield rt
    rt.close()
