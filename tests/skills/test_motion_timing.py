"""Motions within the joint limits by construction: a timed path keeps position (with its
margin), speed and acceleration at every sample, passes through every waypoint and starts and
ends at rest; streamed to the real safety kernel it needs no intervention, while a motion timed
beyond the limits still gets one."""

from collections import Counter
from typing import Any

import numpy as np
import pytest

from dynamical.agent.demo import SEED_TASK
from dynamical.agent.plan_runner import run_plan
from dynamical.orchestration import OrchestrationRequest, get_orchestrator
from dynamical.orchestration.world import snapshot_from_world_model
from dynamical.robot.kinematics import Kinematics
from dynamical.robot.scene import build_model
from dynamical.runtime.lockstep import LockstepRuntime
from dynamical.safety.config import SafetyConfig
from dynamical.safety.rules import Rule
from dynamical.skills.builtin.scripted import MotionPlan, ScriptedSkill
from dynamical.skills.evaluation import MANNEQUIN_AWAY
from dynamical.skills.executor import Executor
from dynamical.skills.runner import SkillRunner
from dynamical.skills.timing import MotionLimits, time_path

RELATIVE = 1e-9
"""Slack on a bound for floating-point rounding only."""


@pytest.fixture(scope="module")
def limits(humanoid):
    return MotionLimits.of(humanoid)


def random_path(humanoid, rng, count):
    """A start at the rest pose (fingers at the end of their range) and ``count`` waypoints
    (count, n) wandering with the right arm and closing and opening the right hand."""
    arm, hand = humanoid.group_indices("arm_right"), humanoid.group_indices("hand_right")
    q, points = humanoid.home.copy(), []
    for k in range(count):
        q = q.copy()
        q[arm] += rng.normal(0.0, 0.25 if k == 0 else 0.05, arm.size)
        q[hand] = rng.uniform(-0.2, 1.9, hand.size)  # partly beyond the range: clipped inside
        points.append(q)
    return humanoid.home.copy(), np.array(points)


@pytest.mark.parametrize("seed", range(6))
def test_a_timed_path_keeps_every_limit_at_every_sample(humanoid, limits, seed):
    rng = np.random.default_rng(seed)
    start, points = random_path(humanoid, rng, int(rng.integers(1, 12)))
    path = time_path(start, points, limits, max_speed=2.0)
    _, q, v, a = path.sample()
    # Inside the range with its margin, except where the start itself was outside (the rest
    # pose's fingers): from there the path only moves inward.
    assert (q >= np.minimum(limits.q_min, start) - RELATIVE).all()
    assert (q <= np.maximum(limits.q_max, start) + RELATIVE).all()
    assert (q[-1] >= limits.q_min).all() and (q[-1] <= limits.q_max).all()
    assert (np.abs(v) <= np.minimum(limits.v_max, 2.0) * (1 + RELATIVE)).all()
    assert (np.abs(a) <= limits.a_max * (1 + RELATIVE)).all()
    # The same from the positions alone, as the kernel sees them tick by tick (1 ms).
    dt = 1e-3
    ticks = np.array([path.target(t) for t in np.arange(0.0, path.duration + 0.01, dt)])
    speed = np.diff(ticks, axis=0) / dt
    assert (np.abs(speed) <= np.minimum(limits.v_max, 2.0) * (1 + 1e-6)).all()
    assert (np.abs(np.diff(speed, axis=0)) / dt <= limits.a_max * 1.01).all()


@pytest.mark.parametrize("seed", range(3))
def test_a_timed_path_passes_through_every_waypoint_and_rests_at_both_ends(humanoid, limits, seed):
    rng = np.random.default_rng(100 + seed)
    start, points = random_path(humanoid, rng, 8)
    path = time_path(start, points, limits)
    clipped = np.clip(points, limits.q_min, limits.q_max)
    period = 1e-4
    _, q, _, _ = path.sample(period)
    for point in clipped:
        # The nearest sample is at most half a sample period of travel away.
        nearest = np.min(np.max(np.abs(q - point), axis=1))
        assert nearest <= limits.v_max.max() * period
    np.testing.assert_array_equal(path.target(0.0), start)
    np.testing.assert_array_equal(path.target(path.duration), clipped[-1])
    np.testing.assert_array_equal(path.target(path.duration + 1.0), clipped[-1])
    np.testing.assert_array_equal(path.velocity(0.0), np.zeros_like(start))
    np.testing.assert_array_equal(path.velocity(path.duration), np.zeros_like(start))
    # Coming to rest smoothly, not by a jump from speed to zero: a tick from either end the
    # speed is within one tick of acceleration of zero.
    assert (np.abs(path.velocity(1e-3)) <= limits.a_max * 1e-3 * (1 + 1e-6)).all()
    assert (np.abs(path.velocity(path.duration - 1e-3)) <= limits.a_max * 1e-3 * (1 + 1e-6)).all()


