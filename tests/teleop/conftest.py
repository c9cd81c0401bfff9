import pytest

from dynamical.agent.lockstep_agent import LockstepRobotAgent
from tests.conftest import FAR


@pytest.fixture
def agent(humanoid, tabletop):
    """A lock-step robot at twice real time, nobody near it."""
    robot = LockstepRobotAgent("teleop_test", humanoid, tabletop, seed=0, speed=2.0)
    robot.runtime.set_mannequin_pose(*FAR)
    robot.start()
    yield robot
    robot.stop()
