"""The whole chain L3 → L7 on the real model."""

import json

import pytest

from dynamical.orchestration import (
    AmbiguousObjectError,
    AssignmentStrategy,
    ContractError,
    EmptyTaskError,
    ExecutionTier,
    NoCapableRobotError,
    NoSkillMatchError,
    OrchestrationRequest,
    RobotCapabilities,
    RobotLocation,
    SkillExecutionPlan,
    UnknownObjectError,
    build_orchestrator,
)
from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests


def plan(orchestrator, task, **kwargs):
    return orchestrator.orchestrate(OrchestrationRequest(task_description=task, **kwargs))


def calls(p):
    return [(s.skill_id, s.parameters) for s in p.steps]


SEED = [
    ("grasp", {"obj": "red_cube"}),
    ("lift", {"obj": "red_cube", "height": 0.2}),
    ("place", {"obj": "red_cube", "surface": "shelf"}),
]


@pytest.mark.parametrize(
    "task", ["pick up the red cube and place it on the shelf", "grab the crimson block and put it up on the shelf"]
)
def test_seed_task_and_paraphrase_plan(orchestrator, task):
    p = plan(orchestrator, task)
    assert calls(p) == SEED
    assert [s.depends_on for s in p.steps] == [[], ["s1"], ["s2"]]
    assert {s.robot_id for s in p.steps} == {"humanoid-1"} and {s.workspace_id for s in p.steps} == {"tabletop"}
    assert all(s.tier is ExecutionTier.CONTROL and s.weights[0] > 0.5 for s in p.steps)
    assert p.steps[2].location_params["place_height_m"] == pytest.approx(0.91)
    assert any("reachable" in a for a in p.assumptions)
    # Every step's parameters are valid for its skill, as the runner will pass them.
    manifests = {m.id: m for m in builtin_manifests()}
    for step in p.steps:
        assert manifests[step.skill_id].validate_parameters(step.parameters) == step.parameters
    again = SkillExecutionPlan.model_validate(json.loads(p.model_dump_json()))
    assert again == p


def test_upper_shelf_and_handover(orchestrator):
    assert calls(plan(orchestrator, "move the red cube onto the upper shelf"))[-1] == (
        "place",
        {"obj": "red_cube", "surface": "shelf_upper"},
    )
    p = plan(orchestrator, "hand the cup to your left hand")
    assert calls(p) == [
        ("grasp", {"obj": "red_cup", "side": "right"}),
        ("handover", {"obj": "red_cup", "from_side": "right", "to_side": "left"}),
    ]
    assert p.steps[1].tier is ExecutionTier.REALTIME


def test_passthrough_steps_are_routed(orchestrator):
    p = plan(orchestrator, "wave with your left hand, then look at the blue cube and point at the upper shelf")
    assert calls(p) == [
        ("wave", {"side": "left", "cycles": 3}),
        ("look_at", {"target": "blue_cube"}),
        ("point_at", {"target": "shelf_upper"}),
    ]


def test_clear_errors(orchestrator, world):
    with pytest.raises(UnknownObjectError, match="known objects: red_cube"):
        plan(orchestrator, "pick up the purple cube")
    with pytest.raises(AmbiguousObjectError, match="say which one"):
        plan(orchestrator, "put the cube on the shelf")
    with pytest.raises(EmptyTaskError):
        plan(orchestrator, "  ")
    with pytest.raises(NoSkillMatchError, match="no skill matches 'bake a chocolate cake'"):
        plan(orchestrator, "bake a chocolate cake")
    full = world.model_copy(update={"holding": {"left": "green_cube", "right": "blue_cube"}})
    with pytest.raises(ContractError, match="step 1 grasp.*no hand is free"):
        plan(orchestrator, "pick up the red cube", world=full)


def test_no_capable_robot(embedder, world):
    robot = RobotCapabilities(robot_id="waver", embodiment=EMBODIMENT, skills=frozenset({"wave"}))
    location = RobotLocation(robot_id="waver", position=(0.0, 0.0, 0.0), workspace_id="tabletop")
    orchestrator = build_orchestrator(builtin_manifests(), [robot], [location], world, embedder=embedder)
    assert calls(plan(orchestrator, "wave")) == [("wave", {"cycles": 3})]
    with pytest.raises(NoCapableRobotError, match="waver lacks grasp, lift, place"):
        plan(orchestrator, "pick up the red cube and place it on the shelf")


@pytest.fixture(scope="module")
def fleet_orchestrator(embedder, world):
    skills = frozenset(m.id for m in builtin_manifests())
    robots, locations = [], []
    for i, (x, y) in enumerate([(0.0, 0.0), (2.0, 0.0), (0.0, 3.0)]):
        robots.append(RobotCapabilities(robot_id=f"r{i + 1}", embodiment=EMBODIMENT, skills=skills))
        locations.append(RobotLocation(robot_id=f"r{i + 1}", position=(x, y, 0.0), workspace_id="tabletop"))
    return build_orchestrator(builtin_manifests(), robots, locations, world, embedder=embedder)


def test_strategies_through_the_chain(fleet_orchestrator):
    task = "pick up the red cube and place it on the shelf"
    assert plan(fleet_orchestrator, task, target_position=(2.1, 0.0, 0.0)).robots == ["r2"]
    robin = [plan(fleet_orchestrator, task, assignment_strategy=AssignmentStrategy.ROUND_ROBIN).robots for _ in "123"]
    assert robin == [["r1"], ["r2"], ["r3"]]


def test_leader_and_followers_share_coordination_ids(fleet_orchestrator):
    p = plan(fleet_orchestrator, "wave with your right hand and go home", robot_count=2)
    wave = [s for s in p.steps if s.skill_id == "wave"]
    home = [s for s in p.steps if s.skill_id == "go_home"]
    # wave has no follower role: the first robot waves alone; go_home has followers (and no leader role).
    assert [(s.robot_id, s.role) for s in wave] == [("r1", "independent")]
    assert [(s.robot_id, s.role) for s in home] == [("r1", "independent"), ("r2", "follower")]
    assert home[0].coordination_id == home[1].coordination_id is not None
    assert {s.tier for s in home} == {ExecutionTier.REALTIME}
    assert home[1].depends_on == home[0].depends_on == [wave[0].step_id]


def test_many_tasks_run_in_parallel_on_different_robots(fleet_orchestrator):
    requests = [
        OrchestrationRequest(
            task_description="pick up the red cube and place it on the shelf", target_position=(0, 0, 0)
        ),
        OrchestrationRequest(task_description="look at the blue cube", target_position=(2, 0, 0)),
    ]
    p = fleet_orchestrator.orchestrate_many(requests)
    assert p.strategy is AssignmentStrategy.OPTIMAL
    by_robot = (
        {s.robot_id for s in p.steps if s.skill_id == "look_at"},
        {s.robot_id for s in p.steps if s.skill_id == "grasp"},
    )
    assert by_robot == ({"r2"}, {"r1"})
    look = next(s for s in p.steps if s.skill_id == "look_at")
    assert look.depends_on == []


def test_followed_manipulation_has_a_leader(fleet_orchestrator):
    p = plan(fleet_orchestrator, "look at the red cup", robot_count=3)
    assert [(s.robot_id, s.role) for s in p.steps] == [("r1", "leader"), ("r2", "follower"), ("r3", "follower")]
    assert len({s.coordination_id for s in p.steps}) == 1