def test_a_timed_path_takes_at_least_the_time_asked_and_holds_still_when_nothing_moves(humanoid, limits):
    start = humanoid.home.copy()
    goal = start.copy()
    goal[humanoid.index("r_elbow")] += 0.3
    fastest = time_path(start, goal[None, :], limits)
    slow = time_path(start, goal[None, :], limits, min_duration=3 * fastest.duration)
    assert slow.duration == pytest.approx(3 * fastest.duration)
    assert slow.peak_speed == pytest.approx(fastest.peak_speed / 3, rel=1e-3)
    capped = time_path(start, goal[None, :], limits, max_speed=0.2)
    assert capped.peak_speed <= 0.2 * (1 + RELATIVE)
    still = time_path(limits.clip(start), limits.clip(start)[None, :], limits, min_duration=0.5)
    assert still.duration == 0.5
    np.testing.assert_array_equal(still.target(0.25), limits.clip(start))


def test_positions_keep_a_margin_from_the_ends_of_every_range(humanoid, limits):
    hand = humanoid.group_indices("hand_right")
    assert (limits.q_min[hand] > humanoid.q_min[hand]).all()
    assert (limits.q_max < humanoid.q_max).all() and (limits.q_min > humanoid.q_min).all()
    closed = humanoid.home.copy()
    closed[hand] = humanoid.q_max[hand] + 0.5  # asked past the end of the range
    path = time_path(humanoid.home, closed[None, :], limits)
    np.testing.assert_allclose(path.end[hand], limits.q_max[hand])


class _Reach(ScriptedSkill):
    """Out with the right arm and back, timed within ``motion_limits``."""

    skill_id = "test_reach"

    def __init__(self, world: Any, kinematics: Kinematics, motion_limits: MotionLimits) -> None:
        super().__init__(world, kinematics, {})
        self.motion_limits = motion_limits
        self.groups = ("arm_right", "hand_right")

    def plan(self, q_start: np.ndarray) -> MotionPlan:
        plan = MotionPlan(self.description, q_start)
        plan.limits = self.motion_limits
        out = q_start.copy()
        for joint, delta in (("r_shoulder_pitch", -0.9), ("r_elbow", 0.8), ("r_wrist_yaw", 0.5)):
            out[self.description.index(joint)] += delta
        out[self.description.group_indices("hand_right")] = 1.2
        return plan.go("out", out, speed=3.0).go("back", q_start, speed=3.0)


def _run_reach(humanoid, tabletop, motion_limits) -> Counter[str]:
    """The reach run by the real executor, streamed to the real kernel on the lock-step
    simulator; the kernel's events by rule."""
    kinematics = Kinematics(build_model(humanoid), humanoid)
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=3) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        world = SkillRunner(runtime, kinematics).world
        executor = Executor(runtime.link, humanoid)
        runtime.run(0.1, executor.controller)  # holding still first, as between two tasks
        skill = _Reach(world, kinematics, motion_limits)
        executor.run(skill, timeout_s=30.0)
        while executor.running:
            runtime.run(0.1, executor.controller)
        assert executor.report is not None and executor.report.status == "succeeded"
        return Counter(Rule(e.rule).name for e in runtime.link.events())


def test_a_timed_motion_reaches_the_kernel_without_a_single_intervention(humanoid, tabletop, limits):
    assert _run_reach(humanoid, tabletop, limits) == Counter()


def test_the_kernel_still_intervenes_on_a_motion_timed_beyond_the_limits(humanoid, tabletop):
    # The same reach, timed for three times the acceleration the profile allows.
    reckless = MotionLimits.of(humanoid, acceleration_fraction=3.0, velocity_fraction=1.0)
    events = _run_reach(humanoid, tabletop, reckless)
    assert events[Rule.ACCELERATION_LIMIT.name] > 0


@pytest.mark.slow
def test_the_seed_task_moves_without_a_kernel_intervention(humanoid, tabletop):
    """The seed task: no intervention on any arm, waist or head joint, none for position or
    speed anywhere. A finger squeezing the object may still meet its effort limit (the grip
    closes past contact, a grasp matter) and a finger only: motion timing leaves nothing else."""
    kinematics = Kinematics(build_model(humanoid), humanoid)
    with LockstepRuntime(humanoid, tabletop, SafetyConfig(), seed=5) as runtime:
        runtime.set_mannequin_pose(*MANNEQUIN_AWAY)
        runner = SkillRunner(runtime, kinematics)
        snapshot = snapshot_from_world_model(runner.world, tabletop.name)
        plan = get_orchestrator().orchestrate(OrchestrationRequest(task_description=SEED_TASK, world=snapshot))
        outcome = run_plan(plan, runner, None)
        assert outcome.success
        fingers = {*humanoid.group_indices("hand_left").tolist(), *humanoid.group_indices("hand_right").tolist()}
        for event in runner.events:
            rule = Rule(event.rule)
            assert rule in (Rule.EFFORT_LIMIT, Rule.ACCELERATION_LIMIT), f"{rule.name} at {event.t:.3f} s"
            assert event.joint in fingers, f"{rule.name} on {humanoid.joint_names[event.joint]} at {event.t:.3f} s"
