"""Trajectory segments, lock-step and deterministic: the kernel interpolates what the executive
streams, checks every segment whole, and its watchdog counts only once the trajectory has run
out. A starved executive (no control tick for 80 ms mid-motion) costs nothing; one starved past
its lookahead is held, braked and stopped, and the stop says why."""

import numpy as np
import pytest

from dynamical.robot.demo_motion import demo_targets
from dynamical.safety.rules import Rule, SafetyMode
from dynamical.safety.trajectory import check_segment, sample_segment
from dynamical.skills.executor import LOOKAHEAD_S, Executor, SkillStep
from tests.safety.driver_checks import assert_within_limits, rules

WATCHDOG = {Rule.WATCHDOG_HOLD, Rule.WATCHDOG_DECELERATE, Rule.WATCHDOG_PROTECTIVE_STOP}


def test_hermite_sampling_reproduces_a_cubic_and_its_velocity():
    times = np.array([0.0, 0.03, 0.05, 0.11])
    poly = np.array([0.2, -1.0, 4.0, -7.0])  # q(t) = 0.2 - t + 4 t^2 - 7 t^3, per joint scaled below

    def q(t):
        return np.polyval(poly[::-1], t) * np.array([1.0, -2.0])

    def dq(t):
        return np.polyval(np.polyder(poly[::-1]), t) * np.array([1.0, -2.0])

    qs, dqs = np.array([q(t) for t in times]), np.array([dq(t) for t in times])
    out_q, out_dq = np.empty(2), np.empty(2)
    for t in np.linspace(0.0, 0.11, 37):
        assert sample_segment(times, qs, dqs, t, out_q, out_dq)
        np.testing.assert_allclose(out_q, q(t), atol=1e-12)
        np.testing.assert_allclose(out_dq, dq(t), atol=1e-9)
    assert sample_segment(times, qs, dqs, -1.0, out_q, out_dq)  # before it starts: the first sample
    np.testing.assert_array_equal(out_q, qs[0])
    assert not sample_segment(times, qs, dqs, 0.1101, out_q, out_dq)  # run out: the watchdog's turn


def test_a_segment_is_checked_whole():
    times, rows = np.array([0.0, 0.1]), np.zeros((2, 3))
    assert check_segment(times, rows, rows)[0] == 0
    bad = rows.copy()
    bad[1, 2] = np.nan
    assert check_segment(times, bad, rows)[:2] == (1, 2)
    assert check_segment(np.array([0.0, 0.0]), rows, rows)[:2] == (2, 1)


def _stream(runtime, humanoid, t, offsets):
    """A segment of the demo motion from t: positions and velocities at t + offsets."""
    times = t + offsets
    q = np.array([demo_targets(humanoid, tk) for tk in times])
    dq = np.gradient(q, times, axis=0)
    runtime.link.send_trajectory(times, q, dq)


@pytest.fixture
def offsets():
    return np.arange(11) * 0.02  # 200 ms ahead, as the executor streams


def test_malformed_segments_are_refused_with_an_event_and_the_one_followed_stays(runtime, humanoid, offsets):
    runtime.run(0.2, lambda t, link: _stream(runtime, humanoid, t, offsets))
    runtime.link.events()
    n = humanoid.n_joints
    t = runtime.clock.now() + runtime.clock.period
    good = np.tile(demo_targets(humanoid, t), (3, 1))
    cases = {
        Rule.NON_FINITE: (np.array([t, t + 0.05, t + 0.1]), np.where(np.eye(3, n, 4) > 0, np.inf, good)),
        Rule.BAD_TIMESTAMP: (np.array([t, t + 0.1, t + 0.05]), good),  # out of order
        Rule.STALE_COMMAND: (np.array([t - 0.3, t - 0.2, t - 0.1]), good),  # all in the past
    }
    for rule, (times, q) in cases.items():
        runtime.link.send_trajectory(times, q, np.zeros_like(q))
        runtime.run(0.002)
        assert rule in rules(runtime.link.events()), rule
    # Reaching past the configured limit (1 s) is refused too: no runaway promise of motion.
    far = np.array([t, t + 0.5, t + 1.5])
    runtime.link.send_trajectory(far, good, np.zeros_like(good))
    runtime.run(0.002)
    assert Rule.BAD_TIMESTAMP in rules(runtime.link.events())
    # Still following the last good segment meanwhile: no hold yet, and none of it reached the driver.
    assert runtime.outputs[-1].mode == SafetyMode.RUNNING
    assert_within_limits(humanoid, runtime.received)


