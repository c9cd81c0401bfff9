"""A step's planning stops when the robot is told to stop, and an unreachable target costs a few
iterations per seed, not the whole budget.

Before: a cancel (or the server's timeout, or an e-stop) that came while a step was planned was
seen only once the planning ended, and planning a grasp whose first candidates were out of reach
ran 21 seeds × 300 IK iterations per candidate: four minutes on a loaded machine, with the robot
busy all along. The race is made deterministic: the cancel is sent from inside the first IK solve.
"""

import numpy as np
import pytest

from dynamical.agent.lockstep_agent import LockstepRobotAgent
from dynamical.robot.kinematics import STALL_ITERATIONS, IKInterruptedError, Kinematics, Pose
from dynamical.robot.scene import build_model
from tests.agent.test_realtime_agent import _plan


@pytest.fixture(scope="module")
def kinematics(humanoid):
    return Kinematics(build_model(humanoid), humanoid)


def _far_target(kinematics, humanoid) -> Pose:
    """Two metres in front of the left hand: no arm reaches it."""
    pose = kinematics.site_pose(humanoid.home, "l_grasp")
    return Pose(pos=pose.pos + np.array([2.0, 0.0, 0.0]), rot=pose.rot)


def test_a_descent_toward_a_target_out_of_reach_stops_once_it_stalls(kinematics, humanoid):
    result = kinematics.solve(humanoid.home, {"l_grasp": _far_target(kinematics, humanoid)}, ["arm_left"], restarts=0)
    assert not result.converged
    assert result.iterations < 300  # the budget
    assert result.iterations <= 3 * STALL_ITERATIONS, result.iterations
    assert result.position_error["l_grasp"] > 1.0  # it says how far short it is


def test_a_reachable_target_still_converges(kinematics, humanoid):
    pose = kinematics.site_pose(humanoid.home, "l_grasp")
    target = Pose(pos=pose.pos + np.array([0.05, 0.05, 0.05]), rot=pose.rot)
    result = kinematics.solve(humanoid.home, {"l_grasp": target}, ["arm_left"])
    assert result.converged, result
    assert np.linalg.norm(kinematics.site_pose(result.q, "l_grasp").pos - target.pos) < 1e-3


def test_the_interrupt_stops_a_solve_with_its_reason(kinematics, humanoid):
    asked = []

    def interrupt():
        asked.append(1)
        return "the plan was cancelled" if len(asked) > 3 else None

    kinematics.interrupt = interrupt
    try:
        with pytest.raises(IKInterruptedError, match="the plan was cancelled"):
            kinematics.solve(humanoid.home, {"l_grasp": _far_target(kinematics, humanoid)}, ["arm_left"])
    finally:
        kinematics.interrupt = None
    assert len(asked) == 4  # asked at every iteration, stopped at the first yes


@pytest.fixture
def agent(humanoid, tabletop):
    robot = LockstepRobotAgent("thor_test", humanoid, tabletop, seed=5, speed=4.0)
    robot.start()
    yield robot
    robot.stop()


def test_a_cancel_during_planning_ends_the_step_at_the_next_ik_iteration(agent, monkeypatch):
    kinematics = agent.runner.kinematics
    solve = kinematics.solve
    calls = []

    def solve_then_cancel(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            agent.cancel()  # as the link does when the server's timeout cancels the plan
        return solve(*args, **kwargs)

    monkeypatch.setattr(kinematics, "solve", solve_then_cancel)
    outcome = agent.execute(_plan("reach", {"target": "red_cube", "side": "left"}))
    assert not outcome.success
    (step,) = outcome.steps
    assert step.failure == "cancelled while the step was planned", step
    assert len(calls) == 1  # no IK after the cancel
    assert not agent.state().busy
    monkeypatch.setattr(kinematics, "solve", solve)
    # The next plan is not cancelled by the last one's cancel.
    again = agent.execute(_plan("reach", {"target": "red_cube", "side": "left"}))
    assert again.success, again.failure


def test_an_estop_during_planning_latches_at_once_and_the_step_says_it_was_the_estop(agent, monkeypatch):
    """The e-stop reaches the kernel while the step's planning holds the agent's lock (before, it
    queued behind the planning), and the step's failure names the e-stop, as a safety cause."""
    kinematics = agent.runner.kinematics
    solve = kinematics.solve
    requested: list[int] = []

    def solve_then_estop(*args, **kwargs):
        if not requested:
            agent.estop(1)
            # still inside the planning, the agent's lock held: the kernel's request word is set
            requested.append(agent.runtime.channels.status.pending_estop()[1])
        return solve(*args, **kwargs)

    monkeypatch.setattr(kinematics, "solve", solve_then_estop)
    outcome = agent.execute(_plan("reach", {"target": "red_cube", "side": "left"}))
    (step,) = outcome.steps
    assert requested == [1]
    assert not step.success
    assert step.failure == "stopped by an emergency stop (category 1) while the step was planned", step
    assert step.cause == "safety"
    monkeypatch.setattr(kinematics, "solve", solve)
    agent.reset()
