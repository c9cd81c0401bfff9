"""L5 alone: every strategy, OPTIMAL against brute force, refusals."""

import itertools

import numpy as np
import pytest

from dynamical.orchestration import (
    AssignmentStrategy,
    NoCapableRobotError,
    RobotCapabilities,
    RobotLocation,
    RobotLocationTracker,
    TaskRequirement,
    TaskRouter,
)

S = AssignmentStrategy
ALL = frozenset({"grasp", "lift", "place", "wave"})


def fleet(specs):
    """specs: (id, x, y, skills, busy, queue)."""
    robots = [
        RobotCapabilities(robot_id=r, embodiment="humanoid", skills=skills, busy=busy, queue_length=q)
        for r, _, _, skills, busy, q in specs
    ]
    tracker = RobotLocationTracker(
        [RobotLocation(robot_id=r, position=(x, y, 0.0), workspace_id="w") for r, x, y, *_ in specs]
    )
    return TaskRouter(robots, tracker, load_cost_m=0.5)


def need(task_id="t", skills=frozenset({"grasp", "lift"}), at=(0.0, 0.0, 0.0)):
    return TaskRequirement(task_id=task_id, skill_ids=skills, embodiments=frozenset({"humanoid"}), target_position=at)


ROUTER_SPECS = [
    ("a", 0.0, 0.0, ALL, False, 2),
    ("b", 1.0, 0.0, frozenset({"grasp", "lift"}), False, 0),
    ("c", 5.0, 0.0, ALL, True, 0),
    ("d", 3.0, 0.0, frozenset({"wave"}), False, 0),
]


def test_nearest_picks_the_closest_idle_capable_robot():
    router = fleet(ROUTER_SPECS)
    assert router.assign(need(at=(0.9, 0, 0)), S.NEAREST).robot_id == "b"
    assert router.assign(need(at=(-1, 0, 0)), S.NEAREST).robot_id == "a"
    assert router.assign(need(at=(5, 0, 0)), S.NEAREST).robot_id == "b"  # c is nearer but busy


def test_least_busy_prefers_idle_and_short_queues():
    router = fleet(ROUTER_SPECS)
    assert router.assign(need(), S.LEAST_BUSY).robot_id == "b"
    all_busy = fleet([("x", 0, 0, ALL, True, 3), ("y", 0, 0, ALL, True, 1)])
    assert all_busy.assign(need(), S.LEAST_BUSY).robot_id == "y"


def test_capability_picks_the_best_fit():
    router = fleet(ROUTER_SPECS)
    assert router.assign(need(), S.CAPABILITY).robot_id == "b"  # two skills, a has four
    assert router.assign(need(skills=frozenset({"place"})), S.CAPABILITY).robot_id == "a"


def test_round_robin_starts_with_the_first_and_cycles_over_idle_capable_robots():
    router = fleet(ROUTER_SPECS)
    picks = [router.assign(need(), S.ROUND_ROBIN).robot_id for _ in range(5)]
    assert picks == ["a", "b", "a", "b", "a"]


def test_no_capable_robot_says_why():
    router = fleet(ROUTER_SPECS)
    with pytest.raises(NoCapableRobotError, match="needs fold.*a lacks fold.*d lacks fold"):
        router.assign(need(skills=frozenset({"fold"})), S.NEAREST)
    other = TaskRequirement(task_id="t", skill_ids=frozenset({"wave"}), embodiments=frozenset({"aloha"}))
    with pytest.raises(NoCapableRobotError, match="a is a humanoid, the skills are for aloha"):
        router.assign(other, S.NEAREST)
    only_busy = fleet([("x", 0, 0, ALL, True, 0)])
    with pytest.raises(NoCapableRobotError, match="busy.*least_busy"):
        only_busy.assign(need(), S.NEAREST)


def brute_force(router, requirements):
    robots = router.robots
    best = np.inf
    for choice in itertools.product(range(len(robots)), repeat=len(requirements)):
        total, taken = 0.0, {}
        for req, r in zip(requirements, choice, strict=True):
            robot = robots[r]
            if router._lacks(robot, req) is not None:
                total = np.inf
                break
            total += router.cost(robot, req, extra_tasks=taken.get(r, 0))
            taken[r] = taken.get(r, 0) + 1
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_optimal_matches_brute_force_on_small_cases(seed):
    rng = np.random.default_rng(seed)
    n_robots, n_tasks = int(rng.integers(2, 5)), int(rng.integers(1, 5))
    skills = ["grasp", "lift", "wave"]
    specs = []
    for i in range(n_robots):
        own = frozenset(s for s in skills if rng.random() < 0.8) | {"grasp"}
        specs.append((f"r{i}", *rng.uniform(-2, 2, 2), own, bool(rng.random() < 0.2), int(rng.integers(0, 3))))
    router = fleet(specs)
    requirements = [
        need(f"t{j}", frozenset(rng.choice(skills, size=int(rng.integers(1, 3)), replace=False)) & {"grasp", "lift"}
             or frozenset({"grasp"}), (*rng.uniform(-2, 2, 2), 0.0))
        for j in range(n_tasks)
    ]  # fmt: skip
    expected = brute_force(router, requirements)
    if not np.isfinite(expected):
        with pytest.raises(NoCapableRobotError):
            router.assign_many(requirements)
        return
    assignments = router.assign_many(requirements)
    assert [a.task_id for a in assignments] == [r.task_id for r in requirements]
    assert sum(a.cost for a in assignments) == pytest.approx(expected)


def test_optimal_spreads_tasks_when_queues_cost_more_than_walking():
    router = fleet([("near", 0, 0, ALL, False, 0), ("far", 0.3, 0, ALL, False, 0)])
    assignments = router.assign_many([need("t1"), need("t2")])
    assert sorted(a.robot_id for a in assignments) == ["far", "near"]