def test_a_starved_executive_costs_nothing_while_its_segment_lasts(runtime, humanoid, offsets):
    runtime.run(0.5, lambda t, link: _stream(runtime, humanoid, t, offsets))
    runtime.link.events()
    t_stall = runtime.clock.now()
    runtime.run(0.08)  # no control tick for 80 ms, mid-motion
    events = runtime.link.events()
    assert not set(rules(events)) & WATCHDOG
    # The robot kept to the plan meanwhile: the kernel's last command is the plan 80 ms on.
    np.testing.assert_allclose(runtime.outputs[-1].command.q, demo_targets(humanoid, t_stall + 0.08), atol=2e-3)
    assert 0.2 - 0.08 - 0.006 < runtime.outputs[-1].lookahead < 0.2 - 0.08  # the last segment came <= 5 ms before
    runtime.run(0.3, lambda t, link: _stream(runtime, humanoid, t, offsets))
    assert not set(rules(runtime.link.events())) & WATCHDOG


def test_single_targets_without_lookahead_are_not_spared_the_same_stall(runtime, humanoid):
    """What the segments buy: the same 80 ms gap in single targets makes the watchdog hold."""
    runtime.run(0.5, lambda t, link: link.send(demo_targets(humanoid, t)))
    runtime.link.events()
    runtime.run(0.08)
    assert Rule.WATCHDOG_HOLD in rules(runtime.link.events())


def test_a_stall_past_the_lookahead_holds_then_stops_and_the_stop_names_its_cause(runtime, humanoid, offsets):
    runtime.run(0.5, lambda t, link: _stream(runtime, humanoid, t, offsets))
    runtime.link.events()
    end = runtime.channels.trajectory.latest().end
    runtime.run(0.6)
    events = [e for e in runtime.link.events() if e.rule in WATCHDOG]
    assert [Rule(e.rule) for e in events] == [
        Rule.WATCHDOG_HOLD,
        Rule.WATCHDOG_DECELERATE,
        Rule.WATCHDOG_PROTECTIVE_STOP,
    ]
    # Counted from where the trajectory ran out (the last segment's end), not from the last message.
    assert events[0].t == pytest.approx(end + 0.013, abs=1.5e-3)
    stop = events[-1]
    status = runtime.link.status()
    assert status.mode == SafetyMode.PROTECTIVE_STOP
    cause = (Rule(status.stop_rule), status.stop_t, status.stop_tick)
    assert cause == (Rule.WATCHDOG_PROTECTIVE_STOP, stop.t, stop.tick)
    assert status.lookahead_s < -0.3  # how long ago it ran out
    # A reset (the robot is still by now) clears the stop and its cause.
    runtime.run(1.0)
    runtime.link.reset()
    still = np.tile(runtime.link.state().q, (len(offsets), 1))
    runtime.run(0.05, lambda t, link: link.send_trajectory(t + offsets, still, np.zeros_like(still)))
    status = runtime.link.status()
    assert (status.mode, Rule(status.stop_rule)) == (SafetyMode.RUNNING, Rule.NONE)


def test_the_executor_streams_its_plan_ahead(runtime, humanoid):
    executor = Executor(runtime.link, humanoid, runtime.control_period)
    start = humanoid.home.copy()
    goal = start.copy()
    goal[humanoid.joint_names.index("r_elbow")] += 0.5

    class Path:
        @staticmethod
        def target(t):
            s = min(max(t, 0.0), 1.0)
            return start + (goal - start) * s * s * (3.0 - 2.0 * s)

    path = Path()

    class Move:
        name, groups = "move", ("arm_right",)

        def start(self, context):
            self.t0 = context.t_start

        def step(self, t, state):
            return SkillStep(q=path.target(t - self.t0), done=t - self.t0 > 1.2)

        def preview(self, t):
            return path.target(t - self.t0)

    move = Move()
    executor.run(move, timeout_s=3.0)
    runtime.run(0.3, executor.controller)
    segment = runtime.channels.trajectory.latest()
    assert LOOKAHEAD_S <= segment.end - segment.times[0] < LOOKAHEAD_S + executor.sample_period
    for tk, qk in zip(segment.times, segment.q, strict=True):
        np.testing.assert_allclose(qk, path.target(tk - move.t0), atol=1e-12)
    # Starved for 80 ms mid-motion: no watchdog event, and the arm went on along the path.
    runtime.link.events()
    runtime.run(0.08)
    runtime.run(0.1, executor.controller)
    assert not set(rules(runtime.link.events())) & WATCHDOG
    # Starved for 0.4 s, as a loaded 2-core machine starved the executive (a 200 ms lookahead and
    # the watchdog's 100 ms after it stopped the robot): still nothing, still along the path.
    t_stall = runtime.clock.now()
    runtime.run(0.4)
    assert not set(rules(runtime.link.events())) & WATCHDOG
    np.testing.assert_allclose(runtime.outputs[-1].command.q, path.target(t_stall + 0.4 - move.t0), atol=2e-3)
    runtime.run(1.2, executor.controller)
    assert executor.history[-1].status == "succeeded"
    assert not set(rules(runtime.link.events())) & WATCHDOG
