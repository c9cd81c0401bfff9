import pytest

from dynamical.orchestration import (
    RobotCapabilities,
    RobotLocation,
    build_orchestrator,
    default_world_snapshot,
)
from dynamical.orchestration.embedding import SentenceEmbedder, get_embedder
from dynamical.orchestration.router import MoESkillRouter
from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The real MiniLM model, loaded once for the whole session."""
    return get_embedder()


@pytest.fixture(scope="session")
def world():
    return default_world_snapshot()


@pytest.fixture(scope="session")
def manifests():
    return {m.id: m for m in builtin_manifests()}


@pytest.fixture(scope="session")
def router(embedder) -> MoESkillRouter:
    return MoESkillRouter(embedder, builtin_manifests())


@pytest.fixture(scope="session")
def orchestrator(embedder, world):
    skills = frozenset(m.id for m in builtin_manifests())
    robot = RobotCapabilities(robot_id="humanoid-1", embodiment=EMBODIMENT, skills=skills)
    location = RobotLocation(robot_id="humanoid-1", position=(0.0, 0.0, 0.0), workspace_id="tabletop")
    return build_orchestrator(builtin_manifests(), [robot], [location], world, embedder=embedder)
