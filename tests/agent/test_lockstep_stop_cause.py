"""The lock-step robot names the cause of a stop as the two-process one does: an executive that
stops streaming (its control ticks skipped, deterministically, for 0.6 s of simulated time) is
stopped by the watchdog; the state says which rule, when and what the executive was doing; the
next plan is refused with that cause; one reset with ``posture`` brings the arms home."""

import time

import numpy as np
import pytest

from dynamical.agent.robot_agent import LockstepRobotAgent
from tests.agent.test_realtime_agent import _plan


@pytest.fixture
def agent(humanoid, tabletop):
    robot = LockstepRobotAgent("thor_009", humanoid, tabletop, seed=2, speed=4.0)
    robot.start()
    yield robot
    robot.stop()


def _skip_control_for(agent: LockstepRobotAgent, seconds: float) -> None:
    """No control tick for ``seconds`` of simulated time (the stepping thread goes on)."""
    runner = agent.runner
    runner.control_tick = lambda t: None  # the instance attribute shadows the method meanwhile
    try:
        agent._wait_sim(seconds)
    finally:
        del runner.control_tick


def test_a_watchdog_stop_names_its_cause_refuses_plans_and_one_reset_recovers(agent, humanoid):
    outcome = agent.execute(_plan("wave", {}))
    assert outcome.success, outcome.failure
    assert agent.state().safety.stop_cause is None

    _skip_control_for(agent, 0.6)
    safety = agent.state().safety
    assert safety.mode == "PROTECTIVE_STOP"
    cause = safety.stop_cause
    assert cause.rule == "WATCHDOG_PROTECTIVE_STOP"
    assert cause.activity == "holding after wave succeeded"
    stop = next(e for e in agent.drain_events() if e.rule == "WATCHDOG_PROTECTIVE_STOP")
    assert (cause.t, cause.tick) == (stop.t, stop.tick)

    refused = agent.execute(_plan("wave", {}))
    assert not refused.success
    assert refused.steps[0].cause == "safety"
    assert "WATCHDOG_PROTECTIVE_STOP at t=" in refused.steps[0].failure
    assert "while holding after wave succeeded" in refused.steps[0].failure

    started = time.monotonic()
    agent.reset(posture=True)
    state = agent.state()
    assert state.safety.mode == "RUNNING" and state.safety.stop_cause is None
    np.testing.assert_allclose(state.q, humanoid.home, atol=0.05)
    assert time.monotonic() - started < 30
    assert agent.execute(_plan("wave", {})).success
