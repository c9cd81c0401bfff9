import pytest

from dynamical.perception.pipeline import PerceptionPipeline
from dynamical.robot import RobotDescription, SimRobot, WorldSpec

CAMERAS = ("head", "front", "side")


@pytest.fixture(scope="module")
def world_sim(humanoid: RobotDescription, tabletop: WorldSpec) -> SimRobot:
    """One simulated world per module; each test resets it to the seed it needs."""
    sim = SimRobot(humanoid, tabletop, seed=0)
    sim.set_mannequin_pose(4.0, 4.0)
    yield sim
    sim.close()


@pytest.fixture(scope="module")
def pipeline(world_sim: SimRobot) -> PerceptionPipeline:
    """Head and both scene cameras at 320×240."""
    p = PerceptionPipeline.for_sim(world_sim.model, world_sim.data, tuple(world_sim.world.objects), CAMERAS)
    yield p
    p.close()


@pytest.fixture(autouse=True)
def _nobody_near(request: pytest.FixtureRequest) -> None:
    """Each test starts with the mannequin far away (a test may move it)."""
    if "world_sim" in request.fixturenames:
        request.getfixturevalue("world_sim").set_mannequin_pose(4.0, 4.0)
