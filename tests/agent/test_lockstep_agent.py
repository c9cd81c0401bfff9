"""The lock-step robot agent: plans run in the caller's thread while a background thread steps
the robot at a multiple of real time; e-stop, reset, state and events."""

import threading
import time

import numpy as np
import pytest

from dynamical.agent.robot_agent import AgentBusyError, LockstepRobotAgent, RealtimeRobotAgent, make_robot_agent
from dynamical.safety.config import SafetyConfig
from tests.agent.test_plan_runner import _plan, _step


@pytest.fixture
def agent(humanoid, tabletop):
    robot = LockstepRobotAgent("thor_test", humanoid, tabletop, seed=5, speed=4.0)
    robot.start()
    yield robot
    robot.stop()


def test_state_reports_joints_safety_and_objects(agent, humanoid):
    time.sleep(0.2)
    state = agent.state()
    assert state.robot_id == "thor_test" and state.joint_names == list(humanoid.joint_names)
    assert len(state.q) == humanoid.n_joints and state.safety is not None and state.safety.mode == "RUNNING"
    assert {o.name for o in state.objects} >= {"red_cube", "green_cube", "blue_cube", "red_cup"}
    assert state.timing == {}  # lock-step tiers have no wall-clock timing to report
    assert agent.world_snapshot().object("red_cube") is not None


@pytest.mark.slow
def test_a_plan_runs_and_an_estop_mid_motion_stops_it(agent):
    outcome = agent.execute(_plan(_step("s1", "wave", {}, [])))
    assert outcome.success, outcome.failure
    results = {}
    runner = threading.Thread(target=lambda: results.update(out=agent.execute(_plan(_step("s1", "wave", {}, [])))))
    runner.start()
    time.sleep(0.8)
    with pytest.raises(AgentBusyError):
        agent.execute(_plan(_step("s1", "go_home", {}, [])))
    agent.estop(1)
    runner.join(timeout=60)
    assert not results["out"].success
    time.sleep(0.3)
    state = agent.state()
    assert state.safety.mode == "ESTOP" and state.safety.estop_category == 1
    assert max(abs(v) for v in state.dq) < 0.05  # stopped
    assert any(e.rule == "ESTOP" for e in agent.drain_events())
    agent.reset()
    time.sleep(0.3)
    assert agent.state().safety.mode == "RUNNING"


def test_realtime_mode_gives_the_two_process_agent_and_refuses_what_it_cannot_do(humanoid, tabletop):
    agent = make_robot_agent("x", humanoid, tabletop, mode="realtime")  # built, not started
    assert isinstance(agent, RealtimeRobotAgent) and not agent.process.alive
    with pytest.raises(ValueError, match="real time"):
        make_robot_agent("x", humanoid, tabletop, mode="realtime", speed=4.0)
    with pytest.raises(ValueError, match="unknown agent mode"):
        make_robot_agent("x", humanoid, tabletop, mode="warp")  # type: ignore[arg-type]


def test_zones_from_the_server_reach_the_kernel_within_100_ms(agent):
    """At real-time pace: set_zones at wall time w0; the kernel's ZONES_CHANGED event (simulated
    time, paced to the wall clock) must come within 0.1 s, and the configured floor stays."""
    from dynamical.safety.config import BoxZone

    agent.speed = 1.0
    time.sleep(0.1)
    agent.drain_events()
    t0 = agent.state().t
    agent.set_zones([BoxZone(kind="box", name="bin", center=(0.6, 0.4, 0.9), half_size=(0.05, 0.05, 0.05))])
    deadline = time.monotonic() + 2.0
    changed = []
    while not changed and time.monotonic() < deadline:
        changed = [e for e in agent.drain_events() if e.rule == "ZONES_CHANGED"]
        time.sleep(0.005)
    assert changed, "the kernel never took the zones"
    assert changed[0].t - t0 <= 0.1
    # The event's value is the number of zones in force: the configured floor and the new one.
    assert changed[0].value == len(SafetyConfig().zones) + 1


def test_reset_world_lays_out_a_new_world_from_the_seed(agent):
    time.sleep(0.5)
    state = agent.state()
    before = {o.name: o.pos for o in state.objects}
    old_runtime = agent.runtime
    agent.reset_world(6)
    time.sleep(0.1)
    after_state = agent.state()
    after = {o.name: o.pos for o in after_state.objects}
    assert after["red_cube"] != before["red_cube"]
    assert after_state.safety.mode == "RUNNING"
    assert agent.runtime is not old_runtime  # a fresh simulation and kernel
    again = LockstepRobotAgent("other", agent.description, agent.world_spec, seed=6)
    try:
        assert {o.name: o.pos for o in again.state().objects}["red_cube"] == pytest.approx(after["red_cube"], abs=1e-3)
    finally:
        again.stop()
    with pytest.raises(ValueError, match="seed"):
        agent.reset_world(-1)


def test_the_state_is_measured_from_the_start_and_right_after_a_world_reset(humanoid, tabletop):
    """Before: the first state of a new simulation (at start, after ``reset_world``) was NaN until
    the stepping thread's first tick, and the server refused the link's state message."""
    robot = LockstepRobotAgent("thor_nan", humanoid, tabletop, seed=2, speed=4.0)
    robot.start()
    try:
        assert np.isfinite(robot.state().q).all()
        with robot._lock:  # the stepping thread is held: only reset_world's own tick measures
            robot.reset_world(7)
            assert np.isfinite(robot.state().q).all()
    finally:
        robot.stop()
